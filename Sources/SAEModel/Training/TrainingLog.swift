import Foundation

/// One line of the JSON-lines training log.
public struct TrainingLogRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var tokens: Int
    public var learningRate: Double
    public var l1Coefficient: Double
    public var loss: Double
    public var mse: Double
    /// Sum of squared errors over the sum of squared deviations from the batch mean.
    public var normalizedMSE: Double
    public var explainedVariance: Double
    public var l0: Double
    public var l1: Double
    public var auxLoss: Double
    public var deadFraction: Double
    public var below1e5Fraction: Double
    public var below1e4Fraction: Double
    /// Tokens of the frequency window behind the three fractions.
    public var frequencyWindowTokens: Int
    public var tokensPerSecond: Double
    public var densePath: Bool
    public var resampled: Int?

    enum CodingKeys: String, CodingKey {
        case step, tokens, loss, mse, l0, l1
        case learningRate = "lr", l1Coefficient = "l1_coefficient", normalizedMSE = "normalized_mse"
        case explainedVariance = "explained_variance", auxLoss = "aux_loss", deadFraction = "dead_fraction"
        case below1e5Fraction = "below_1e-5_fraction", below1e4Fraction = "below_1e-4_fraction"
        case frequencyWindowTokens = "frequency_window_tokens", tokensPerSecond = "tokens_per_s"
        case densePath = "dense_path", resampled
    }

    /// The record as one line of JSON (keys sorted; a non-finite figure, e.g. a diverged
    /// loss, written as `JSONNonFinite` says).
    public func jsonLine() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = JSONNonFinite.encodingStrategy
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}
