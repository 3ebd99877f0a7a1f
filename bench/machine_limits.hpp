#pragma once
// The limits a kernel is judged against, measured on this machine in the
// same run: DRAM read bandwidth and FMA peak, both with every thread TBB uses.

namespace radixrt::bench {

/// Bytes per second streamed by a plain AVX2 read loop over 512 MiB.
double read_bandwidth();
/// int8 multiply-adds per second of independent AVX2 maddubs + madd chains
/// (the integer dot step of the quantized matmuls).
double int8_peak();
/// F32 FLOP per second of independent AVX2 FMA chains (2 FLOP per lane).
double fma_peak();
/// The same with AVX-512 FMAs (0 when the CPU has none): shows whether
/// 512-bit vectors would raise the compute ceiling on this machine.
double fma_peak_avx512();

} // namespace radixrt::bench
