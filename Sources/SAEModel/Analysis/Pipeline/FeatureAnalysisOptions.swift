import SAEKernels

/// The knobs of `FeatureAnalysis.run`. Defaults are modest (64 contexts of the SAE's context
/// length), enough for the fixture SAEs in a few seconds.
public struct FeatureAnalysisOptions: Sendable {
    /// The hook the SAE reads; nil: the SAE's `metadata.hookName`.
    public var hook: String? = nil

    // MARK: Token budget
    /// Contexts in the budget of the main pass.
    public var contexts: Int = 64
    /// First context used.
    public var startContext: Int = 0
    /// Tokens per context; nil: the SAE's `metadata.contextSize`, at most the model's `n_ctx`.
    /// Ignored when `run` is given `TokenContexts`.
    public var contextLength: Int? = nil
    /// BOS put first in every context; nil: the tokenizer's `<|endoftext|>` when the SAE was
    /// trained with `prependBos`, else none. Ignored when `run` is given `TokenContexts`.
    public var bosToken: Int32? = nil
    /// Contexts per forward pass.
    public var batchSize: Int = 16
    /// Leave position 0 out of the feature statistics and the quality figures, and do not
    /// splice the SAE there; nil: the SAE's rule (`ExcludedPositions.rule(for:contexts:)`:
    /// BOS is left out when training skipped it), the same rule `SAEEvaluation` follows.
    public var excludeFirstPosition: Bool? = nil

    // MARK: Groups and histograms
    public var ultraLowThreshold: Double = FeatureDensity.defaultUltraLowThreshold
    public var highFrequencyThreshold: Double = FeatureDensity.defaultHighFrequencyThreshold
    /// Width of the log10-density bins.
    public var densityBinWidth: Double = 0.25
    /// Cosine above which a cluster feature counts as aligned with the cluster's mean direction.
    public var clusterCosineThreshold: Double = 0.95
    /// Width of the log10-density buckets of loss when firing.
    public var lossBucketWidth: Double = 0.5
    /// Candidates: ultra-low features with mean loss when firing below this fraction of the
    /// overall mean loss.
    public var lowLossRatio: Double = 0.5
    /// Bins of the weight histograms (kurtosis, cosines, null-space fraction).
    public var histogramBins: Int = 40
    /// Seed of the Gaussian kurtosis baseline and of the activation samples.
    public var seed: UInt64 = 0

    // MARK: Feature cards
    /// Features given a card; nil: `cardCount` chosen over the density range.
    public var cardFeatures: [Int]? = nil
    public var cardCount: Int = 8
    /// Top activations kept per feature during the pass.
    public var topContexts: Int = 12
    /// Reservoir size per feature (quantile examples).
    public var activationSamples: Int = 32
    public var quantileBands: Int = 4
    public var examplesPerBand: Int = 2
    /// Tokens shown before and after the firing token.
    public var tokensBefore: Int = 10
    public var tokensAfter: Int = 4
    /// Bins of each feature's activation histogram (even).
    public var activationHistogramBins: Int = 32
    /// Tokens listed for logit weights and downstream effect.
    public var logitTokens: Int = 10
    /// Top contexts the downstream effect is measured on; 0 skips it.
    public var downstreamContexts: Int = 8
    /// Correlations for every feature when `d_sae * d_in` is at most this (8 bytes each);
    /// for the card features only otherwise.
    public var correlationEntryLimit: Int = 1 << 24

    // MARK: Other measurements
    /// Contexts for reconstruction quality by position when the model's `n_ctx` is longer
    /// than the main contexts (measured at length `n_ctx`); 0: use the main pass only.
    public var positionContexts: Int = 16
    /// Prune the features above `pruneThreshold` (default: `highFrequencyThreshold`) and
    /// measure again over the main budget.
    public var prune: Bool = true
    public var pruneThreshold: Double? = nil
    /// The trainer's frequency snapshots (`SAETrainer.snapshots`, or a run's
    /// `feature_frequencies.safetensors`), for density over training; nil or empty: skipped.
    public var trainingSnapshots: FrequencySnapshots? = nil
    /// A second SAE on the same hook to match features with.
    public var comparison: SparseAutoencoder? = nil
    /// A text to show feature by feature, token by token.
    public var promptText: String? = nil
    public var threads: Int = Parallel.defaultThreads

    public init() {}
}
