import SAEKernels

extension SAETrainer {
    /// Checks that training can continue `initial` as it is: the config's architecture, k and
    /// shape, b_dec applied to the input, no input normalisation of its own, and (for a TopK
    /// SAE that does not rescale by the decoder norms) unit-norm decoder rows, since the
    /// trainer keeps them unit-norm and refolding them would change its top-k choices. Throws
    /// `invalidConfig` naming the first difference.
    static func checkContinuable(_ initial: SparseAutoencoder, config: TrainingConfig, dIn: Int) throws {
        func refuse(_ s: String) -> TrainingError { .invalidConfig("cannot continue training the given SAE: \(s)") }
        guard initial.dIn == dIn && initial.dSae == config.dSae else {
            throw refuse("it is \(initial.dIn)x\(initial.dSae), the config wants \(dIn)x\(config.dSae)")
        }
        guard initial.architecture == config.architecture else {
            throw refuse("it is a \(initial.architecture.rawValue) SAE and the config trains \(config.architecture.rawValue)")
        }
        if config.architecture.usesK, initial.k != config.k {
            throw refuse("its k is \(initial.k.map(String.init) ?? "unset"), the config's is \(config.k)")
        }
        guard initial.applyBDecToInput else { throw refuse("it does not subtract b_dec from its input (apply_b_dec_to_input false)") }
        guard initial.normalizeActivations == .none else {
            throw refuse("it normalises its input itself (\(initial.normalizeActivations.rawValue)); fold that into the weights first")
        }
        if config.architecture == .topk && !initial.rescaleActsByDecoderNorm {
            let off = initial.decoderRowNorms().contains { !(abs($0 - 1) <= 1e-3) }
            if off { throw refuse("its decoder rows are not unit-norm, and renormalising them would change its top-k choices") }
        }
        if config.architecture == .batchtopk, let t = initial.threshold, let first = t.first {
            guard t.allSatisfy({ $0 == first }), first.isFinite else {
                throw refuse("its batchtopk threshold is not one shared finite value")
            }
        }
    }

    /// `initial` as the trainer sees it: the same function on inputs scaled by `inputScale`
    /// (`foldActivationScale(1 / s)`), with unit-norm decoder rows when the trainer keeps
    /// them so (`foldDecoderNorms`: the norms go into the encoder, which leaves a ReLU or
    /// JumpReLU SAE's outputs unchanged). Under the L1-weighted parametrisation the rows
    /// stay as they are (its penalty `Σ f_j ||W_dec[j]||` is the same either way).
    /// A TopK SAE without the rescale has unit rows here (`checkContinuable`), so after the
    /// scale fold all its rows have the same norm and folding them scales every
    /// pre-activation alike: the top-k choice stays, and the fold is taken as for a rescaling one.
    static func continuation(of initial: SparseAutoencoder, inputScale: Float, unitNormDecoder: Bool) -> SparseAutoencoder {
        var sae = initial
        if inputScale != 1 { sae.foldActivationScale(1 / inputScale) }
        guard unitNormDecoder else { return sae }
        if sae.architecture == .topk { sae.rescaleActsByDecoderNorm = true }
        sae.foldDecoderNorms()
        return sae
    }
}
