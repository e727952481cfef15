import SAEKernels

/// Pruning the high-frequency spike: remove the features with density above a threshold and
/// measure the SAE again.
///
/// The pruned SAE sets the removed features' activations to zero (the other features keep
/// theirs; for TopK the selection is not redone) and decodes the rest; `baseline` and
/// `pruned` are `ReconstructionQuality` over the same contexts (L0, MSE, explained variance,
/// loss recovered), computed the same way.
public struct PruningResult: Codable, Sendable, Equatable {
    public var threshold: Double
    public var removed: [Int]
    public var baseline: ReconstructionQuality
    public var pruned: ReconstructionQuality
}

public enum HighFrequencyPruning {
    /// Removes the features with `densities[j] > threshold` and measures both SAEs over
    /// contexts `range` (`baseline` may be passed in when already measured on those contexts).
    public static func measure(sae: SparseAutoencoder, model: Transformer, densities: [Double],
                               threshold: Double = FeatureDensity.defaultHighFrequencyThreshold,
                               contexts: TokenContexts, range: Range<Int>, batchSize: Int = 16,
                               excludeFirstPosition: Bool = true, baseline: ReconstructionQuality? = nil,
                               hook: String? = nil, threads: Int = Parallel.defaultThreads) throws -> PruningResult {
        let sequences = try range.map { try contexts.context($0) }
        return try measure(sae: sae, model: model, densities: densities, threshold: threshold, sequences: sequences,
                           batchSize: batchSize, excludeFirstPosition: excludeFirstPosition, baseline: baseline,
                           hook: hook, threads: threads)
    }

    /// The same over explicit sequences (all of one length).
    public static func measure(sae: SparseAutoencoder, model: Transformer, densities: [Double],
                               threshold: Double = FeatureDensity.defaultHighFrequencyThreshold,
                               sequences: [[Int32]], batchSize: Int = 16, excludeFirstPosition: Bool = true,
                               baseline: ReconstructionQuality? = nil, hook: String? = nil,
                               threads: Int = Parallel.defaultThreads) throws -> PruningResult {
        precondition(densities.count == sae.dSae, "HighFrequencyPruning: \(densities.count) densities for d_sae \(sae.dSae)")
        let removed = densities.indices.filter { densities[$0] > threshold }
        var flags = [Bool](repeating: false, count: sae.dSae)
        for j in removed { flags[j] = true }
        let hook = hook ?? sae.metadata.hookName
        let base = try baseline ?? quality(sae: sae, model: model, hook: hook, sequences: sequences, removed: nil,
                                           batchSize: batchSize, excludeFirstPosition: excludeFirstPosition, threads: threads)
        let pruned = try quality(sae: sae, model: model, hook: hook, sequences: sequences, removed: flags,
                                 batchSize: batchSize, excludeFirstPosition: excludeFirstPosition, threads: threads)
        return PruningResult(threshold: threshold, removed: removed, baseline: base, pruned: pruned)
    }

    /// `ReconstructionQuality` of `sae` (minus the `removed` features) over `sequences`.
    public static func quality(sae: SparseAutoencoder, model: Transformer, hook: String, sequences: [[Int32]],
                               removed: [Bool]?, batchSize: Int = 16, excludeFirstPosition: Bool = true,
                               threads: Int = Parallel.defaultThreads) throws -> ReconstructionQuality {
        guard let seq = sequences.first?.count, seq > 0 else {
            throw AnalysisError.invalidArgument("no sequences to measure")
        }
        var acc = PositionAccumulator(seq: seq, dIn: sae.dIn, excludeFirstPosition: excludeFirstPosition)
        var start = 0
        while start < sequences.count {
            let batch = TokenBatch(Array(sequences[start..<min(sequences.count, start + batchSize)]))
            acc.add(try SplicedBatch.run(sae: sae, model: model, hook: hook, tokens: batch, measureLoss: true,
                                         removed: removed, excludeFirstPosition: excludeFirstPosition, threads: threads))
            start += batchSize
        }
        return acc.quality()
    }
}
