/// Everything the report shows about one feature.
public struct FeatureCard: Codable, Sendable, Equatable {
    public var feature: Int
    public var density: Double
    public var meanActivation: Double
    public var maxActivation: Float
    /// The model's mean next-token loss on tokens where the feature fires (NaN if none).
    public var meanLossWhenFiring: Double
    public var fveTop1: Double
    public var fveNext9: Double
    public var decoderKurtosis: Double
    public var encoderDecoderCosine: Double
    /// The neuron most correlated with the feature and that Pearson correlation.
    public var bestNeuron: Int?
    public var neuronCorrelation: Float?
    public var contexts: FeatureContextsResult
    /// The feature's activation histogram over the budget (see `ActivationHistograms`).
    public var activationHistogram: Histogram
    public var logitWeights: LogitWeightsResult?
    public var downstream: DownstreamEffectResult?
}
