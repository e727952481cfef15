// Unaligned sixteen-lane loads and stores for the AVX-512 kernels of this module.
//
// The one exception to "one set of SIMD load/store helpers" (SAEKernels/SIMDLoadStore.swift):
// this module is compiled with Skylake-AVX512 flags and SAEKernels with AVX2 flags. A helper
// from SAEKernels would not be inlined here (this module cannot import SAEKernels, which
// depends on it), and a helper defined here must be compiled with these flags to emit zmm
// moves, so the sixteen-lane set lives in this module, used by every kernel in it.

/// Sixteen Floats at `p`.
@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// Sixteen Floats at `p`.
@inline(__always)
func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// Writes the sixteen lanes of `v` at `p`.
@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}
