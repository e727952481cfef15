import Foundation

/// The Adam optimizer step (PyTorch's `torch.optim.Adam`, no weight decay, no AMSGrad)
/// fused over flat buffers, and the decoder unit-norm constraint that SAE training wraps
/// around it: project the decoder gradient, step, renormalise the decoder rows.
///
/// Every function is elementwise or works on whole rows, threads take contiguous ranges,
/// and each element or row is computed by the same code whatever the split (vector tails
/// are zero-padded), so results are bitwise identical for any thread count. There are
/// no cross-thread reductions.
public enum Adam {
    /// One Adam step at step number `t >= 1` (1 on the first call), for `i` in `0..<count`:
    ///
    ///     m[i] = beta1 * m[i] + (1 - beta1) * g[i]
    ///     v[i] = beta2 * v[i] + (1 - beta2) * g[i]^2
    ///     p[i] -= (lr / (1 - beta1^t)) * m[i] / (sqrt(v[i]) / sqrt(1 - beta2^t) + eps)
    ///
    /// which is `p -= lr * mhat / (sqrt(vhat) + eps)` with `mhat = m / (1 - beta1^t)`,
    /// `vhat = v / (1 - beta2^t)`: `eps` is added after the bias correction and outside the
    /// square root, exactly as PyTorch's single-tensor Adam orders it (`denom =
    /// exp_avg_sq.sqrt() / bias_correction2_sqrt + eps`, `param.addcdiv_(exp_avg, denom,
    /// value=-lr / bias_correction1)`). The bias corrections are computed in Double.
    ///
    /// The hyper-parameters are Doubles, as PyTorch's Python floats are: `beta1`, `beta2`,
    /// `1 - beta1`, `1 - beta2` and `eps` are each rounded to Float once (so `1 - 0.999` is
    /// `Float(0.001)`, not `1 - Float(0.999)`), and `lr / (1 - beta1^t)`, `sqrt(1 - beta2^t)`
    /// are formed in Double and rounded once.
    ///
    /// `parameters`, `gradients`, `firstMoment` (`m`), `secondMoment` (`v`): flat buffers of
    /// `count` Floats; the moments start at zero before step 1.
    public static func step(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        count: Int, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, step t: Int, threads: Int = Parallel.defaultThreads
    ) {
        precondition(count >= 0, "Adam.step: negative count \(count)")
        precondition(t >= 1, "Adam.step: step must be >= 1, got \(t)")
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                     "Adam.step: betas must be in [0, 1), got \(beta1), \(beta2)")
        precondition(threads >= 1, "Adam.step: threads must be >= 1, got \(threads)")
        let c = StepConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: t)
        let parts = SIMDMath.parts(work: count, threads: threads)
        Parallel.forRanges(count, threads: parts, granule: 64) { r in
            stepRange(p + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count, c)
        }
    }

    /// Removes from each gradient row its component along the matching weight row, so a
    /// step keeps unit-norm rows on the sphere to first order: for each row `r` of the
    /// `[rows, d]` row-major `weights` (`w`) and `gradients` (`g`),
    /// `g[r] -= (g[r] . w[r]) / (w[r] . w[r]) * w[r]`; rows with `w[r] . w[r] == 0` are left
    /// unchanged. Dot products: Float, 32 partial sums in a fixed order per row.
    public static func projectGradientOrthogonal(
        _ weights: UnsafePointer<Float>, _ gradients: UnsafeMutablePointer<Float>,
        rows: Int, d: Int, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "Adam.projectGradientOrthogonal: negative shape \(rows)x\(d)")
        precondition(threads >= 1, "Adam.projectGradientOrthogonal: threads must be >= 1, got \(threads)")
        let parts = SIMDMath.parts(work: rows * d, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range { projectRow(weights + r * d, gradients + r * d, d) }
        }
    }

    /// Rescales each row of the `[rows, d]` row-major `weights` to unit L2 norm:
    /// `w[r] /= ||w[r]||_2`; zero rows stay zero. The squared norm is a Float sum over 32
    /// partial sums in a fixed order per row; each element is divided (one rounding).
    public static func normalizeRows(
        _ weights: UnsafeMutablePointer<Float>, rows: Int, d: Int, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "Adam.normalizeRows: negative shape \(rows)x\(d)")
        precondition(threads >= 1, "Adam.normalizeRows: threads must be >= 1, got \(threads)")
        let parts = SIMDMath.parts(work: rows * d, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range { normalizeRow(weights + r * d, d) }
        }
    }

    /// The decoder's whole update in one pass over its rows: for each row, exactly
    /// `projectGradientOrthogonal`, then `step`, then `normalizeRows` (the same bits as the
    /// three calls), with the row's weights, gradient and moments read from memory once.
    /// `gradients` is left projected, as after `projectGradientOrthogonal`.
    public static func unitNormRowsStep(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        rows: Int, d: Int, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, step t: Int, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "Adam.unitNormRowsStep: negative shape \(rows)x\(d)")
        precondition(t >= 1, "Adam.unitNormRowsStep: step must be >= 1, got \(t)")
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                     "Adam.unitNormRowsStep: betas must be in [0, 1), got \(beta1), \(beta2)")
        precondition(threads >= 1, "Adam.unitNormRowsStep: threads must be >= 1, got \(threads)")
        let c = StepConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: t)
        Parallel.forRanges(rows, threads: SIMDMath.parts(work: rows * d, threads: threads)) { range in
            for r in range {
                let o = r * d
                projectRow(w + o, g + o, d)
                stepRange(w + o, g + o, m + o, v + o, d, c)
                normalizeRow(w + o, d)
            }
        }
    }

    /// The constants of one step (`step`'s hyper-parameters, rounded as it rounds them), for
    /// updating a tensor a row at a time (`stepRow`, `unitNormRowStep`) where its gradient is
    /// produced.
    public struct Step: Sendable {
        let constants: StepConstants

        public init(learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, step t: Int) {
            precondition(t >= 1, "Adam.Step: step must be >= 1, got \(t)")
            precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                         "Adam.Step: betas must be in [0, 1), got \(beta1), \(beta2)")
            constants = StepConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: t)
        }
    }

    /// `step` on `count` values (one row): the same bits as `step` gives them.
    public static func stepRow(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, count: Int, _ s: Step
    ) {
        stepRange(p, g, m, v, count, s.constants)
    }

    /// `unitNormRowsStep` on one row of `d` values: projects `gradients` (left projected),
    /// steps, renormalises `parameters`; the same bits as `unitNormRowsStep` gives the row.
    public static func unitNormRowStep(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, d: Int, _ s: Step
    ) {
        projectRow(w, g, d)
        stepRange(w, g, m, v, d, s.constants)
        normalizeRow(w, d)
    }

    /// `g -= (g . w) / (w . w) * w` (unchanged when `w . w == 0`).
    @inline(__always)
    static func projectRow(_ w: UnsafePointer<Float>, _ gr: UnsafeMutablePointer<Float>, _ d: Int) {
        let (gw, ww) = dots(gr, w, d)
        guard ww > 0 else { return }
        let coefficient = SIMD8<Float>(repeating: -(gw / ww))
        var j = 0
        while j + 8 <= d {
            SIMDMath.store(SIMDMath.load(gr + j).addingProduct(coefficient, SIMDMath.load(w + j)), gr + j)
            j += 8
        }
        if j < d {
            let n = d - j
            let out = SIMDMath.loadPartial(gr + j, n).addingProduct(coefficient, SIMDMath.loadPartial(w + j, n))
            SIMDMath.storePartial(out, gr + j, n)
        }
    }

    /// `w /= ||w||_2` (zero rows stay zero).
    @inline(__always)
    static func normalizeRow(_ w: UnsafeMutablePointer<Float>, _ d: Int) {
        let ww = dots(UnsafePointer(w), UnsafePointer(w), d).ww
        guard ww > 0 else { return }
        let norm = SIMD8<Float>(repeating: ww.squareRoot())
        var j = 0
        while j + 8 <= d {
            SIMDMath.store(SIMDMath.load(w + j) / norm, w + j)
            j += 8
        }
        if j < d { SIMDMath.storePartial(SIMDMath.loadPartial(w + j, d - j) / norm, w + j, d - j) }
    }

    // MARK: - Implementation

    struct StepConstants: Sendable {
        var beta1: SIMD8<Float>, oneMinusBeta1: SIMD8<Float>
        var beta2: SIMD8<Float>, oneMinusBeta2: SIMD8<Float>
        /// `-lr / (1 - beta1^t)`.
        var minusStepSize: SIMD8<Float>
        /// `sqrt(1 - beta2^t)`.
        var biasCorrection2Sqrt: SIMD8<Float>
        var epsilon: SIMD8<Float>

        init(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, step t: Int) {
            let bc1 = 1 - Foundation.pow(beta1, Double(t))
            let bc2 = 1 - Foundation.pow(beta2, Double(t))
            self.beta1 = SIMD8(repeating: Float(beta1))
            oneMinusBeta1 = SIMD8(repeating: Float(1 - beta1))
            self.beta2 = SIMD8(repeating: Float(beta2))
            oneMinusBeta2 = SIMD8(repeating: Float(1 - beta2))
            minusStepSize = SIMD8(repeating: Float(-learningRate / bc1))
            biasCorrection2Sqrt = SIMD8(repeating: Float(bc2.squareRoot()))
            self.epsilon = SIMD8(repeating: Float(epsilon))
        }
    }

    @inline(__always)
    static func stepVector(
        _ p: SIMD8<Float>, _ g: SIMD8<Float>, _ m: SIMD8<Float>, _ v: SIMD8<Float>, _ c: StepConstants
    ) -> (p: SIMD8<Float>, m: SIMD8<Float>, v: SIMD8<Float>) {
        let m1 = (c.oneMinusBeta1 * g).addingProduct(c.beta1, m)
        let v1 = ((c.oneMinusBeta2 * g) * g).addingProduct(c.beta2, v)
        let denominator = v1.squareRoot() / c.biasCorrection2Sqrt + c.epsilon
        return (p.addingProduct(c.minusStepSize, m1 / denominator), m1, v1)
    }

    @inline(__always)
    static func stepRange(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
        _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ count: Int, _ c: StepConstants
    ) {
        var i = 0
        while i + 8 <= count {
            let out = stepVector(SIMDMath.load(p + i), SIMDMath.load(g + i), SIMDMath.load(m + i),
                                 SIMDMath.load(v + i), c)
            SIMDMath.store(out.p, p + i); SIMDMath.store(out.m, m + i); SIMDMath.store(out.v, v + i)
            i += 8
        }
        if i < count {
            let n = count - i
            let out = stepVector(SIMDMath.loadPartial(p + i, n), SIMDMath.loadPartial(g + i, n),
                                 SIMDMath.loadPartial(m + i, n), SIMDMath.loadPartial(v + i, n), c)
            SIMDMath.storePartial(out.p, p + i, n)
            SIMDMath.storePartial(out.m, m + i, n)
            SIMDMath.storePartial(out.v, v + i, n)
        }
    }

    /// `(a . b, b . b)` over `d` Floats: 32 partial sums (four eight-wide accumulators
    /// each), combined in a fixed order.
    @inline(__always)
    static func dots(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> (ab: Float, ww: Float) {
        var ab0 = SIMD8<Float>(), ab1 = SIMD8<Float>(), ab2 = SIMD8<Float>(), ab3 = SIMD8<Float>()
        var bb0 = SIMD8<Float>(), bb1 = SIMD8<Float>(), bb2 = SIMD8<Float>(), bb3 = SIMD8<Float>()
        var j = 0
        while j + 32 <= d {
            let a0 = SIMDMath.load(a + j), a1 = SIMDMath.load(a + j + 8)
            let a2 = SIMDMath.load(a + j + 16), a3 = SIMDMath.load(a + j + 24)
            let b0 = SIMDMath.load(b + j), b1 = SIMDMath.load(b + j + 8)
            let b2 = SIMDMath.load(b + j + 16), b3 = SIMDMath.load(b + j + 24)
            ab0.addProduct(a0, b0); ab1.addProduct(a1, b1); ab2.addProduct(a2, b2); ab3.addProduct(a3, b3)
            bb0.addProduct(b0, b0); bb1.addProduct(b1, b1); bb2.addProduct(b2, b2); bb3.addProduct(b3, b3)
            j += 32
        }
        while j + 8 <= d {
            let a0 = SIMDMath.load(a + j), b0 = SIMDMath.load(b + j)
            ab0.addProduct(a0, b0); bb0.addProduct(b0, b0)
            j += 8
        }
        if j < d {
            let a0 = SIMDMath.loadPartial(a + j, d - j), b0 = SIMDMath.loadPartial(b + j, d - j)
            ab1.addProduct(a0, b0); bb1.addProduct(b0, b0)
        }
        return (SIMDMath.horizontalSum((ab0 + ab1) + (ab2 + ab3)), SIMDMath.horizontalSum((bb0 + bb1) + (bb2 + bb3)))
    }
}
