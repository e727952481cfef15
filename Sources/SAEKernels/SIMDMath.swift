/// Vectorised transcendental functions on `SIMD8<Float>` (one AVX2 register), and the
/// small reduce helpers the elementwise kernels share (the loads and stores are in
/// SIMDLoadStore.swift).
///
/// Accuracy against Double-precision math, measured by `SIMDMathTests` over dense sweeps
/// (about 1M points each): see the doc comment of each function. Every lane is computed with the same
/// instruction sequence, so a value never depends on its position in a buffer.
package enum SIMDMath {

    // MARK: - Public API (out of line, compiled with the module's AVX2/FMA flags)

    /// `e^x` lane-wise. Cephes `expf` scheme: `n = round(x / ln 2)`, `r = x - n ln 2`
    /// (ln 2 in two parts), `e^r` by a degree-6 polynomial, then the result is scaled by
    /// `2^n` through the exponent bits (in two halves, so overflow gives `+inf` and
    /// results down to the subnormal range underflow gradually to `0`).
    /// `exp(+inf) = +inf`, `exp(-inf) = 0`, `exp(NaN) = NaN`. Measured max error 0.98 ulp
    /// for normal results (tests allow 1.5), at most one subnormal spacing below them.
    package static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { expKernel(x) }

    /// `erf(x)` lane-wise, in the two-range scheme of Arm's optimized-routines `erff`:
    /// for `|x| < 0.921875`, `x + x P(x^2)` (degree 6 in `x^2`); above it,
    /// `sign(x) (1 - e^Q(|x| - 0.921875))` with `Q` a degree-8 fit of `log(erfc)` and `|x|`
    /// clamped to 3.92 (where `erf` has rounded to `±1`). Coefficients are our own
    /// minimax-style fits. Measured max error 1.02 ulp, 6.1e-8 absolute (tests allow 2 ulp
    /// and 1e-7). `erf(NaN) = NaN`.
    /// (XLA/Eigen's clamped rational `x P(x^2) / Q(x^2)` is cheaper but measured 5.5 ulp,
    /// 3.3e-7 absolute, near `|x| = 3.9`.)
    package static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> { erfKernel(x) }

    /// `tanh(x)` lane-wise. Cephes `tanhf` scheme: for `|x| < 0.625` the odd polynomial
    /// `x + x^3 P(x^2)`; otherwise `sign(x) * (1 - 2 / (e^(2|x|) + 1))` with `exp` above.
    /// Measured max error 1.28 ulp (tests allow 2). `tanh(±inf) = ±1`, `tanh(NaN) = NaN`.
    package static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { tanhKernel(x) }

    /// `y[i] = e^(x[i])` for `i` in `0..<count` (flat buffers; `y` may equal `x`).
    package static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0, "SIMDMath.exp: negative count \(count)")
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? load(x + i) : loadPartial(x + i, n)
            let r = expKernel(v)
            if n == 8 { store(r, y + i) } else { storePartial(r, y + i, n) }
            i += 8
        }
    }

    /// `y[i] = erf(x[i])` for `i` in `0..<count` (flat buffers; `y` may equal `x`).
    package static func erf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0, "SIMDMath.erf: negative count \(count)")
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? load(x + i) : loadPartial(x + i, n)
            let r = erfKernel(v)
            if n == 8 { store(r, y + i) } else { storePartial(r, y + i, n) }
            i += 8
        }
    }

    /// `y[i] = tanh(x[i])` for `i` in `0..<count` (flat buffers; `y` may equal `x`).
    package static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0, "SIMDMath.tanh: negative count \(count)")
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? load(x + i) : loadPartial(x + i, n)
            let r = tanhKernel(v)
            if n == 8 { store(r, y + i) } else { storePartial(r, y + i, n) }
            i += 8
        }
    }

    // MARK: - Implementation (inlined into the kernels of this module)
    // `@_transparent` (mandatory inlining), not `@inline(__always)`: the generic SIMD
    // operations count as many SIL blocks, and past its block budget the SIL inliner
    // leaves `@inline(__always)` callees as calls (measured: 48 calls to `expKernel` in
    // Softmax). The stdlib marks its own SIMD operators `@_transparent` for the same reason.
    // For the same reason the loops below call the kernels directly, never through a
    // closure: a closure around an inlined kernel is too big for the inliner and costs a
    // call (and a reload of every constant) per vector.
    // Loops handle the tail as one more zero-padded vector, so every element goes through
    // the same instructions and the kernel is instantiated once per loop.

    @_transparent
    static func expKernel(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamp: e^89 overflows (ln FLT_MAX = 88.72); e^-104 is below half the smallest
        // subnormal (2^-150). NaN fails both comparisons and flows through.
        var xc = x.replacing(with: 89, where: x .> 89)
        xc.replace(with: -104, where: xc .< -104)
        // n = round(x * log2(e)) by the 1.5 * 2^23 trick: the FMA result's low mantissa
        // bits hold n (round to nearest even), subtracting the magic gives it as a Float.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = magic.addingProduct(xc, SIMD8(repeating: 1.442_695_040_888_963_4))
        let n = t - magic
        // r = x - n * ln2, ln2 = C1 + C2 with C1 exact in 9 bits (n * C1 exact).
        var r = xc.addingProduct(n, SIMD8(repeating: -0.693_359_375))
        r.addProduct(n, SIMD8(repeating: 2.121_944_4e-4))
        // e^r = 1 + r + r^2 * P(r) on |r| <= ln2 / 2 (Cephes expf coefficients).
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = SIMD8(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
        p = SIMD8(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
        p = SIMD8(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
        p = SIMD8(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
        p = SIMD8(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
        var y = r.addingProduct(p, r * r) + 1
        // Scale by 2^n = 2^n1 * 2^n2 with n1 = n >> 1: n in [-150, 128] keeps both
        // factors normal, so the only rounding is the final product's.
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let n1 = ni &>> 1
        let n2 = ni &- n1
        let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD8<Float>.self)
        let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD8<Float>.self)
        y = (y * s1) * s2
        y.replace(with: x, where: x .!= x)  // NaN in, NaN out
        return y
    }

    @_transparent
    static func erfKernel(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let signBits = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        let ax = abs(x)
        // |x| < 0.921875: erf(x) = x + x * P(x^2), P(0) = 2/sqrt(pi) - 1 (relative fit,
        // coefficients rounded to Float one at a time and the rest refitted).
        let t = x * x
        var p = SIMD8<Float>(repeating: 7.962679229e-05)
        p = SIMD8(repeating: -8.042697445e-04).addingProduct(p, t)
        p = SIMD8(repeating: 5.191889126e-03).addingProduct(p, t)
        p = SIMD8(repeating: -2.685557865e-02).addingProduct(p, t)
        p = SIMD8(repeating: 1.128362417e-01).addingProduct(p, t)
        p = SIMD8(repeating: -3.761262894e-01).addingProduct(p, t)
        p = SIMD8(repeating: 1.283791661e-01).addingProduct(p, t)
        let small = x.addingProduct(x, p)
        // 0.921875 <= |x|: erf(|x|) = 1 - e^Q(u), Q(u) ~ log(erfc(|x|)), u = |x| - 0.921875,
        // |x| clamped to 3.92 (erf rounds to 1 in Float from 3.8325 on).
        let u = ax.replacing(with: 3.92, where: ax .> 3.92) - 0.921875
        var q = SIMD8<Float>(repeating: 1.346007480e-06)
        q = SIMD8(repeating: -3.046868733e-05).addingProduct(q, u)
        q = SIMD8(repeating: 3.212649317e-04).addingProduct(q, u)
        q = SIMD8(repeating: -2.164305653e-03).addingProduct(q, u)
        q = SIMD8(repeating: 1.084666234e-02).addingProduct(q, u)
        q = SIMD8(repeating: -4.480373859e-02).addingProduct(q, u)
        q = SIMD8(repeating: -8.330009580e-01).addingProduct(q, u)
        q = SIMD8(repeating: -2.508010387e+00).addingProduct(q, u)
        q = SIMD8(repeating: -1.648561954e+00).addingProduct(q, u)
        let large = 1 - expKernel(q)
        let largeSigned = unsafeBitCast(
            unsafeBitCast(large, to: SIMD8<UInt32>.self) | signBits, to: SIMD8<Float>.self)
        var y = largeSigned.replacing(with: small, where: ax .< 0.921875)
        y.replace(with: x, where: x .!= x)  // NaN in, NaN out
        return y
    }

    @_transparent
    static func tanhKernel(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let signMask = SIMD8<UInt32>(repeating: 0x8000_0000)
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let ax = unsafeBitCast(bits & ~signMask, to: SIMD8<Float>.self)
        // |x| >= 0.625: 1 - 2 / (e^(2|x|) + 1), e^(2|x|) = inf gives exactly 1.
        let e = expKernel(ax + ax)
        let large = 1 - 2 / (e + 1)
        let largeSigned = unsafeBitCast(
            unsafeBitCast(large, to: SIMD8<UInt32>.self) | (bits & signMask), to: SIMD8<Float>.self)
        // |x| < 0.625: x + x * z * P(z), z = x^2 (Cephes tanhf coefficients).
        let z = x * x
        var p = SIMD8<Float>(repeating: -5.704_988_727_45e-3)
        p = SIMD8(repeating: 2.063_908_879_54e-2).addingProduct(p, z)
        p = SIMD8(repeating: -5.373_971_555_31e-2).addingProduct(p, z)
        p = SIMD8(repeating: 1.333_144_220_36e-1).addingProduct(p, z)
        p = SIMD8(repeating: -3.333_328_194_22e-1).addingProduct(p, z)
        let small = x.addingProduct(x, p * z)
        return largeSigned.replacing(with: small, where: ax .< 0.625)
    }

    // MARK: - Horizontal reductions, work split (module-internal helpers; loads and stores: SIMDLoadStore.swift)

    /// The thread count for a pass over `work` elements: at most `threads`, and no part
    /// smaller than `minimumPerPart` elements (below that, Dispatch costs more than it saves).
    @inline(__always)
    static func parts(work: Int, threads: Int, minimumPerPart: Int = 1 << 15) -> Int {
        max(1, min(threads, work / minimumPerPart))
    }

    /// Sum of the lanes in a fixed order: halves, then quarters, then the last pair.
    @inline(__always)
    static func horizontalSum(_ v: SIMD8<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return b[0] + b[1]
    }

    /// Maximum of the lanes (NaN lanes ignored unless all are NaN).
    @inline(__always)
    static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
        return b[1] > b[0] ? b[1] : b[0]
    }

    /// `|v|` lane-wise (clears the sign bit).
    @inline(__always)
    static func abs(_ v: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }
}
