#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "apps/args.hpp"
#include "apps/commands.hpp"
#include "runtime/quantize_model.hpp"
#include "runtime/synthetic.hpp"
#include "runtime/tokenizer.hpp"

namespace radixrt::apps {
namespace {

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

std::string type_names() {
    std::string out;
    for (auto t : kernels::all_dtypes) {
        out += std::string(out.empty() ? "" : ", ") + std::string(kernels::dtype_name(t));
    }
    return out + ", q4_k_m, q5_k_m";
}

// A plain element type, or (for the types `model quantize` makes) a recipe.
struct synth_type {
    kernels::dtype type = kernels::dtype::f16;
    std::optional<runtime::quant_recipe> recipe;
};

synth_type parse_type(const std::string& s) {
    synth_type out;
    runtime::quant_recipe r;
    if (runtime::parse_recipe(s, r)) {
        out.type = kernels::dtype::f32;
        out.recipe = r;
        return out;
    }
    for (auto t : kernels::all_dtypes) {
        if (kernels::dtype_name(t) == s) {
            out.type = t;
            return out;
        }
    }
    throw usage_error("--type must be one of " + type_names() + "; got '" + s + "'");
}

// "[#####     ]  45% 120.0 MiB / 268.0 MiB" on one line, redrawn.
void progress_bar(std::ostream& err, std::uint64_t done, std::uint64_t total) {
    const int width = 30;
    const int filled = total ? int(double(done) / double(total) * width) : width;
    err << "\r[" << std::string(std::size_t(filled), '#')
        << std::string(std::size_t(width - filled), ' ') << "] " << std::setw(3)
        << (total ? done * 100 / total : 100) << "% " << human_bytes(double(done)) << " / "
        << human_bytes(double(total)) << std::flush;
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    f.close();
    if (!f) {
        throw std::runtime_error("cannot write '" + path + "'");
    }
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
    const auto type = parse_type(a.str("type", "f16"));
    spec.type = type.type;
    spec.seed = a.uint("seed", spec.seed);
    spec.vocab_from = a.str("vocab-from", "");
    a.finish();
    if (!path) {
        throw usage_error("model synth needs --out FILE.gguf");
    }
    err << "synthesising " << spec.n_layers << " layers x dim " << spec.dim << " ("
        << a.str("type", "f16") << ") ..." << std::flush;
    auto bytes = runtime::synth_gguf(spec).bytes();
    if (type.recipe) { // quantized the way `model quantize` would
        const auto f32 = runtime::gguf_file::from_bytes(std::move(bytes));
        bytes = runtime::quantize_model(f32, *type.recipe).bytes();
    }
    err << " writing " << human_bytes(double(bytes.size())) << " ..." << std::flush;
    write_file(*path, bytes);
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

int quantize(args& a, std::ostream& out, std::ostream& err) {
    const auto files = a.positional();
    a.finish();
    if (files.size() != 3) {
        throw usage_error("model quantize takes IN.gguf OUT.gguf TYPE (" + runtime::recipe_names() +
                          ")");
    }
    runtime::quant_recipe r;
    if (!runtime::parse_recipe(files[2], r)) {
        throw usage_error("quantization type must be one of " + runtime::recipe_names() +
                          "; got '" + files[2] + "'");
    }
    const auto in = runtime::gguf_file::open(files[0]);
    err << "quantizing " << files[0] << " to " << files[2] << "\n";
    const auto w = runtime::quantize_model(
        in, r, [&err](std::uint64_t done, std::uint64_t total) { progress_bar(err, done, total); });
    const auto bytes = w.bytes();
    err << "\nwriting " << human_bytes(double(bytes.size())) << " ..." << std::flush;
    write_file(files[1], bytes);
    err << " done\n";
    out << files[1] << "\n";
    return 0;
}

} // namespace

int run_model(std::vector<std::string> argv, std::ostream& out, std::ostream& err) {
    if (argv.empty()) {
        throw usage_error("model needs a subcommand: synth, info or quantize");
    }
    const std::string sub = argv[0];
    args a(std::vector<std::string>(argv.begin() + 1, argv.end()));
    if (sub == "synth") {
        return synth(a, out, err);
    }
    if (sub == "info") {
        return info(a, out);
    }
    if (sub == "quantize") {
        return quantize(a, out, err);
    }
    throw usage_error("unknown model subcommand '" + sub + "' (synth, info, quantize)");
}

} // namespace radixrt::apps
