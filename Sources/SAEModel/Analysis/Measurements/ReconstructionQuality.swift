/// How well an SAE reconstructs a hook over a token budget, and how much of the model's
/// loss survives when the reconstruction is spliced in.
///
/// Over the `tokens` counted (position 0 left out when the analysis excludes it), with `x`
/// the hook's value, `x̂` the reconstruction and `d = d_in`:
/// - `l0 = mean_t #{j : f_j(t) != 0}`;
/// - `mse = Σ_t ||x_t - x̂_t||² / (tokens * d)`;
/// - `explainedVariance = 1 - Σ_t ||x_t - x̂_t||² / Σ_t ||x_t - mean(x)||²`.
///
/// Over every prediction made at a counted position (`predictedTokens`: positions `0...seq-2`
/// of each context, or `1...seq-2` when position 0 is left out, as `ModelLoss` counts them
/// with `ExcludedPositions`; the SAE is not spliced at a left-out position), with the mean
/// next-token cross-entropy of the clean model
/// `L_clean`, of the model with the hook replaced by `x̂` `L_spliced`, and with the hook
/// set to zero `L_zero`:
/// `lossRecovered = (L_zero - L_spliced) / (L_zero - L_clean)`.
public struct ReconstructionQuality: Codable, Sendable, Equatable {
    public var tokens: Int
    public var l0: Double
    public var mse: Double
    public var explainedVariance: Double
    public var predictedTokens: Int
    public var cleanLoss: Double
    public var splicedLoss: Double
    public var zeroAblationLoss: Double
    public var lossRecovered: Double

    public init(tokens: Int, l0: Double, mse: Double, explainedVariance: Double, predictedTokens: Int,
                cleanLoss: Double, splicedLoss: Double, zeroAblationLoss: Double) {
        self.tokens = tokens
        self.l0 = l0
        self.mse = mse
        self.explainedVariance = explainedVariance
        self.predictedTokens = predictedTokens
        self.cleanLoss = cleanLoss
        self.splicedLoss = splicedLoss
        self.zeroAblationLoss = zeroAblationLoss
        lossRecovered = (zeroAblationLoss - splicedLoss) / (zeroAblationLoss - cleanLoss)
    }
}
