import SAEKernels

/// The excess kurtosis of each decoder row's entries, against Gaussian random rows.
///
/// For a row `d` of `n` entries with mean `μ = Σ d_i / n`,
/// `m2 = Σ (d_i - μ)² / n`, `m4 = Σ (d_i - μ)⁴ / n`: `kurtosis = m4 / m2² - 3` (0 for a
/// Gaussian; large when a few entries dominate — a basis-aligned row). NaN for a constant
/// row. The baseline applies the same statistic to `baselineRows` rows of `n` independent
/// standard normal entries drawn from `SeededRandom(seed:)`.
public struct DecoderKurtosisResult: Codable, Sendable, Equatable {
    public var kurtosis: [Double]
    public var baseline: [Double]
    public var seed: UInt64
    public var median: Double
    public var baselineMedian: Double
    /// Both distributions in the same bins.
    public var histogram: Histogram
    public var baselineHistogram: Histogram
}

public enum DecoderKurtosis {
    /// `m4 / m2² - 3` of `values`, in Double.
    public static func excessKurtosis<C: Collection>(_ values: C) -> Double where C.Element: BinaryFloatingPoint {
        let n = Double(values.count)
        guard n > 0 else { return .nan }
        var mean = 0.0
        for v in values { mean += Double(v) }
        mean /= n
        var m2 = 0.0, m4 = 0.0
        for v in values {
            let c = Double(v) - mean, c2 = c * c
            m2 += c2; m4 += c2 * c2
        }
        m2 /= n; m4 /= n
        return m2 > 0 ? m4 / (m2 * m2) - 3 : .nan
    }

    public static func measure(_ sae: SparseAutoencoder, baselineRows: Int? = nil, seed: UInt64 = 0,
                               bins: Int = 50) -> DecoderKurtosisResult {
        measure(decoder: sae.wDec, baselineRows: baselineRows, seed: seed, bins: bins)
    }

    /// For the rows of `decoder`; `baselineRows` defaults to the number of rows, at most 4096.
    public static func measure(decoder: Matrix, baselineRows: Int? = nil, seed: UInt64 = 0,
                               bins: Int = 50) -> DecoderKurtosisResult {
        let n = decoder.cols
        let k: [Double] = decoder.withUnsafeBufferPointer { w in
            (0..<decoder.rows).map { excessKurtosis(w[($0 * n)..<(($0 + 1) * n)]) }
        }
        var rng = SeededRandom(seed: seed)
        let baseRows = baselineRows ?? min(decoder.rows, 4096)
        var row = [Float](repeating: 0, count: n)
        let base: [Double] = (0..<baseRows).map { _ in
            for i in 0..<n { row[i] = rng.normal() }
            return excessKurtosis(row)
        }
        // Shared bins from the smallest value to the 99th percentile of both (the long tail
        // of basis-aligned rows lands in `above`).
        let all = (k + base).filter(\.isFinite)
        let lo = min(all.min() ?? -1, -0.5)
        var hi = max(Quantiles.quantile(all, 0.99), 1)
        if !(hi > lo) { hi = lo + 1 }
        return DecoderKurtosisResult(kurtosis: k, baseline: base, seed: seed, median: Quantiles.median(k),
                                     baselineMedian: Quantiles.median(base),
                                     histogram: Histogram(k, lower: lo, upper: hi, bins: bins),
                                     baselineHistogram: Histogram(base, lower: lo, upper: hi, bins: bins))
    }
}
