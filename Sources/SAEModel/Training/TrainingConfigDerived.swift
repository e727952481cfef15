import Foundation

/// The values of a `TrainingConfig` that follow from the run's length when they are left nil:
/// the one place the recommended schedules are written down (the table on `TrainingConfig`).
/// The trainer reads only these `effective...` values.
extension TrainingConfig {
    /// Optimizer steps: `max(1, trainTokens / batchSize)`.
    public var steps: Int { max(1, trainTokens / max(1, batchSize)) }

    /// `lrWarmupSteps`, else `min(100, steps / 20)`.
    public var effectiveLRWarmupSteps: Int { lrWarmupSteps ?? min(100, steps / 20) }

    /// `l1WarmupSteps`, else `steps / 20` for the standard SAE (TopK and BatchTopK have no L1).
    public var effectiveL1WarmupSteps: Int { l1WarmupSteps ?? (architecture == .standard ? steps / 20 : 0) }

    /// `frequencyWindowTokens`, else a tenth of the run, at least one batch, at most 1M tokens.
    public var effectiveFrequencyWindowTokens: Int {
        frequencyWindowTokens ?? min(1_000_000, max(batchSize, trainTokens / 10))
    }

    /// `deadTokens`, else a tenth of the run, at least one batch, at most 1M tokens.
    public var effectiveDeadTokens: Int { deadTokens ?? min(1_000_000, max(batchSize, trainTokens / 10)) }

    /// `frequencySnapshotTokens` (0: no snapshots), else a tenth of the run, at least one batch.
    public var effectiveFrequencySnapshotTokens: Int { frequencySnapshotTokens ?? max(batchSize, trainTokens / 10) }

    /// Tokens between resampling checks: the `everyTokens` of `resampling`, else a quarter
    /// of the run, at least one batch; nil without resampling.
    public var effectiveResamplingTokens: Int? {
        switch resampling {
        case .none: return nil
        case let .reinit(every, _), let .anthropic(every, _): return every ?? max(batchSize, trainTokens / 4)
        }
    }

    /// This config with every derived value written in (no nil left among them): what the
    /// trainer runs with. Two configs that train the same way have equal `resolved()` forms.
    public func resolved() -> TrainingConfig {
        var r = self
        r.lrWarmupSteps = effectiveLRWarmupSteps
        r.l1WarmupSteps = effectiveL1WarmupSteps
        r.frequencyWindowTokens = effectiveFrequencyWindowTokens
        r.deadTokens = effectiveDeadTokens
        r.frequencySnapshotTokens = effectiveFrequencySnapshotTokens
        switch resampling {
        case .none: break
        case let .reinit(_, below): r.resampling = .reinit(everyTokens: effectiveResamplingTokens, frequencyBelow: below)
        case let .anthropic(_, rows): r.resampling = .anthropic(everyTokens: effectiveResamplingTokens, sampleRows: rows)
        }
        return r
    }

    /// Latents per input dimension in the recommended setup.
    public static let recommendedExpansion: Double = 4

    /// `max(1, round(dIn * expansion))` latents.
    public static func recommendedDSae(dIn: Int, expansion: Double = recommendedExpansion) -> Int {
        max(1, Int((Double(dIn) * expansion).rounded()))
    }

    /// The values `TrainingConfig()` had before it took the recommended setup (a standard SAE,
    /// constant learning rate 4e-4 without warm-up, raw inputs, 10M tokens, a log record
    /// every 100 steps, 1M-token windows, no snapshots): tests and benchmarks that were
    /// written against them keep measuring the same thing.
    package static var plain: TrainingConfig {
        var c = TrainingConfig()
        c.architecture = .standard
        c.l1WarmupSteps = 0
        c.learningRate = 4e-4
        c.lrWarmupSteps = 0
        c.lrDecay = .constant
        c.trainTokens = 10_000_000
        c.normalizeInput = false
        c.logEverySteps = 100
        c.frequencyWindowTokens = 1_000_000
        c.frequencySnapshotTokens = 0
        c.deadTokens = 1_000_000
        return c
    }
}
