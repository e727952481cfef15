import Foundation

/// A histogram of `log10(density)` over the features that fired, with the features that
/// never fired (density 0, `log10 = -inf`) counted apart in `neverFired` — their own bar.
public struct LogDensityHistogram: Codable, Sendable, Equatable {
    /// Bins over `log10(density)`.
    public var histogram: Histogram
    /// Features with density 0.
    public var neverFired: Int

    /// `log10(d)` for the `d > 0` of `densities` in bins of `binWidth` (log10 units) from
    /// `lower` (default: the multiple of `binWidth` at or below the smallest `log10(d)`) up
    /// to 0 (density 1), at least one bin.
    public init<S: Sequence>(_ densities: S, binWidth: Double = 0.25, lower: Double? = nil) where S.Element: BinaryFloatingPoint {
        precondition(binWidth > 0, "LogDensityHistogram: binWidth must be positive")
        let values = densities.map(Double.init)
        let logs = values.filter { $0 > 0 }.map { Foundation.log10($0) }
        let lo = lower ?? Self.lowerEdge(smallestLog10: logs.min() ?? -1, binWidth: binWidth)
        let bins = max(1, Int((-lo / binWidth).rounded(.up)))
        histogram = Histogram(lower: lo, upper: lo + Double(bins) * binWidth, bins: bins)
        for l in logs { histogram.add(l) }
        neverFired = values.filter { $0 == 0 }.count
    }

    /// The multiple of `binWidth` at or below `smallestLog10`, below 0.
    public static func lowerEdge(smallestLog10: Double, binWidth: Double) -> Double {
        min(-binWidth, (smallestLog10 / binWidth).rounded(.down) * binWidth)
    }
}
