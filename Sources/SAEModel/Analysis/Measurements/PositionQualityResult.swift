/// Reconstruction quality by token position: the `ReconstructionQuality` formulas applied
/// to the tokens at each position `p` of the contexts separately.
///
/// Entry `p` of `mse`, `explainedVariance` (with the mean of the hook at that position) and
/// `l0` covers the tokens at position `p` (`contextLength` entries). Entry `p` of the loss
/// arrays covers the prediction made at position `p` (of token `p + 1`; `contextLength - 1`
/// entries), and `lossRecovered[p] = (L_zero[p] - L_spliced[p]) / (L_zero[p] - L_clean[p])`.
/// Explained variance is NaN at a position whose tokens' activations do not vary (BOS).
///
/// Positions at or after `saeContextSize` (the context length the SAE was trained on) are
/// beyond its training context; `beyondTrainingContextFrom` is that first position when the
/// contexts measured are longer, else nil.
public struct PositionQualityResult: Codable, Sendable, Equatable {
    public var contexts: Int
    public var contextLength: Int
    public var saeContextSize: Int
    public var beyondTrainingContextFrom: Int?
    public var mse: [Double]
    public var explainedVariance: [Double]
    public var l0: [Double]
    public var cleanLoss: [Double]
    public var splicedLoss: [Double]
    public var zeroAblationLoss: [Double]
    public var lossRecovered: [Double]
}
