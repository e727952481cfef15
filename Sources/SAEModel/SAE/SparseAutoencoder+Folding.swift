import SAEKernels

// Reparametrisations that change the weights but not what the SAE computes.

extension SparseAutoencoder {
    /// Folds an input scaling into the weights, as SAELens's
    /// `fold_activation_norm_scaling_factor` does: for an SAE trained on `s·x`,
    /// `W_enc ← s·W_enc`, `W_dec ← W_dec / s`, `b_dec ← b_dec / s` gives an SAE on raw `x`
    /// with the same activations and `x̂` scaled back by `1/s`. Sets
    /// `normalizeActivations = .none`.
    public mutating func foldActivationScale(_ s: Float) {
        precondition(s.isFinite && s > 0, "foldActivationScale: scale \(s) must be positive and finite")
        wEnc.withUnsafeMutableBufferPointer { w in for i in 0..<w.count { w[i] *= s } }
        wDec.withUnsafeMutableBufferPointer { w in for i in 0..<w.count { w[i] /= s } }
        for i in 0..<bDec.count { bDec[i] /= s }
        normalizeActivations = .none
    }

    /// Makes every decoder row unit-norm without changing the outputs (SAELens's
    /// `fold_W_dec_norm`): with `n_j = ‖W_dec[j]‖`, `W_dec[j] ← W_dec[j] / n_j`,
    /// `W_enc[:, j] ← n_j W_enc[:, j]`, `b_enc[j] ← n_j b_enc[j]` and, for JumpReLU,
    /// `θ_j ← n_j θ_j`. For topk / batchtopk with `rescaleActsByDecoderNorm` the rescale
    /// then multiplies by 1 and is turned off, and batchtopk's threshold, which already
    /// applied to the rescaled scores `pre ⊙ n`, is unchanged. A topk SAE without the rescale is left as it is
    /// (folding would change its top-k choice), and so are rows of norm 0.
    public mutating func foldDecoderNorms() {
        if architecture == .topk && !rescaleActsByDecoderNorm { return }
        let norms = decoderRowNorms().map { $0 > 0 && $0.isFinite ? $0 : 1 }
        let (dIn, dSae) = (self.dIn, self.dSae)
        wDec.withUnsafeMutableBufferPointer { w in
            for j in 0..<dSae { for i in 0..<dIn { w[j * dIn + i] /= norms[j] } }
        }
        wEnc.withUnsafeMutableBufferPointer { w in
            for i in 0..<dIn { for j in 0..<dSae { w[i * dSae + j] *= norms[j] } }
        }
        for j in 0..<dSae { bEnc[j] *= norms[j] }
        // The threshold compares with pre-activations, which folding scales by n, unless
        // they were already rescaled by n (batchtopk with the rescale on).
        let thresholdSeesPre = architecture == .jumprelu || (architecture == .batchtopk && !rescaleActsByDecoderNorm)
        if thresholdSeesPre, var t = threshold {
            for j in 0..<dSae { t[j] *= norms[j] }
            threshold = t
        }
        if architecture.usesK { rescaleActsByDecoderNorm = false }
    }
}
