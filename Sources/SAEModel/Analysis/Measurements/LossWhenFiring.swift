import Foundation

/// The model's loss on the tokens where each feature fires, against its loss overall.
///
/// For feature `j`, `meanLoss_j = mean_{t : f_j(t) != 0} L(t)`, with `L(t)` the model's
/// next-token cross-entropy at token `t` (the loss of predicting the token after `t`; the
/// last token of a context has none and is not counted); `overallMeanLoss = mean_t L(t)` over
/// every counted token. Features are grouped by `log10(density)` into buckets of `bucketWidth`
/// (bucket `b` covers `[lower + b w, lower + (b+1) w)`), each with its features' mean of
/// `meanLoss_j`. Candidates: ultra-low features (`0 < density < ultraLowThreshold`) whose
/// `meanLoss_j < lowLossRatio * overallMeanLoss`, lowest loss first.
public struct LossWhenFiringResult: Codable, Sendable, Equatable {
    public struct Bucket: Codable, Sendable, Equatable {
        public var lowerLog10Density: Double
        public var upperLog10Density: Double
        public var features: Int
        /// Mean over the bucket's features of `meanLoss_j` (NaN when empty).
        public var meanLoss: Double
    }

    public struct Candidate: Codable, Sendable, Equatable {
        public var feature: Int
        public var density: Double
        public var meanLoss: Double
    }

    public var overallMeanLoss: Double
    /// `meanLoss_j` per feature (NaN when it never fired on a token with a next token).
    public var meanLoss: [Double]
    /// Tokens (with a next token) where each feature fired.
    public var lossTokens: [Int]
    public var buckets: [Bucket]
    public var ultraLowThreshold: Double
    public var lowLossRatio: Double
    public var candidates: [Candidate]
}

public enum LossWhenFiring {
    /// From per-feature loss sums and counts, densities and the overall mean loss.
    public static func compute(lossSums: [Double], lossCounts: [Int], densities: [Double], overallMeanLoss: Double,
                               ultraLowThreshold: Double = FeatureDensity.defaultUltraLowThreshold,
                               lowLossRatio: Double = 0.5, bucketWidth: Double = 0.5) -> LossWhenFiringResult {
        precondition(lossSums.count == lossCounts.count && lossSums.count == densities.count,
                     "LossWhenFiring: per-feature arrays of different lengths")
        precondition(bucketWidth > 0, "LossWhenFiring: bucketWidth must be positive")
        let meanLoss = (0..<lossSums.count).map { lossCounts[$0] > 0 ? lossSums[$0] / Double(lossCounts[$0]) : .nan }
        let alive = densities.indices.filter { densities[$0] > 0 && !meanLoss[$0].isNaN }
        var buckets: [LossWhenFiringResult.Bucket] = []
        if let minLog = alive.map({ Foundation.log10(densities[$0]) }).min() {
            let lower = (minLog / bucketWidth).rounded(.down) * bucketWidth
            let count = max(1, Int((-lower / bucketWidth).rounded(.up)) + 1)
            var sums = [Double](repeating: 0, count: count), n = [Int](repeating: 0, count: count)
            for j in alive {
                let b = min(count - 1, max(0, Int(((Foundation.log10(densities[j]) - lower) / bucketWidth).rounded(.down))))
                sums[b] += meanLoss[j]; n[b] += 1
            }
            buckets = (0..<count).map { b in
                .init(lowerLog10Density: lower + Double(b) * bucketWidth, upperLog10Density: lower + Double(b + 1) * bucketWidth,
                      features: n[b], meanLoss: n[b] > 0 ? sums[b] / Double(n[b]) : .nan)
            }
            while let last = buckets.last, last.features == 0 { buckets.removeLast() }
        }
        let lossLimit = lowLossRatio * overallMeanLoss
        var candidates: [LossWhenFiringResult.Candidate] = []
        for j in alive where densities[j] < ultraLowThreshold && meanLoss[j] < lossLimit {
            candidates.append(.init(feature: j, density: densities[j], meanLoss: meanLoss[j]))
        }
        candidates.sort { a, b in a.meanLoss < b.meanLoss || (a.meanLoss == b.meanLoss && a.feature < b.feature) }
        return LossWhenFiringResult(overallMeanLoss: overallMeanLoss, meanLoss: meanLoss, lossTokens: lossCounts,
                                    buckets: buckets, ultraLowThreshold: ultraLowThreshold, lowLossRatio: lowLossRatio,
                                    candidates: candidates)
    }

    /// From a collector's pass (which must have measured losses).
    package static func compute(_ stats: FeatureStatistics,
                               ultraLowThreshold: Double = FeatureDensity.defaultUltraLowThreshold,
                               lowLossRatio: Double = 0.5, bucketWidth: Double = 0.5) -> LossWhenFiringResult {
        compute(lossSums: stats.lossSums, lossCounts: stats.lossCounts, densities: stats.densities,
                overallMeanLoss: stats.overallMeanLoss, ultraLowThreshold: ultraLowThreshold,
                lowLossRatio: lowLossRatio, bucketWidth: bucketWidth)
    }
}
