import SAEKernels

/// Reconstruction quality by position over contexts of any length up to the model's
/// `n_ctx` — longer than the SAE's training context when the model allows, to see how the
/// SAE does on positions it never saw. See `PositionQualityResult`.
public enum PositionQuality {
    /// Over contexts `range` of `contexts` (their length is the one measured).
    public static func measure(sae: SparseAutoencoder, model: Transformer, contexts: TokenContexts, range: Range<Int>,
                               batchSize: Int = 16, excludeFirstPosition: Bool = true, hook: String? = nil,
                               threads: Int = Parallel.defaultThreads) throws -> PositionQualityResult {
        try measure(sae: sae, model: model, sequences: try range.map { try contexts.context($0) }, batchSize: batchSize,
                    excludeFirstPosition: excludeFirstPosition, hook: hook, threads: threads)
    }

    /// Over explicit sequences of one length (at most `n_ctx`).
    public static func measure(sae: SparseAutoencoder, model: Transformer, sequences: [[Int32]], batchSize: Int = 16,
                               excludeFirstPosition: Bool = true, hook: String? = nil,
                               threads: Int = Parallel.defaultThreads) throws -> PositionQualityResult {
        guard let seq = sequences.first?.count, seq > 0 else { throw AnalysisError.invalidArgument("no sequences to measure") }
        guard seq <= model.config.nCtx else {
            throw AnalysisError.invalidArgument("contexts of \(seq) tokens exceed the model's n_ctx \(model.config.nCtx)")
        }
        let hook = hook ?? sae.metadata.hookName
        var acc = PositionAccumulator(seq: seq, dIn: sae.dIn, excludeFirstPosition: excludeFirstPosition)
        var start = 0
        while start < sequences.count {
            let batch = TokenBatch(Array(sequences[start..<min(sequences.count, start + batchSize)]))
            acc.add(try SplicedBatch.run(sae: sae, model: model, hook: hook, tokens: batch, measureLoss: true,
                                         excludeFirstPosition: excludeFirstPosition, threads: threads))
            start += batchSize
        }
        return acc.byPosition(saeContextSize: sae.metadata.contextSize)
    }
}
