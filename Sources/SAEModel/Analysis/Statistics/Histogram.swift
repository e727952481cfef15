import Foundation

/// Counts of values in `bins` equal-width bins over `[lower, upper]`.
///
/// Bin `i` holds the values `v` with `edges[i] <= v < edges[i + 1]`, where
/// `edges[i] = lower + i * (upper - lower) / bins`; the last bin also holds `v == upper`.
/// Values outside the range are counted in `below` / `above`, NaN in `nonFinite`
/// (infinities count as below or above).
public struct Histogram: Codable, Sendable, Equatable {
    /// `bins + 1` increasing bin edges.
    public var edges: [Double]
    /// `bins` counts.
    public var counts: [Int]
    /// Values below `edges.first`.
    public var below: Int
    /// Values above `edges.last`.
    public var above: Int
    /// NaN values.
    public var nonFinite: Int

    /// An empty histogram of `bins` bins over `[lower, upper]` (`lower < upper`, `bins >= 1`).
    public init(lower: Double, upper: Double, bins: Int) {
        precondition(bins >= 1, "Histogram: bins must be >= 1, got \(bins)")
        precondition(lower < upper, "Histogram: lower \(lower) must be below upper \(upper)")
        edges = (0...bins).map { lower + (upper - lower) * Double($0) / Double(bins) }
        counts = [Int](repeating: 0, count: bins)
        below = 0
        above = 0
        nonFinite = 0
    }

    /// A histogram with the given edges and counts (`edges.count == counts.count + 1`).
    public init(edges: [Double], counts: [Int], below: Int = 0, above: Int = 0, nonFinite: Int = 0) {
        precondition(edges.count == counts.count + 1 && !counts.isEmpty,
                     "Histogram: \(edges.count) edges for \(counts.count) counts")
        self.edges = edges
        self.counts = counts
        self.below = below
        self.above = above
        self.nonFinite = nonFinite
    }

    /// The histogram of `values` over `[lower, upper]`.
    public init<S: Sequence>(_ values: S, lower: Double, upper: Double, bins: Int) where S.Element: BinaryFloatingPoint {
        self.init(lower: lower, upper: upper, bins: bins)
        for v in values { add(Double(v)) }
    }

    /// The histogram of the finite `values` over their own range (`[min, max]`, widened to
    /// a unit interval around a single value; `[0, 1]` when there is no finite value).
    public static func spanning<S: Sequence>(_ values: S, bins: Int) -> Histogram where S.Element: BinaryFloatingPoint {
        let finite = values.map(Double.init).filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if !(lo < hi) { lo -= 0.5; hi += 0.5 }
        return Histogram(values.map(Double.init), lower: lo, upper: hi, bins: bins)
    }

    public var bins: Int { counts.count }
    public var lower: Double { edges[0] }
    public var upper: Double { edges[edges.count - 1] }
    /// Values counted in the bins (not below, above or NaN).
    public var inRange: Int { counts.reduce(0, +) }
    /// Every value added.
    public var total: Int { inRange + below + above + nonFinite }

    /// The bin of `v`, or nil when `v` is outside `[lower, upper]` or NaN.
    public func bin(of v: Double) -> Int? {
        guard !v.isNaN, v >= lower, v <= upper else { return nil }
        let i = Int(((v - lower) / (upper - lower) * Double(bins)).rounded(.down))
        var b = min(max(i, 0), bins - 1)
        // Make the bin agree with the stored edges whatever the rounding above.
        while b > 0 && v < edges[b] { b -= 1 }
        while b < bins - 1 && v >= edges[b + 1] { b += 1 }
        return b
    }

    /// Counts one value.
    public mutating func add(_ v: Double) {
        if v.isNaN { nonFinite += 1; return }
        if let b = bin(of: v) { counts[b] += 1 } else if v < lower { below += 1 } else { above += 1 }
    }
}
