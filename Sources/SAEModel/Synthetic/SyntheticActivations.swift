import Foundation
import SAEKernels

/// Activations with planted ground truth: sparse combinations of known feature directions,
/// in superposition, for testing whether an SAE recovers them (see `FeatureRecovery`).
///
/// `nTrue` unit-norm directions `F` (`features`, `nTrue x dIn`, rows drawn uniformly on the
/// sphere; `nTrue > dIn` puts them in superposition) fire independently: in every row,
/// feature `i` is active with probability `p_i` (`probabilities`), following a power law
///
///     p_i = clamp(c · (i + 1)^(-α), minProbability, maxProbability),
///
/// with `c` solved (bisection) so that `Σ p_i = targetL0`, the expected number of active
/// features per row. Feature 0 is the most frequent; the clamp to `minProbability` keeps a
/// tail of ultra-rare features. An active feature's magnitude `a` is drawn from
/// `magnitude`, and a row is
///
///     x = Σ_{i active} a_i F_i + ε,   ε ~ N(0, noiseStd² I).
///
/// Sampling costs O(active features + nTrue) per batch, not O(rows x nTrue): each feature
/// skips straight to the next row where it fires (the gap is geometric,
/// `⌊ln U / ln(1 - p_i)⌋`), and rows are accumulated by the sparse decode kernel
/// (`x[r] += a · F_i` for the active pairs). Each feature draws from its own seeded stream
/// and the noise of row `r` from a stream of its own, so the rows depend only on `seed` and
/// their index: not on how the rows are split into batches, nor on the thread count.
public struct SyntheticActivations: ActivationSource, Sendable {
    /// How an active feature's magnitude is drawn.
    public enum Magnitude: Sendable, Equatable {
        /// Always `value`.
        case constant(Float)
        /// `|N(mean, std²)|`.
        case foldedNormal(mean: Float, std: Float)
        /// Exponential with the given mean.
        case exponential(mean: Float)
    }

    /// The generator's parameters.
    public struct Configuration: Sendable, Equatable {
        /// Width of each row (`d`).
        public var dIn: Int
        /// Number of planted features.
        public var nTrue: Int
        /// Expected number of active features per row, `Σ p_i`.
        public var targetL0: Double
        /// Power-law exponent α of the firing probabilities.
        public var powerLawExponent: Double
        /// Lower clamp on `p_i` (the ultra-rare tail).
        public var minProbability: Double
        /// Upper clamp on `p_i`.
        public var maxProbability: Double
        public var magnitude: Magnitude
        /// Standard deviation of the isotropic Gaussian noise added to every element.
        public var noiseStd: Float
        /// Total rows the source yields before `fill` returns 0; nil for no limit.
        public var rowLimit: Int?
        public var seed: UInt64

        public init(dIn: Int, nTrue: Int, targetL0: Double, powerLawExponent: Double = 1,
                    minProbability: Double = 1e-5, maxProbability: Double = 0.5,
                    magnitude: Magnitude = .foldedNormal(mean: 1, std: 0.25), noiseStd: Float = 0,
                    rowLimit: Int? = nil, seed: UInt64 = 0) {
            self.dIn = dIn
            self.nTrue = nTrue
            self.targetL0 = targetL0
            self.powerLawExponent = powerLawExponent
            self.minProbability = minProbability
            self.maxProbability = maxProbability
            self.magnitude = magnitude
            self.noiseStd = noiseStd
            self.rowLimit = rowLimit
            self.seed = seed
        }
    }

    public let configuration: Configuration
    /// Width of each row.
    public let dIn: Int
    /// Number of planted features.
    public var nTrue: Int { configuration.nTrue }
    /// The planted directions, `nTrue x dIn`, unit-norm rows.
    public let features: Matrix
    /// Firing probability of each feature (decreasing in the feature index).
    public let probabilities: [Float]
    /// `Σ p_i`: the expected number of active features per row (the target L0 unless the
    /// clamps made it unreachable, which `init` rejects).
    public let expectedL0: Double
    /// Rows produced so far (the global index of the next row).
    public private(set) var rowsProduced: Int = 0

    /// Per feature: the global index of the next row where it fires.
    private var nextFire: [Int]
    /// Per feature: its random stream (gaps and magnitudes).
    private var streams: [SeededRandom]
    private let probabilitiesDouble: [Double]

    public init(_ configuration: Configuration) {
        let c = configuration
        precondition(c.dIn > 0 && c.nTrue > 0, "SyntheticActivations: dIn \(c.dIn) and nTrue \(c.nTrue) must be positive")
        precondition(0 < c.minProbability && c.minProbability <= c.maxProbability && c.maxProbability <= 1,
                     "SyntheticActivations: need 0 < minProbability <= maxProbability <= 1")
        precondition(Double(c.nTrue) * c.minProbability <= c.targetL0 && c.targetL0 <= Double(c.nTrue) * c.maxProbability,
                     "SyntheticActivations: targetL0 \(c.targetL0) is outside the reachable [\(Double(c.nTrue) * c.minProbability), \(Double(c.nTrue) * c.maxProbability)]")
        precondition(c.noiseStd >= 0, "SyntheticActivations: noiseStd must be >= 0")
        self.configuration = c
        dIn = c.dIn

        let p = Self.powerLawProbabilities(n: c.nTrue, alpha: c.powerLawExponent, targetSum: c.targetL0,
                                           minP: c.minProbability, maxP: c.maxProbability)
        probabilitiesDouble = p
        probabilities = p.map { Float($0) }
        expectedL0 = p.reduce(0, +)

        // Directions: Gaussian rows, normalised (uniform on the sphere).
        var rng = SeededRandom.stream(seed: c.seed, index: UInt64.max)
        var f = Matrix(rows: c.nTrue, cols: c.dIn)
        f.withUnsafeMutableBufferPointer { w in
            for r in 0..<c.nTrue {
                var ss: Double = 0
                repeat {
                    ss = 0
                    for i in 0..<c.dIn {
                        let v = rng.normal()
                        w[r * c.dIn + i] = v
                        ss += Double(v) * Double(v)
                    }
                } while ss == 0
                let inv = Float(1 / ss.squareRoot())
                for i in 0..<c.dIn { w[r * c.dIn + i] *= inv }
            }
        }
        features = f

        streams = (0..<c.nTrue).map { SeededRandom.stream(seed: c.seed, index: UInt64($0)) }
        nextFire = [Int](repeating: 0, count: c.nTrue)
        for i in 0..<c.nTrue { nextFire[i] = Self.gap(p[i], &streams[i]) }
    }

    /// Starts the stream again from row 0.
    public mutating func reset() { self = SyntheticActivations(configuration) }

    /// Writes up to `maxRows` rows into `buffer` (`dIn` Floats each); 0 once `rowLimit`
    /// rows have been produced.
    public mutating func fill(_ buffer: UnsafeMutablePointer<Float>, maxRows: Int) throws -> Int {
        let rows = min(maxRows, remainingRows)
        if rows <= 0 { return 0 }
        _ = generate(rows: rows, into: buffer, threads: Parallel.defaultThreads)
        return rows
    }

    /// The next `rows` rows (`rows x dIn`; fewer if `rowLimit` is reached) and their ground
    /// truth: `codes` holds, per row, the active features (increasing) and their magnitudes,
    /// so `activations = codes · features + noise`.
    public mutating func next(rows: Int, threads: Int = Parallel.defaultThreads)
        -> (activations: Matrix, codes: SparseCodes) {
        let n = max(0, min(rows, remainingRows))
        var x = Matrix(rows: n, cols: dIn)
        var codes = SparseCodes(rows: 0, width: nTrue, offsets: [0], indices: [], values: [])
        if n > 0 {
            x.withUnsafeMutableBufferPointer { xp in codes = generate(rows: n, into: xp.baseAddress!, threads: threads) }
        }
        return (x, codes)
    }

    private var remainingRows: Int {
        configuration.rowLimit.map { max(0, $0 - rowsProduced) } ?? Int.max
    }

    // MARK: - Sampling

    /// Advances the stream by `rows` rows (fewer if `rowLimit` is reached) without building
    /// them: only which features fire and their magnitudes are drawn (O(active features)),
    /// so resuming at row `n` costs far less than generating `n` rows. The rows that follow
    /// are the same as if the skipped rows had been produced.
    public mutating func skip(rows: Int, threads: Int = Parallel.defaultThreads) {
        var left = max(0, min(rows, remainingRows))
        while left > 0 {
            let n = min(left, 1 << 16)
            _ = sampleCodes(rows: n, threads: threads)
            left -= n
        }
    }

    /// Rows `rowsProduced ..< rowsProduced + rows` into `out`; returns their codes.
    private mutating func generate(rows: Int, into out: UnsafeMutablePointer<Float>, threads: Int) -> SparseCodes {
        let r0 = rowsProduced
        let codes = sampleCodes(rows: rows, threads: threads)
        features.withUnsafeBufferPointer { f in
            SparseDecode.decode(codes, weights: f.baseAddress!, d: dIn, bias: nil, out: out, threads: threads)
        }
        let std = configuration.noiseStd
        if std > 0 {
            let seed = configuration.seed ^ 0x6E6F_6973_655F_7374  // "noise_st"
            let d = dIn
            Parallel.forRanges(rows, threads: rows * d < 1 << 14 ? 1 : threads) { range in
                for r in range {
                    var rng = SeededRandom.stream(seed: seed, index: UInt64(r0 + r))
                    let row = out + r * d
                    for i in 0..<d { row[i] += std * rng.normal() }
                }
            }
        }
        return codes
    }

    /// Which features fire in the next `rows` rows, with their magnitudes; advances
    /// `rowsProduced`.
    private mutating func sampleCodes(rows: Int, threads: Int) -> SparseCodes {
        let r0 = rowsProduced, r1 = r0 + rows
        let n = nTrue
        let magnitude = configuration.magnitude
        let parts = max(1, min(threads, n / 256))
        // Each part walks its features in increasing order and records (row, feature, value).
        var partRows = [[Int32]](repeating: [], count: parts)
        var partFeatures = [[Int32]](repeating: [], count: parts)
        var partValues = [[Float]](repeating: [], count: parts)
        probabilitiesDouble.withUnsafeBufferPointer { pp in
            nextFire.withUnsafeMutableBufferPointer { nf in streams.withUnsafeMutableBufferPointer { st in
                partRows.withUnsafeMutableBufferPointer { pr in partFeatures.withUnsafeMutableBufferPointer { pf in
                    partValues.withUnsafeMutableBufferPointer { pv in
                        Parallel.run(parts: parts) { part in
                            var rowsOut: [Int32] = [], featuresOut: [Int32] = [], valuesOut: [Float] = []
                            for i in (n * part / parts)..<(n * (part + 1) / parts) {
                                while nf[i] < r1 {
                                    rowsOut.append(Int32(nf[i] - r0))
                                    featuresOut.append(Int32(i))
                                    valuesOut.append(Self.draw(magnitude, &st[i]))
                                    let g = Self.gap(pp[i], &st[i])
                                    nf[i] = g >= Int.max - nf[i] ? Int.max : nf[i] + 1 + g
                                }
                            }
                            pr[part] = rowsOut; pf[part] = featuresOut; pv[part] = valuesOut
                        }
                    }
                }}
            }}
        }

        // Counting sort by row; parts in order keep each row's features increasing.
        var offsets = [Int](repeating: 0, count: rows + 1)
        for part in 0..<parts { for r in partRows[part] { offsets[Int(r) + 1] += 1 } }
        for r in 0..<rows { offsets[r + 1] += offsets[r] }
        let total = offsets[rows]
        var next = offsets
        var indices = [Int32](repeating: 0, count: total)
        var values = [Float](repeating: 0, count: total)
        for part in 0..<parts {
            let pr = partRows[part], pf = partFeatures[part], pv = partValues[part]
            for e in 0..<pr.count {
                let r = Int(pr[e])
                indices[next[r]] = pf[e]
                values[next[r]] = pv[e]
                next[r] += 1
            }
        }
        rowsProduced = r1
        return SparseCodes(rows: rows, width: n, offsets: offsets, indices: indices, values: values)
    }

    /// Rows skipped before the next firing: `⌊ln U / ln(1 - p)⌋`, U uniform in (0, 1]
    /// (geometric, number of failures before the first success).
    static func gap(_ p: Double, _ rng: inout SeededRandom) -> Int {
        if p >= 1 { return 0 }
        if p <= 0 { return Int.max / 2 }
        let u = (Double(rng.next() >> 11) + 1) * 0x1p-53
        let g = (Foundation.log(u) / Foundation.log1p(-p)).rounded(.down)
        return g >= Double(Int.max / 4) ? Int.max / 4 : Int(g)
    }

    static func draw(_ m: Magnitude, _ rng: inout SeededRandom) -> Float {
        switch m {
        case let .constant(v): return v
        case let .foldedNormal(mean, std): return abs(rng.normal(mean: mean, std: std))
        case let .exponential(mean):
            let u = (Double(rng.next() >> 11) + 1) * 0x1p-53
            return Float(-Foundation.log(u)) * mean
        }
    }

    /// `p_i = clamp(c (i+1)^-α, minP, maxP)` with `c` found by bisection on `ln c` so that
    /// `Σ p_i = targetSum` (the sum is continuous and non-decreasing in `c`).
    static func powerLawProbabilities(n: Int, alpha: Double, targetSum: Double, minP: Double, maxP: Double) -> [Double] {
        let base = (0..<n).map { Foundation.pow(Double($0 + 1), -alpha) }
        func probs(_ c: Double) -> [Double] { base.map { min(maxP, max(minP, c * $0)) } }
        func sum(_ c: Double) -> Double { base.reduce(0) { $0 + min(maxP, max(minP, c * $1)) } }
        var lo = -200.0, hi = 200.0  // ln c
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if sum(Foundation.exp(mid)) < targetSum { lo = mid } else { hi = mid }
        }
        return probs(Foundation.exp((lo + hi) / 2))
    }
}
