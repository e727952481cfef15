/// The naive, obviously-correct twins of the fast kernels.
///
/// Each fast kernel in SAEKernels has a twin here written as the textbook loop, with
/// no blocking, packing, SIMD or threads. The parity tests compare fast against twin,
/// and twin against Double-precision math; `sae-bench` times both.
package enum Reference {}
