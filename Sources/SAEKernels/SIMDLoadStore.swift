/// Unaligned SIMD loads and stores: the one set every kernel of SAEKernels uses
/// (`SIMDMath.load(p)`, `SIMDMath.store(v, p)`; no alignment is assumed anywhere).
///
/// Each is `@inline(__always)` and lives in this module, so it is inlined into the kernels
/// and compiled with SAEKernels' AVX2/FMA flags (one `vmovups` each). They are `package`:
/// a helper used from another module would be compiled with that module's flags, so no
/// other module should call them in a hot loop.
///
/// The one other set is `_SAEKernelsAVX512/AVX512LoadStore.swift` (sixteen lanes): that
/// module is compiled with Skylake-AVX512 flags, and a helper defined here (AVX2 flags)
/// would not be inlined into it, so it keeps its own copy.
extension SIMDMath {
    /// Eight Floats at `p`.
    @inline(__always)
    package static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Eight Floats at `p`.
    @inline(__always)
    package static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Writes the eight lanes of `v` at `p`.
    @inline(__always)
    package static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Four Doubles at `p`.
    @inline(__always)
    package static func load(_ p: UnsafeMutablePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }

    /// Writes the four lanes of `v` at `p`.
    @inline(__always)
    package static func store(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Double>.self)
    }

    /// The first `count` (<= 8) elements at `p`, other lanes set to `fill`.
    @inline(__always)
    package static func loadPartial(_ p: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> SIMD8<Float> {
        assert(count >= 0 && count <= 8)
        var v = SIMD8<Float>(repeating: fill)
        for k in 0..<count { v[k] = p[k] }
        return v
    }

    /// The first `count` (<= 8) elements at `p`, other lanes set to `fill`.
    @inline(__always)
    package static func loadPartial(_ p: UnsafeMutablePointer<Float>, _ count: Int, fill: Float = 0) -> SIMD8<Float> {
        loadPartial(UnsafePointer(p), count, fill: fill)
    }

    /// Stores the first `count` (<= 8) lanes of `v` at `p`.
    @inline(__always)
    package static func storePartial(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        assert(count >= 0 && count <= 8)
        for k in 0..<count { p[k] = v[k] }
    }
}
