#include "kernels/cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

namespace radixrt::kernels {
namespace {

isa detect() {
    if (const char* forced = std::getenv("RADIXRT_ISA")) {
        if (std::string(forced) == "scalar") {
            return isa::scalar;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return isa::avx2;
    }
#endif
    return isa::scalar;
}

std::atomic<isa>& current() {
    static std::atomic<isa> value{detect()};
    return value;
}

} // namespace

isa active_isa() {
    return current().load(std::memory_order_relaxed);
}

void set_isa(isa i) {
    // Never select a level the CPU lacks.
    if (i == isa::avx2 && detect() != isa::avx2) {
        return;
    }
    current().store(i, std::memory_order_relaxed);
}

std::string_view isa_name(isa i) {
    return i == isa::avx2 ? "avx2+fma+f16c" : "scalar";
}

} // namespace radixrt::kernels
