/// Row and column reductions for SAE metrics: row norms, L0 / L1 sparsity, feature fire
/// counts, and the sums behind MSE and explained variance.
///
/// Determinism: rows (or columns, for fire counts) are split over threads, but every
/// output is computed by one thread in a fixed order, and `reconstructionStatistics`
/// reduces fixed 256-row chunks in chunk order, so results are bitwise identical for any
/// thread count.
///
/// Floating-point sums over a row use eight-wide Float lanes (32 partial sums) within
/// blocks of 256 elements, and add the block sums in Double: the error stays near one
/// Float rounding for rows of any length.
public enum Reductions {
    /// `norms[r] = sqrt(sum_j x[r, j]^2)` for each row of `x` (`[rows, d]`, row-major).
    public static func rowL2Norms(
        _ x: UnsafePointer<Float>, rows: Int, d: Int, norms: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "Reductions.rowL2Norms: negative shape \(rows)x\(d)")
        precondition(threads >= 1, "Reductions.rowL2Norms: threads must be >= 1, got \(threads)")
        Parallel.forRanges(rows, threads: SIMDMath.parts(work: rows * d, threads: threads)) { range in
            for r in range { norms[r] = Float(blockSum(x + r * d, d) { $0 * $0 }.squareRoot()) }
        }
    }

    /// `counts[r] = #{ j : x[r, j] != 0 }` (the L0 "norm") for each row of `x`
    /// (`[rows, n]`, row-major). `-0` counts as zero, NaN as nonzero.
    public static func rowL0(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, counts: UnsafeMutablePointer<Int>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && n >= 0, "Reductions.rowL0: negative shape \(rows)x\(n)")
        precondition(threads >= 1, "Reductions.rowL0: threads must be >= 1, got \(threads)")
        Parallel.forRanges(rows, threads: SIMDMath.parts(work: rows * n, threads: threads)) { range in
            for r in range {
                let row = x + r * n
                var c0 = SIMD8<Int32>(), c1 = SIMD8<Int32>()
                var j = 0
                // Mask lanes are -1 where true; at most 2^31 / 8 vectors per accumulator.
                while j + 16 <= n {
                    c0 &-= unsafeBitCast(SIMDMath.load(row + j) .!= 0, to: SIMD8<Int32>.self)
                    c1 &-= unsafeBitCast(SIMDMath.load(row + j + 8) .!= 0, to: SIMD8<Int32>.self)
                    j += 16
                }
                while j + 8 <= n {
                    c0 &-= unsafeBitCast(SIMDMath.load(row + j) .!= 0, to: SIMD8<Int32>.self)
                    j += 8
                }
                if j < n { c1 &-= unsafeBitCast(SIMDMath.loadPartial(row + j, n - j) .!= 0, to: SIMD8<Int32>.self) }
                counts[r] = Int((c0 &+ c1).wrappedSum())
            }
        }
    }

    /// `sums[r] = sum_j |x[r, j]|` (the L1 norm) for each row of `x` (`[rows, n]`, row-major).
    public static func rowL1(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, sums: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && n >= 0, "Reductions.rowL1: negative shape \(rows)x\(n)")
        precondition(threads >= 1, "Reductions.rowL1: threads must be >= 1, got \(threads)")
        Parallel.forRanges(rows, threads: SIMDMath.parts(work: rows * n, threads: threads)) { range in
            for r in range { sums[r] = Float(blockSum(x + r * n, n) { SIMDMath.abs($0) }) }
        }
    }

    /// Feature fire counts from dense activations: `counts[j] += #{ r : x[r, j] != 0 }` for
    /// each column `j` of `x` (`[rows, n]`, row-major); `counts` has `n` entries and is
    /// added to, so it accumulates over batches. Columns are split over threads.
    public static func addFireCounts(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, counts: UnsafeMutablePointer<Int>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && n >= 0, "Reductions.addFireCounts: negative shape \(rows)x\(n)")
        precondition(rows < Int(Int32.max), "Reductions.addFireCounts: too many rows \(rows)")
        precondition(threads >= 1, "Reductions.addFireCounts: threads must be >= 1, got \(threads)")
        let block = 256
        Parallel.forRanges(n, threads: SIMDMath.parts(work: rows * n, threads: threads), granule: block) { columns in
            // Column blocks of 256: 32 vector counters stay in L1 while all rows stream by.
            let local = UnsafeMutablePointer<SIMD8<Int32>>.allocate(capacity: block / 8)
            defer { local.deallocate() }
            var c0 = columns.lowerBound
            while c0 < columns.upperBound {
                let width = min(block, columns.upperBound - c0)
                let vectors = width / 8, tail = width % 8
                local.initialize(repeating: SIMD8<Int32>(), count: (width + 7) / 8)
                for r in 0..<rows {
                    let row = x + r * n + c0
                    for k in 0..<vectors {
                        local[k] &-= unsafeBitCast(SIMDMath.load(row + 8 * k) .!= 0, to: SIMD8<Int32>.self)
                    }
                    if tail > 0 {
                        local[vectors] &-= unsafeBitCast(SIMDMath.loadPartial(row + 8 * vectors, tail) .!= 0,
                                                         to: SIMD8<Int32>.self)
                    }
                }
                for j in 0..<width { counts[c0 + j] += Int(local[j / 8][j % 8]) }
                c0 += width
            }
        }
    }

    /// Feature fire counts from sparse activations in CSR form: row `r` lists features
    /// `indices[k]` with values `values[k]` for `k` in `rowOffsets[r]..<rowOffsets[r + 1]`
    /// (`rowOffsets` has `rows + 1` nondecreasing entries). `counts[indices[k]] += 1` for
    /// each listed entry whose value is nonzero (all entries when `values` is nil). Each
    /// feature should appear at most once per row. `counts` has `features` entries.
    public static func addFireCounts(
        indices: UnsafePointer<Int32>, values: UnsafePointer<Float>?, rowOffsets: UnsafePointer<Int>,
        rows: Int, features: Int, counts: UnsafeMutablePointer<Int>
    ) {
        precondition(rows >= 0 && features >= 0, "Reductions.addFireCounts: negative shape \(rows)x\(features)")
        for r in 0..<rows {
            let lo = rowOffsets[r], hi = rowOffsets[r + 1]
            precondition(lo >= 0 && lo <= hi, "Reductions.addFireCounts: row offsets \(lo), \(hi) of row \(r)")
            for k in lo..<hi {
                let f = Int(indices[k])
                precondition(f >= 0 && f < features,
                             "Reductions.addFireCounts: feature \(f) of row \(r) outside 0..<\(features)")
                if values?[k] ?? 1 != 0 { counts[f] += 1 }
            }
        }
    }

    /// The sums behind MSE and explained variance of a reconstruction `xHat` of `x`
    /// (both `[rows, d]`, row-major), in Double; see `ReconstructionStatistics`.
    ///
    /// Rows are processed in fixed chunks of 256; each chunk's partial sums are computed by
    /// one thread and the chunks are added in order, so the result does not depend on the
    /// thread count.
    public static func reconstructionStatistics(
        _ x: UnsafePointer<Float>, _ xHat: UnsafePointer<Float>, rows: Int, d: Int,
        threads: Int = Parallel.defaultThreads
    ) -> ReconstructionStatistics {
        precondition(rows >= 0 && d >= 0, "Reductions.reconstructionStatistics: negative shape \(rows)x\(d)")
        precondition(threads >= 1, "Reductions.reconstructionStatistics: threads must be >= 1, got \(threads)")
        var result = ReconstructionStatistics(d: d)
        let chunk = 256
        let chunks = (rows + chunk - 1) / chunk
        guard chunks > 0 else { return result }
        let squaredError = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
        let squaredX = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
        let columnSums = UnsafeMutablePointer<Double>.allocate(capacity: chunks * max(d, 1))
        defer { squaredError.deallocate(); squaredX.deallocate(); columnSums.deallocate() }
        columnSums.initialize(repeating: 0, count: chunks * max(d, 1))
        Parallel.forRanges(chunks, threads: SIMDMath.parts(work: rows * d, threads: threads)) { range in
            for c in range {
                var sse = 0.0, sxx = 0.0
                let sums = columnSums + c * d
                for r in (c * chunk)..<min(rows, (c + 1) * chunk) {
                    let xr = x + r * d, hr = xHat + r * d
                    sse += blockSum2(xr, hr, d) { a, b in (a - b) * (a - b) }
                    // x^2 and the column sums in Double: the total sum of squares is
                    // sumSquaredX - sum_j sumX[j]^2 / rows, which cancels when |mean| >> std.
                    var rowSquares = 0.0
                    for j in 0..<d {
                        let v = Double(xr[j])
                        sums[j] += v
                        rowSquares += v * v
                    }
                    sxx += rowSquares
                }
                squaredError[c] = sse
                squaredX[c] = sxx
            }
        }
        for c in 0..<chunks {
            result.sumSquaredError += squaredError[c]
            result.sumSquaredX += squaredX[c]
            let sums = columnSums + c * d
            for j in 0..<d { result.sumX[j] += sums[j] }
        }
        result.rows = rows
        return result
    }

    // MARK: - Implementation

    /// `sum_j f(x[j])` over `n` Floats: Float lanes within 256-element blocks (zero-padded
    /// tail, so `f(0)` must be 0), block sums added in Double.
    @inline(__always)
    static func blockSum(_ x: UnsafePointer<Float>, _ n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> Double {
        blockSum2(x, x, n) { a, _ in f(a) }
    }

    /// `sum_j f(a[j], b[j])`, accumulated as in `blockSum` (`f(0, 0)` must be 0).
    @inline(__always)
    static func blockSum2(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int,
        _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>
    ) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + 256)
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            var j = start
            while j + 32 <= end {
                s0 += f(SIMDMath.load(a + j), SIMDMath.load(b + j))
                s1 += f(SIMDMath.load(a + j + 8), SIMDMath.load(b + j + 8))
                s2 += f(SIMDMath.load(a + j + 16), SIMDMath.load(b + j + 16))
                s3 += f(SIMDMath.load(a + j + 24), SIMDMath.load(b + j + 24))
                j += 32
            }
            while j + 8 <= end {
                s0 += f(SIMDMath.load(a + j), SIMDMath.load(b + j))
                j += 8
            }
            if j < end { s1 += f(SIMDMath.loadPartial(a + j, end - j), SIMDMath.loadPartial(b + j, end - j)) }
            total += Double(SIMDMath.horizontalSum((s0 + s1) + (s2 + s3)))
            start = end
        }
        return total
    }
}

/// Mergeable sums for the reconstruction metrics of an SAE over any number of batches.
///
/// For inputs `x` and reconstructions `xHat` (`[rows, d]`) seen so far:
/// - `meanSquaredError = sumSquaredError / (rows * d)`, with
///   `sumSquaredError = sum_{r,j} (x[r, j] - xHat[r, j])^2`;
/// - `explainedVariance = 1 - sumSquaredError / totalSumOfSquares`, with
///   `totalSumOfSquares = sum_r ||x[r] - mean||^2 = sumSquaredX - sum_j sumX[j]^2 / rows`,
///   `mean[j] = sumX[j] / rows` the per-dimension mean over all rows seen.
///
/// All sums are Doubles (`x^2` and `sumX` are accumulated from exact Double products, the
/// squared errors from Float blocks; see `Reductions`); `add` merges the statistics of
/// another batch (same `d`). The one-pass total sum of squares loses `log10(mean^2 / var)`
/// of Double's 16 digits, harmless for activations.
public struct ReconstructionStatistics: Sendable, Equatable {
    /// Rows seen.
    public var rows: Int
    /// Dimension of each row.
    public let d: Int
    /// `sum_{r,j} (x - xHat)^2`.
    public var sumSquaredError: Double
    /// `sum_{r,j} x^2`.
    public var sumSquaredX: Double
    /// `sumX[j] = sum_r x[r, j]`, `d` entries.
    public var sumX: [Double]

    /// Empty statistics for rows of dimension `d`.
    public init(d: Int) {
        precondition(d >= 0, "ReconstructionStatistics: negative d \(d)")
        self.rows = 0
        self.d = d
        sumSquaredError = 0
        sumSquaredX = 0
        sumX = [Double](repeating: 0, count: d)
    }

    /// Adds the sums of `other` (another batch, same `d`).
    public mutating func add(_ other: ReconstructionStatistics) {
        precondition(other.d == d, "ReconstructionStatistics.add: d \(other.d) != \(d)")
        rows += other.rows
        sumSquaredError += other.sumSquaredError
        sumSquaredX += other.sumSquaredX
        for j in 0..<d { sumX[j] += other.sumX[j] }
    }

    /// `sumSquaredError / (rows * d)`; NaN when empty.
    public var meanSquaredError: Double { sumSquaredError / Double(rows * d) }

    /// `sum_r ||x[r] - mean||^2 = sumSquaredX - sum_j sumX[j]^2 / rows` (clamped at 0).
    public var totalSumOfSquares: Double {
        guard rows > 0 else { return 0 }
        var centred = sumSquaredX
        for j in 0..<d { centred -= sumX[j] * sumX[j] / Double(rows) }
        return max(0, centred)
    }

    /// `1 - sumSquaredError / totalSumOfSquares` (NaN or -inf when the inputs have no variance).
    public var explainedVariance: Double { 1 - sumSquaredError / totalSumOfSquares }
}
