#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "runtime/synthetic.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::apps {
namespace {

kernels::dtype parse_type(const std::string& s) {
    for (auto t :
         {kernels::dtype::f32, kernels::dtype::f16, kernels::dtype::bf16, kernels::dtype::q8_0}) {
        if (kernels::dtype_name(t) == s) {
            return t;
        }
    }
    throw usage_error("--type must be one of f32, f16, bf16, q8_0; got '" + s + "'");
}

std::string human_bytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (b >= 1024 && u < 3) {
        b /= 1024;
        ++u;
    }
    std::ostringstream s;
    s << std::fixed << std::setprecision(u == 0 ? 0 : 1) << b << " " << units[u];
    return s.str();
}

int synth(args& a, std::ostream& out, std::ostream& err) {
    const auto path = a.value("out");
    auto spec = runtime::synth_preset(a.str("preset", "small"));
    spec.dim = a.uint("dim", spec.dim, 1u << 16);
    spec.n_layers = a.uint("layers", spec.n_layers, 1024);
    spec.n_heads = a.uint("heads", spec.n_heads, 1024);
    spec.n_kv_heads = a.uint("kv-heads", std::min(spec.n_kv_heads, spec.n_heads), 1024);
    spec.ffn_dim = a.uint("ffn", spec.ffn_dim, 1u << 18);
    spec.vocab_size = a.uint("vocab", spec.vocab_size, 1u << 20);
    spec.context_length = a.uint("context", spec.context_length, 1u << 20);
    spec.type = parse_type(a.str("type", "f16"));
    spec.seed = a.uint("seed", spec.seed);
    spec.vocab_from = a.str("vocab-from", "");
    a.finish();
    if (!path) {
        throw usage_error("model synth needs --out FILE.gguf");
    }
    err << "synthesising " << spec.n_layers << " layers x dim " << spec.dim << " ("
        << kernels::dtype_name(spec.type) << ") ..." << std::flush;
    const auto bytes = runtime::synth_gguf(spec).bytes();
    err << " writing " << human_bytes(double(bytes.size())) << " ..." << std::flush;
    std::ofstream f(*path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    f.close();
    if (!f) {
        throw std::runtime_error("cannot write '" + *path + "'");
    }
    err << " done\n";
    out << *path << "\n";
    return 0;
}

int info(args& a, std::ostream& out) {
    const auto files = a.positional();
    a.finish();
    if (files.size() != 1) {
        throw usage_error("model info takes one FILE.gguf");
    }
    const auto m = runtime::model::load(files[0]);
    const auto& c = m->config();
    const auto& f = m->file();
    out << "file:          " << files[0] << " (GGUF v" << f.version() << ", "
        << human_bytes(double(f.file_size())) << ", " << f.metadata().size() << " metadata keys, "
        << f.tensors().size() << " tensors)\n";
    out << "name:          " << f.get_string("general.name").value_or("-") << "\n";
    out << "architecture:  llama, " << c.n_layers << " layers, dim " << c.dim << ", ffn "
        << c.ffn_dim << "\n";
    out << "attention:     " << c.n_heads << " heads, " << c.n_kv_heads << " kv heads, head dim "
        << c.head_dim << ", rope dim " << c.rope_dim << ", rope base " << c.rope_base << "\n";
    out << "context:       " << c.context_length << " tokens, rms eps " << c.rms_eps << "\n";
    out << "vocabulary:    " << c.vocab_size << " tokens, output "
        << (f.tensor("output.weight") ? "untied" : "tied to token_embd") << "\n";
    std::map<std::string, std::pair<int, std::uint64_t>> types;
    for (const auto& t : f.tensors()) {
        auto& e = types[runtime::find_ggml_type(t.ggml_type)->name];
        ++e.first;
        e.second += t.bytes;
    }
    out << "tensor types: ";
    for (const auto& [name, e] : types) {
        out << " " << name << " x" << e.first << " (" << human_bytes(double(e.second)) << ")";
    }
    out << "\nweights:       " << human_bytes(double(m->weight_bytes())) << "\n";
    try {
        const auto tok = runtime::tokenizer::from_gguf(f);
        out << "tokenizer:     " << f.get_string("tokenizer.ggml.model").value_or("?")
            << " (SentencePiece), " << tok.vocab_size() << " tokens, bos " << tok.bos() << ", eos "
            << tok.eos() << "\n";
    } catch (const runtime::gguf_error& e) {
        out << "tokenizer:     unusable: " << e.what() << "\n";
    }
    return 0;
}

} // namespace

int run_model(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    if (argv.empty()) {
        throw usage_error("model needs a subcommand: synth or info");
    }
    const std::string sub = argv[0];
    args a(std::vector<std::string>(argv.begin() + 1, argv.end()));
    if (sub == "synth") {
        return synth(a, out, err);
    }
    if (sub == "info") {
        return info(a, out);
    }
    throw usage_error("unknown model subcommand '" + sub + "' (synth, info)");
}

} // namespace radixrt::apps
