import Foundation

/// Feature density over training, from the trainer's frequency snapshots: one log-density
/// histogram per snapshot, as a 2D array for a heat map.
///
/// Snapshot `s` (`tokens[s]` tokens seen when it was taken) gives each feature's firing
/// frequency over its period. `counts[s][b]` is the number of features with
/// `log10(frequency)` in bin `b` (`binLowerEdges[b] <= log10 f < binLowerEdges[b] + binWidth`,
/// bins shared by all snapshots, from the smallest nonzero frequency seen up to 0);
/// `neverFired[s]` counts the features with frequency 0 in that period; `dead`,
/// `ultraLow`, `highFrequency` count the groups of `FeatureDensityResult` per snapshot.
public struct DensityOverTrainingResult: Codable, Sendable, Equatable {
    public var tokens: [Int]
    public var binWidth: Double
    public var binLowerEdges: [Double]
    public var counts: [[Int]]
    public var neverFired: [Int]
    public var ultraLow: [Int]
    public var highFrequency: [Int]
}

public enum DensityOverTraining {
    public static func compute(snapshots: FrequencySnapshots, binWidth: Double = 0.25,
                               lower: Double? = nil,
                               ultraLowThreshold: Double = FeatureDensity.defaultUltraLowThreshold,
                               highFrequencyThreshold: Double = FeatureDensity.defaultHighFrequencyThreshold) -> DensityOverTrainingResult {
        precondition(binWidth > 0, "DensityOverTraining: binWidth must be positive")
        var smallest = -1.0
        for row in snapshots.frequencies { for f in row where f > 0 { smallest = min(smallest, Foundation.log10(Double(f))) } }
        let lo = lower ?? LogDensityHistogram.lowerEdge(smallestLog10: smallest, binWidth: binWidth)
        var counts: [[Int]] = [], never: [Int] = [], ultra: [Int] = [], high: [Int] = []
        var edges: [Double] = []
        for frequencies in snapshots.frequencies {
            let h = LogDensityHistogram(frequencies, binWidth: binWidth, lower: lo)
            edges = Array(h.histogram.edges.dropLast())
            counts.append(h.histogram.counts)
            never.append(h.neverFired)
            ultra.append(frequencies.filter { $0 > 0 && Double($0) < ultraLowThreshold }.count)
            high.append(frequencies.filter { Double($0) > highFrequencyThreshold }.count)
        }
        if snapshots.count == 0 {
            edges = Array(LogDensityHistogram([Float](), binWidth: binWidth, lower: lo).histogram.edges.dropLast())
        }
        return DensityOverTrainingResult(tokens: snapshots.tokens, binWidth: binWidth, binLowerEdges: edges,
                                         counts: counts, neverFired: never, ultraLow: ultra, highFrequency: high)
    }
}
