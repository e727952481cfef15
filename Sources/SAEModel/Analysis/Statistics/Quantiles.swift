/// Order statistics of a list of values (NaN ignored).
package enum Quantiles {
    /// The `q`-quantile (`0...1`) of the non-NaN `values`, by linear interpolation between
    /// the order statistics (`numpy.quantile`'s default); NaN when there are none.
    package static func quantile<S: Sequence>(_ values: S, _ q: Double) -> Double where S.Element: BinaryFloatingPoint {
        let sorted = values.map(Double.init).filter { !$0.isNaN }.sorted()
        return quantile(sorted: sorted, q)
    }

    /// The `q`-quantile of already sorted values.
    package static func quantile(sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = min(max(q, 0), 1) * Double(sorted.count - 1)
        let i = Int(position.rounded(.down))
        let frac = position - Double(i)
        return i + 1 < sorted.count ? sorted[i] + (sorted[i + 1] - sorted[i]) * frac : sorted[i]
    }

    /// The median of the non-NaN values (NaN when there are none).
    package static func median<S: Sequence>(_ values: S) -> Double where S.Element: BinaryFloatingPoint {
        quantile(values, 0.5)
    }

    /// The mean of the non-NaN values, summed in Double (NaN when there are none).
    package static func mean<S: Sequence>(_ values: S) -> Double where S.Element: BinaryFloatingPoint {
        var s = 0.0, n = 0
        for v in values where !v.isNaN { s += Double(v); n += 1 }
        return n == 0 ? .nan : s / Double(n)
    }
}
