#pragma once
// Every instruction-set level this CPU supports, and a guard that restores
// the active level, so each test covers every kernel body that can run here.
#include <vector>

#include "kernels/cpu.hpp"

namespace radixrt::kernels::test {

inline std::vector<isa> supported_levels() {
    std::vector<isa> out;
    for (isa i : {isa::scalar, isa::avx2, isa::avx512}) {
        if (isa_supported(i)) {
            out.push_back(i);
        }
    }
    return out;
}

class isa_guard {
  public:
    isa_guard() : saved_(active_isa()) {}
    ~isa_guard() { set_isa(saved_); }
    isa_guard(const isa_guard&) = delete;
    isa_guard& operator=(const isa_guard&) = delete;

  private:
    isa saved_;
};

} // namespace radixrt::kernels::test
