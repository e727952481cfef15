import _SAEKernelsAVX512

/// The GELU activation of GPT-2 style MLPs, forward and backward, over flat buffers.
///
/// - `.exact`: `gelu(x) = 0.5 x (1 + erf(x / sqrt(2)))` (PyTorch `gelu`, TransformerLens
///   `gelu`), computed as written with `SIMDMath.erf`: for very negative `x` the
///   `1 + erf` cancels as in PyTorch's float kernel (absolute error about `|x| * 1e-7`).
/// - `.tanh`: `gelu_new(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (GPT-2,
///   TransformerLens `gelu_new`), computed through the identity
///   `0.5 (1 + tanh(u)) = 1 / (1 + e^(-2u))`, which has no cancellation.
///
/// Every element goes through the same vector code (the tail is zero-padded), and threads
/// take contiguous ranges, so results are bitwise identical for any thread count.
public enum GELU {
    /// Which GELU.
    public enum Variant: Sendable {
        /// `0.5 x (1 + erf(x / sqrt(2)))`.
        case exact
        /// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (`gelu_new`).
        case tanh
    }

    /// Forward: `y[i] = gelu(x[i])` for `i` in `0..<count` (flat buffers; `y` may equal `x`).
    /// Splits into up to `threads` ranges once `count` is large (32k elements per thread).
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        variant: Variant = .exact, threads: Int = Parallel.defaultThreads
    ) {
        precondition(count >= 0, "GELU.forward: negative count \(count)")
        precondition(threads >= 1, "GELU.forward: threads must be >= 1, got \(threads)")
        let parts = SIMDMath.parts(work: count, threads: threads)
        Parallel.forRanges(count, threads: parts, granule: 64) { r in
            switch variant {
            case .exact: exactForwardRange(x + r.lowerBound, y + r.lowerBound, r.count)
            case .tanh: tanhForwardRange(x + r.lowerBound, y + r.lowerBound, r.count)
            }
        }
    }

    /// Backward: `dx[i] = dy[i] * gelu'(x[i])` for `i` in `0..<count`, where `x` is the
    /// forward input (flat buffers; `dx` may equal `dy` or `x`).
    ///
    /// - `.exact`: `gelu'(x) = Phi(x) + x phi(x)`, `Phi(x) = 0.5 (1 + erf(x / sqrt(2)))`,
    ///   `phi(x) = e^(-x^2/2) / sqrt(2 pi)`.
    /// - `.tanh`: with `s = 1 / (1 + e^(-2u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`:
    ///   `gelu'(x) = s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)`, which equals
    ///   `0.5 (1 + t) + 0.5 x (1 - t^2) u'` with `t = tanh(u)`.
    public static func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        count: Int, variant: Variant = .exact, threads: Int = Parallel.defaultThreads
    ) {
        precondition(count >= 0, "GELU.backward: negative count \(count)")
        precondition(threads >= 1, "GELU.backward: threads must be >= 1, got \(threads)")
        let parts = SIMDMath.parts(work: count, threads: threads)
        Parallel.forRanges(count, threads: parts, granule: 64) { r in
            let lo = r.lowerBound
            switch variant {
            case .exact: exactBackwardRange(x + lo, dy + lo, dx + lo, r.count)
            case .tanh: tanhBackwardRange(x + lo, dy + lo, dx + lo, r.count)
            }
        }
    }

    // MARK: - Implementation
    // One out-of-line loop per variant and direction, calling its per-vector function
    // directly (no closure), the tail as one more zero-padded vector. The per-vector
    // functions are `@_transparent` (mandatory inlining); see `SIMDMath` for why.

    @inline(never)
    static func exactForwardRange(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        guard CPUFeatures.hasAVX512F else { return exactForwardRange8(x, y, count) }
        // Sixteen lanes wide where the CPU has AVX-512 (the same bits), in place on y.
        if UnsafePointer(y) != x { y.update(from: x, count: count) }
        let done = avx512GELUExactRows(y, ld: count, rows: 1, cols: count)
        if done < count { exactForwardRange8(y + done, y + done, count - done) }
    }

    /// `exactForwardRange` eight lanes at a time.
    static func exactForwardRange8(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? SIMDMath.load(x + i) : SIMDMath.loadPartial(x + i, n)
            let r = exactForward(v)
            if n == 8 { SIMDMath.store(r, y + i) } else { SIMDMath.storePartial(r, y + i, n) }
            i += 8
        }
    }

    /// In place on a `rows x cols` block with leading dimension `ld` (a GEMM output tile,
    /// `GEMMEpilogue.gelu`): the same vector code per element as `forward`, so the same bits.
    @inline(never)
    static func forwardTile(_ c: UnsafeMutablePointer<Float>, ld: Int, rows: Int, cols: Int, variant: Variant) {
        // The exact variant sixteen lanes wide where the CPU has AVX-512 (the same bits).
        let done = variant == .exact && CPUFeatures.hasAVX512F ? avx512GELUExactRows(c, ld: ld, rows: rows, cols: cols) : 0
        if done == cols { return }
        for i in 0..<rows {
            let p = c + i * ld + done
            if variant == .exact { exactForwardRange8(p, p, cols - done) } else { tanhForwardRange(p, p, cols - done) }
        }
    }

    @inline(never)
    static func tanhForwardRange(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? SIMDMath.load(x + i) : SIMDMath.loadPartial(x + i, n)
            let r = tanhForward(v)
            if n == 8 { SIMDMath.store(r, y + i) } else { SIMDMath.storePartial(r, y + i, n) }
            i += 8
        }
    }

    @inline(never)
    static func exactBackwardRange(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ count: Int
    ) {
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? SIMDMath.load(x + i) : SIMDMath.loadPartial(x + i, n)
            let g = n == 8 ? SIMDMath.load(dy + i) : SIMDMath.loadPartial(dy + i, n)
            let r = g * exactDerivative(v)
            if n == 8 { SIMDMath.store(r, dx + i) } else { SIMDMath.storePartial(r, dx + i, n) }
            i += 8
        }
    }

    @inline(never)
    static func tanhBackwardRange(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ count: Int
    ) {
        var i = 0
        while i < count {
            let n = min(8, count - i)
            let v = n == 8 ? SIMDMath.load(x + i) : SIMDMath.loadPartial(x + i, n)
            let g = n == 8 ? SIMDMath.load(dy + i) : SIMDMath.loadPartial(dy + i, n)
            let r = g * tanhDerivative(v)
            if n == 8 { SIMDMath.store(r, dx + i) } else { SIMDMath.storePartial(r, dx + i, n) }
            i += 8
        }
    }

    private static let sqrtHalf: Float = 0.707_106_781_186_547_524
    private static let invSqrt2Pi: Float = 0.398_942_280_401_432_678
    /// `-2 sqrt(2/pi)`.
    private static let minusTwoK: Float = -1.595_769_121_605_730_711
    private static let cubic: Float = 0.044715

    @_transparent
    static func exactForward(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let h = x * 0.5
        return h.addingProduct(h, SIMDMath.erfKernel(x * sqrtHalf))
    }

    @_transparent
    static func tanhForward(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // -2u = (-2k x) (1 + 0.044715 x^2); e^(-2u) = inf gives x / inf = -0 (gelu -> 0).
        let inner = SIMD8<Float>(repeating: 1).addingProduct(x * x, SIMD8(repeating: cubic))
        let e = SIMDMath.expKernel((x * minusTwoK) * inner)
        return x / (e + 1)
    }

    @_transparent
    static func exactDerivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let half = SIMD8<Float>(repeating: 0.5)
        let cdf = half.addingProduct(half, SIMDMath.erfKernel(x * sqrtHalf))
        let pdf = SIMDMath.expKernel((x * x) * -0.5) * invSqrt2Pi
        return cdf.addingProduct(x, pdf)
    }

    @_transparent
    static func tanhDerivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // From |x| = 100 on, e^(-|2u|) = 0 and gelu' is exactly 1 or 0; clamping keeps x^2
        // and 2u' finite (no inf * 0).
        var xc = x.replacing(with: 100, where: x .> 100)
        xc.replace(with: -100, where: xc .< -100)
        let x2 = xc * xc
        let inner = SIMD8<Float>(repeating: 1).addingProduct(x2, SIMD8(repeating: cubic))
        let z = (xc * minusTwoK) * inner  // -2u
        // With e = e^(-|z|) <= 1 and r = 1 / (1 + e): s (1 - s) = e r^2 on both sides, and
        // s = r for z <= 0, e r for z > 0. Nothing overflows.
        let e = SIMDMath.expKernel(-SIMDMath.abs(z))
        let r = 1 / (e + 1)
        let er = e * r
        let s = r.replacing(with: er, where: z .> 0)
        // 2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
        let twoDu = SIMD8<Float>(repeating: -minusTwoK)
            .addingProduct(x2, SIMD8(repeating: -minusTwoK * 3 * cubic))
        return s.addingProduct(xc * (er * r), twoDu)
    }
}
