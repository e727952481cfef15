import Foundation

/// Feature density over a token budget: the fraction of tokens on which each feature is
/// nonzero, its log-density histogram, and the counts of the studies' clusters.
///
/// `density_j = #{t : f_j(t) != 0} / tokens`. Groups:
/// - dead: `density_j = 0` over the budget;
/// - ultra-low cluster: `0 < density_j < ultraLowThreshold` (1e-4 by default);
/// - high-frequency spike: `density_j > highFrequencyThreshold` (0.038 by default).
public struct FeatureDensityResult: Codable, Sendable, Equatable {
    public var tokens: Int
    public var densities: [Double]
    public var histogram: LogDensityHistogram
    public var ultraLowThreshold: Double
    public var highFrequencyThreshold: Double
    public var dead: Int
    public var ultraLow: Int
    public var highFrequency: Int

    /// The ultra-low features, increasing.
    public var ultraLowFeatures: [Int] {
        densities.indices.filter { densities[$0] > 0 && densities[$0] < ultraLowThreshold }
    }
    /// The high-frequency features, increasing.
    public var highFrequencyFeatures: [Int] { densities.indices.filter { densities[$0] > highFrequencyThreshold } }
    public var deadFeatures: [Int] { densities.indices.filter { densities[$0] == 0 } }
}

public enum FeatureDensity {
    public static let defaultUltraLowThreshold = 1e-4
    public static let defaultHighFrequencyThreshold = 0.038

    /// From fire counts over `tokens` tokens.
    public static func compute(fireCounts: [Int], tokens: Int,
                               ultraLowThreshold: Double = defaultUltraLowThreshold,
                               highFrequencyThreshold: Double = defaultHighFrequencyThreshold,
                               binWidth: Double = 0.25) -> FeatureDensityResult {
        precondition(tokens > 0, "FeatureDensity: no tokens")
        return compute(densities: fireCounts.map { Double($0) / Double(tokens) }, tokens: tokens,
                       ultraLowThreshold: ultraLowThreshold, highFrequencyThreshold: highFrequencyThreshold,
                       binWidth: binWidth)
    }

    /// From densities (e.g. a trainer's frequency snapshot) measured over `tokens` tokens.
    public static func compute(densities: [Double], tokens: Int,
                               ultraLowThreshold: Double = defaultUltraLowThreshold,
                               highFrequencyThreshold: Double = defaultHighFrequencyThreshold,
                               binWidth: Double = 0.25) -> FeatureDensityResult {
        let lower = LogDensityHistogram.lowerEdge(
            smallestLog10: min(densities.filter { $0 > 0 }.map { Foundation.log10($0) }.min() ?? -1,
                               tokens > 0 ? Foundation.log10(1 / Double(tokens)) : -1),
            binWidth: binWidth)
        return FeatureDensityResult(
            tokens: tokens, densities: densities,
            histogram: LogDensityHistogram(densities, binWidth: binWidth, lower: lower),
            ultraLowThreshold: ultraLowThreshold, highFrequencyThreshold: highFrequencyThreshold,
            dead: densities.filter { $0 == 0 }.count,
            ultraLow: densities.filter { $0 > 0 && $0 < ultraLowThreshold }.count,
            highFrequency: densities.filter { $0 > highFrequencyThreshold }.count)
    }

    /// From a collector's pass.
    package static func compute(_ stats: FeatureStatistics,
                               ultraLowThreshold: Double = defaultUltraLowThreshold,
                               highFrequencyThreshold: Double = defaultHighFrequencyThreshold,
                               binWidth: Double = 0.25) -> FeatureDensityResult {
        compute(fireCounts: stats.fireCounts, tokens: stats.tokens, ultraLowThreshold: ultraLowThreshold,
                highFrequencyThreshold: highFrequencyThreshold, binWidth: binWidth)
    }

    /// Runs the model over contexts `range` of `contexts`, encodes the hook with `sae` and
    /// counts (no loss runs; position 0 left out when `excludeFirstPosition`).
    public static func measure(sae: SparseAutoencoder, model: Transformer, contexts: TokenContexts, range: Range<Int>,
                               excludeFirstPosition: Bool = true, batchSize: Int = 16,
                               ultraLowThreshold: Double = defaultUltraLowThreshold,
                               highFrequencyThreshold: Double = defaultHighFrequencyThreshold,
                               binWidth: Double = 0.25) throws -> FeatureDensityResult {
        var config = FeatureStatisticsCollector.Configuration()
        config.excludeFirstPosition = excludeFirstPosition
        config.measureLoss = false
        config.correlationFeatures = []
        config.topActivations = 1
        config.samples = 1
        config.histogramBins = 2
        let collector = try FeatureStatisticsCollector(sae: sae, model: model, configuration: config)
        try collector.add(contexts: contexts, range: range, batchSize: batchSize)
        let stats = collector.finish()
        guard stats.tokens > 0 else { throw FeatureAnalysis.noPositions(contexts: contexts, excludeFirstPosition: excludeFirstPosition) }
        return compute(stats, ultraLowThreshold: ultraLowThreshold,
                       highFrequencyThreshold: highFrequencyThreshold, binWidth: binWidth)
    }
}
