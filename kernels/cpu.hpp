#pragma once
#include <string_view>

namespace radixrt::kernels {

/// Instruction-set level the optimised kernels run with, chosen once at run
/// time from CPUID: the best the CPU has, or a lower one forced with
/// RADIXRT_ISA=scalar|avx2|avx512.
enum class isa { scalar, avx2, avx512 };

isa active_isa();
std::string_view isa_name(isa i);
/// Whether this CPU can run the level.
bool isa_supported(isa i);
/// Overrides the choice (tests compare every level against the reference);
/// a level the CPU lacks is ignored.
void set_isa(isa i);

} // namespace radixrt::kernels
