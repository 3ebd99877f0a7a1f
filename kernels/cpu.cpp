#include "kernels/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace radixrt::kernels {
namespace {

#if defined(__x86_64__)
// CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports has no "f16c").
bool has_f16c() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & (1u << 29)) != 0;
}
#endif

isa best_supported() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        return isa::avx512;
    }
    if (avx2) {
        return isa::avx2;
    }
#endif
    return isa::scalar;
}

isa detect() {
    const isa best = best_supported();
    if (const char* forced = std::getenv("RADIXRT_ISA")) {
        const std::string f(forced);
        const isa want = f == "scalar" ? isa::scalar : f == "avx2" ? isa::avx2 : isa::avx512;
        return int(want) < int(best) ? want : best;
    }
    return best;
}

std::atomic<isa>& current() {
    static std::atomic<isa> value{detect()};
    return value;
}

} // namespace

isa active_isa() {
    return current().load(std::memory_order_relaxed);
}

bool isa_supported(isa i) {
    static const isa best = best_supported(); // CPUID is slow in a VM: once
    return int(i) <= int(best);
}

void set_isa(isa i) {
    if (isa_supported(i)) {
        current().store(i, std::memory_order_relaxed);
    }
}

std::string_view isa_name(isa i) {
    switch (i) {
    case isa::avx512:
        return "avx512";
    case isa::avx2:
        return "avx2+fma+f16c";
    case isa::scalar:
        return "scalar";
    }
    return "?";
}

} // namespace radixrt::kernels
