#pragma once
#include <string_view>

namespace radixrt::kernels {

/// Instruction-set level the optimised kernels run with, chosen once at run
/// time from CPUID (and RADIXRT_ISA=scalar|avx2 to force one, for tests).
enum class isa { scalar, avx2 };

isa active_isa();
std::string_view isa_name(isa i);
/// Overrides the choice (tests compare every level against the reference).
void set_isa(isa i);

} // namespace radixrt::kernels
