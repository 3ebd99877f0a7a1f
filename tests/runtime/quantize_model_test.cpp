#include "runtime/quantize_model.hpp"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

namespace rk = radixrt::kernels;
namespace rr = radixrt::runtime;

namespace {

const std::string models = std::string(RADIXRT_TESTDATA_DIR) + "/models/";

const rr::gguf_file& source() {
    static const auto f = rr::gguf_file::open(models + "small-f16.gguf");
    return f;
}

std::vector<float> to_f32(const rr::gguf_tensor& t) {
    const auto type = rr::to_dtype(t.ggml_type);
    const std::size_t cols = t.dims[0], rows = t.elements() / cols;
    std::vector<float> out(rows * cols);
    for (std::size_t r = 0; r < rows; ++r) {
        rk::dequantize_row(*type, static_cast<const char*>(t.data) + r * rk::row_bytes(*type, cols),
                           cols, out.data() + r * cols);
    }
    return out;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    }
    return std::sqrt(s / double(a.size()));
}

// Our quantization of small-f16 next to llama.cpp's file of the same recipe.
void compare_with_llama_cpp(const char* recipe, const char* llama_file, bool bytes_equal) {
    rr::quant_recipe r;
    ASSERT_TRUE(rr::parse_recipe(recipe, r));
    const auto ours = rr::gguf_file::from_bytes(rr::quantize_model(source(), r).bytes());
    const auto theirs = rr::gguf_file::open(models + llama_file);
    ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
    int checked = 0;
    for (const auto& t : theirs.tensors()) {
        const auto* o = ours.tensor(t.name);
        ASSERT_NE(o, nullptr) << t.name;
        // llama.cpp's choice of type, tensor by tensor
        EXPECT_EQ(o->ggml_type, t.ggml_type) << recipe << " " << t.name;
        EXPECT_EQ(o->dims, t.dims) << t.name;
        if (o->ggml_type != t.ggml_type || t.dims.size() != 2) {
            continue;
        }
        const auto type = *rr::to_dtype(t.ggml_type);
        if (bytes_equal && (type == rk::dtype::q8_0 || type == rk::dtype::q4_0)) {
            ASSERT_EQ(o->bytes, t.bytes);
            EXPECT_EQ(std::memcmp(o->data, t.data, t.bytes), 0) << recipe << " " << t.name;
        }
        const auto original = to_f32(*source().tensor(t.name));
        const double mine = rmse(to_f32(*o), original), llama = rmse(to_f32(t), original);
        // Reading llama.cpp's blocks right: its own error is small...
        double scale = 0;
        for (float v : original) {
            scale += double(v) * v;
        }
        scale = std::sqrt(scale / double(original.size()));
        EXPECT_LT(llama, 0.1 * scale) << llama_file << " " << t.name;
        // ...and ours is no worse than 1.05x it.
        EXPECT_LE(mine, 1.05 * llama)
            << recipe << " " << t.name << " (" << rk::dtype_name(type) << ")";
        ++checked;
    }
    EXPECT_GE(checked, 16);
}

} // namespace

TEST(quantize_model, q8_0_is_byte_identical_to_llama_cpp) {
    compare_with_llama_cpp("q8_0", "small-q8_0.gguf", true);
}

TEST(quantize_model, q4_0_is_byte_identical_to_llama_cpp) {
    compare_with_llama_cpp("q4_0", "small-q4_0.gguf", true); // output.weight: Q6_K, as llama.cpp
}

TEST(quantize_model, k_quants_match_llama_cpp_types_and_error) {
    compare_with_llama_cpp("q4_k_m", "small-q4_k_m.gguf", false);
    compare_with_llama_cpp("q5_k_m", "small-q5_k_m.gguf", false);
    compare_with_llama_cpp("q6_k", "small-q6_k.gguf", false);
}

TEST(quantize_model, metadata_keeps_its_types_for_llama_cpp) {
    const auto out =
        rr::gguf_file::from_bytes(rr::quantize_model(source(), rr::quant_recipe::q4_k_m).bytes());
    for (const auto& [key, value] : source().metadata()) {
        if (key == "general.file_type" || key == "general.alignment") {
            continue;
        }
        ASSERT_NE(out.find(key), nullptr) << key;
        EXPECT_EQ(out.type_of(key), source().type_of(key)) << key;
    }
    EXPECT_EQ(out.type_of("general.file_type"), rr::gguf_type::u32);
    EXPECT_EQ(out.get_uint("general.file_type"), 15u); // LLAMA_FTYPE_MOSTLY_Q4_K_M
}

TEST(quantize_model, rows_that_are_not_whole_blocks_fall_back_as_llama_cpp) {
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q4_k_m, "blk.0.ffn_up.weight", 0, 8, 96, true),
              rk::dtype::q5_0);
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q5_k_m, "blk.0.ffn_up.weight", 0, 8, 96, true),
              rk::dtype::q5_1);
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q6_k, "blk.0.ffn_up.weight", 0, 8, 96, true),
              rk::dtype::q8_0);
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q4_0, "blk.0.ffn_up.weight", 0, 8, 100, true),
              rk::dtype::f16);
    // tied embeddings: the token embedding is the output matrix
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q4_k_m, "token_embd.weight", 0, 8, 256, false),
              rk::dtype::q6_k);
    EXPECT_EQ(rr::recipe_type(rr::quant_recipe::q4_k_m, "token_embd.weight", 0, 8, 256, true),
              rk::dtype::q4_k);
}
