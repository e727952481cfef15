import SAEKernels

/// The L1 penalty of the standard SAE weighted by the decoder-row norms (SAELens v6,
/// `TrainingConfig.DecoderNorm.l1Weighted`), for one batch, with its gradient shares.
///
/// With codes `f` (`B` rows), decoder rows `W_dec[j]` and `n_j = ||W_dec[j]||`:
///
///     P          = l1 (1/B) sum_r sum_j f_rj n_j
///     dP/dpre_rj = l1 n_j / B                       where f_rj > 0 (the ReLU), else 0
///     dP/dW_dec[j] = (l1 / B) (sum_r f_rj) W_dec[j] / n_j  (0 for a zero row)
///
/// The norms are taken before the step's update, so the fused path (Adam on each row as its
/// gradient is formed) and the unfused one read the same values.
struct DecoderNormPenalty {
    /// `(1/B) sum_r sum_j f_rj n_j` in Double (times `l1` is the loss term).
    var weightedL1: Double
    /// Per latent: `l1 n_j / B`, added to `dL/dpre` of its active entries.
    var codeGradient: [Float]
    /// Per latent: `l1 (sum_r f_rj) / (B n_j)` (0 when the latent did not fire or its row is
    /// zero); `dP/dW_dec[j] = rowCoefficient[j] * W_dec[j]`.
    var rowCoefficient: [Float]

    init(codes: SparseCodes, wDec: [Float], dIn: Int, l1: Float, threads: Int) {
        let dSae = codes.width, rows = codes.rows
        var norms = [Float](repeating: 0, count: dSae)
        wDec.withUnsafeBufferPointer { w in norms.withUnsafeMutableBufferPointer { n in
            Reductions.rowL2Norms(w.baseAddress!, rows: dSae, d: dIn, norms: n.baseAddress!, threads: threads)
        }}
        // Per-latent code sums, each latent's entries in row order.
        var sums = [Float](repeating: 0, count: dSae)
        var weighted = 0.0
        for e in 0..<codes.nonzeroCount {
            let j = Int(codes.indices[e]), v = codes.values[e]
            sums[j] += v
            weighted += Double(v) * Double(norms[j])
        }
        let scale = l1 / Float(rows)
        weightedL1 = weighted / Double(rows)
        codeGradient = norms.map { scale * $0 }
        rowCoefficient = (0..<dSae).map { j in norms[j] > 0 && sums[j] != 0 ? scale * sums[j] / norms[j] : 0 }
    }

    /// `dpre[e] += codeGradient[j]` for every active entry (`f > 0`) of `codes`.
    func addCodeGradients(_ codes: SparseCodes, to dpre: UnsafeMutablePointer<Float>) {
        for e in 0..<codes.nonzeroCount where codes.values[e] > 0 { dpre[e] += codeGradient[Int(codes.indices[e])] }
    }

    /// `gradient[i] += rowCoefficient[j] * row[i]`: latent `j`'s share in its decoder-row
    /// gradient, `row` being `W_dec[j]` before the update.
    @inline(__always)
    func addRowGradient(_ j: Int, row: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>, d: Int) {
        let c = rowCoefficient[j]
        guard c != 0 else { return }
        for i in 0..<d { gradient[i] += c * row[i] }
    }
}
