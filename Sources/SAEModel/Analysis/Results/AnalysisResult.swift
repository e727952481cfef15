/// What the SAE is and what it was measured on.
public struct AnalysisSubject: Codable, Sendable, Equatable {
    public var hook: String
    public var architecture: String
    public var dIn: Int
    public var dSae: Int
    public var k: Int?
    public var saeContextSize: Int
    public var modelName: String?
    public var contexts: Int
    public var contextLength: Int
    /// Tokens counted by the feature statistics.
    public var tokens: Int
    public var excludedFirstPosition: Bool
}

/// The headline numbers of the report's summary table.
public struct AnalysisSummary: Codable, Sendable, Equatable {
    public var quality: ReconstructionQuality
    public var dead: Int
    public var ultraLow: Int
    public var highFrequency: Int
    public var ultraLowThreshold: Double
    public var highFrequencyThreshold: Double
}

/// Every measurement of `FeatureAnalysis.run`, Codable (write it with `AnalysisJSON`).
public struct AnalysisResult: Codable, Sendable, Equatable {
    public var subject: AnalysisSubject
    public var summary: AnalysisSummary
    public var density: FeatureDensityResult
    public var ultraLowCluster: UltraLowClusterResult
    public var lossWhenFiring: LossWhenFiringResult
    public var decoderSparsity: DecoderSparsityResult
    public var kurtosis: DecoderKurtosisResult
    public var encoderDecoderCosine: EncoderDecoderCosineResult
    /// For SAEs on `blocks.L.mlp.hook_post` only.
    public var nullSpace: NullSpaceResult?
    public var positions: PositionQualityResult
    public var neuronCorrelation: NeuronCorrelationResult?
    public var densityOverTraining: DensityOverTrainingResult?
    public var pruning: PruningResult?
    public var crossRun: CrossRunMatchingResult?
    public var promptView: PromptViewResult?
    public var features: [FeatureCard]
    /// Measurements that could not run, with the reason.
    public var skipped: [String: String]
}
