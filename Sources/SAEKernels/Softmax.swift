import Foundation

/// Row-wise softmax and log-sum-exp over row-major matrices (the last dimension
/// contiguous), numerically stable by subtracting the row maximum.
///
/// Rows are split over threads; every row is computed the same way whatever the thread
/// count, so results are bitwise reproducible.
public enum Softmax {
    /// In place, per row `r` of `x` (`[rows, n]`, row-major), with valid length
    /// `L = validLengths?[r] ?? n` (`0 <= L <= n`):
    /// `x[r, j] = e^(x[r, j] - m) / sum_{k < L} e^(x[r, k] - m)` for `j < L`, with
    /// `m = max_{k < L} x[r, k]`, and `x[r, j] = 0` for `j >= L` (causal masking: row `i`
    /// of an attention pattern has valid length `i + 1`). A row with `L = 0` becomes all
    /// zeros; a valid part that is all `-inf` gives NaN, as in PyTorch.
    ///
    /// The sum is accumulated in Float over 32 lanes (four eight-wide accumulators) and
    /// combined in a fixed order; the exponentials use `SIMDMath.exp`.
    public static func forwardInPlace(
        _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
        validLengths: UnsafePointer<Int>? = nil, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && n >= 0, "Softmax.forwardInPlace: negative shape \(rows)x\(n)")
        precondition(threads >= 1, "Softmax.forwardInPlace: threads must be >= 1, got \(threads)")
        if let lengths = validLengths {
            for r in 0..<rows {
                precondition(lengths[r] >= 0 && lengths[r] <= n,
                             "Softmax.forwardInPlace: valid length \(lengths[r]) of row \(r) outside 0...\(n)")
            }
        }
        let parts = SIMDMath.parts(work: rows * n, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range {
                let row = x + r * n
                let length = validLengths?[r] ?? n
                softmaxRow(row, length)
                if length < n { (row + length).update(repeating: 0, count: n - length) }
            }
        }
    }

    /// `output[r] = log(sum_j e^(x[r, j]))` for each row of `x` (`[rows, n]`, row-major,
    /// `n >= 1`), computed as `m + log(sum_j e^(x[r, j] - m))` with `m` the row maximum.
    ///
    /// Accumulation: `e^(x - m)` in Float over 32 lanes within blocks of 256 elements; each
    /// block's sum is added in Double, and `m + log(sum)` is formed in Double, so the
    /// result is accurate to a few Float ulp for any vocabulary size. `-inf` entries add
    /// nothing; a row that is all `-inf` or holds `+inf` or NaN gives NaN.
    public static func logSumExp(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, output: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && n >= 1, "Softmax.logSumExp: bad shape \(rows)x\(n)")
        precondition(threads >= 1, "Softmax.logSumExp: threads must be >= 1, got \(threads)")
        let parts = SIMDMath.parts(work: rows * n, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range {
                let (m, sum) = maxAndSumOfExp(x + r * n, n)
                output[r] = Float(Double(m) + Foundation.log(sum))
            }
        }
    }

    /// Cross-entropy of next-token logits: for each row `r` of `logits` (`[rows, vocab]`,
    /// row-major), `loss[r] = logsumexp(logits[r, :]) - logits[r, targets[r]]`, that is
    /// `-log softmax(logits[r])[targets[r]]` (`0 <= targets[r] < vocab`).
    ///
    /// Formed in Double as `(m - logits[r, t]) + log(sum_j e^(logits[r, j] - m))`, with the
    /// sum accumulated as in `logSumExp`. Mean over rows is left to the caller.
    public static func crossEntropy(
        logits: UnsafePointer<Float>, rows: Int, vocab: Int, targets: UnsafePointer<Int32>,
        loss: UnsafeMutablePointer<Float>, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && vocab >= 1, "Softmax.crossEntropy: bad shape \(rows)x\(vocab)")
        precondition(threads >= 1, "Softmax.crossEntropy: threads must be >= 1, got \(threads)")
        for r in 0..<rows {
            precondition(targets[r] >= 0 && Int(targets[r]) < vocab,
                         "Softmax.crossEntropy: target \(targets[r]) of row \(r) outside 0..<\(vocab)")
        }
        let parts = SIMDMath.parts(work: rows * vocab, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range {
                let row = logits + r * vocab
                let (m, sum) = maxAndSumOfExp(row, vocab)
                loss[r] = Float((Double(m) - Double(row[Int(targets[r])])) + Foundation.log(sum))
            }
        }
    }

    // MARK: - Implementation

    /// Maximum of `x[0..<n]` (`n >= 1` gives a value; `n == 0` gives `-inf`).
    @inline(__always)
    static func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let ninf = SIMD8<Float>(repeating: -.infinity)
        var m0 = ninf, m1 = ninf
        var j = 0
        while j + 16 <= n {
            let v0 = SIMDMath.load(x + j), v1 = SIMDMath.load(x + j + 8)
            m0.replace(with: v0, where: v0 .> m0); m1.replace(with: v1, where: v1 .> m1)
            j += 16
        }
        while j + 8 <= n {
            let v = SIMDMath.load(x + j)
            m0.replace(with: v, where: v .> m0)
            j += 8
        }
        if j < n {
            let v = SIMDMath.loadPartial(x + j, n - j, fill: -.infinity)
            m1.replace(with: v, where: v .> m1)
        }
        m0.replace(with: m1, where: m1 .> m0)
        return SIMDMath.horizontalMax(m0)
    }

    /// `x[j] = softmax(x[0..<n])[j]` in place.
    @inline(__always)
    static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        let m = SIMD8<Float>(repeating: rowMax(x, n))
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var j = 0
        while j + 32 <= n {
            let e0 = SIMDMath.expKernel(SIMDMath.load(x + j) - m)
            let e1 = SIMDMath.expKernel(SIMDMath.load(x + j + 8) - m)
            let e2 = SIMDMath.expKernel(SIMDMath.load(x + j + 16) - m)
            let e3 = SIMDMath.expKernel(SIMDMath.load(x + j + 24) - m)
            SIMDMath.store(e0, x + j); SIMDMath.store(e1, x + j + 8)
            SIMDMath.store(e2, x + j + 16); SIMDMath.store(e3, x + j + 24)
            s0 += e0; s1 += e1; s2 += e2; s3 += e3
            j += 32
        }
        while j + 8 <= n {
            let e = SIMDMath.expKernel(SIMDMath.load(x + j) - m)
            SIMDMath.store(e, x + j)
            s0 += e
            j += 8
        }
        if j < n {
            let e = SIMDMath.expKernel(SIMDMath.loadPartial(x + j, n - j, fill: -.infinity) - m)
            SIMDMath.storePartial(e, x + j, n - j)
            s1 += e
        }
        let inverse = SIMD8<Float>(repeating: 1 / SIMDMath.horizontalSum((s0 + s1) + (s2 + s3)))
        j = 0
        while j + 8 <= n {
            SIMDMath.store(SIMDMath.load(x + j) * inverse, x + j)
            j += 8
        }
        if j < n { SIMDMath.storePartial(SIMDMath.loadPartial(x + j, n - j) * inverse, x + j, n - j) }
    }

    /// The row maximum `m` and `sum_j e^(x[j] - m)`: Float lanes within 256-element blocks,
    /// block sums added in Double.
    @inline(__always)
    static func maxAndSumOfExp(_ x: UnsafePointer<Float>, _ n: Int) -> (Float, Double) {
        let mScalar = rowMax(x, n)
        let m = SIMD8<Float>(repeating: mScalar)
        var total = 0.0
        var block = 0
        while block < n {
            let end = min(n, block + 256)
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            var j = block
            while j + 32 <= end {
                s0 += SIMDMath.expKernel(SIMDMath.load(x + j) - m)
                s1 += SIMDMath.expKernel(SIMDMath.load(x + j + 8) - m)
                s2 += SIMDMath.expKernel(SIMDMath.load(x + j + 16) - m)
                s3 += SIMDMath.expKernel(SIMDMath.load(x + j + 24) - m)
                j += 32
            }
            while j + 8 <= end {
                s0 += SIMDMath.expKernel(SIMDMath.load(x + j) - m)
                j += 8
            }
            if j < end { s1 += SIMDMath.expKernel(SIMDMath.loadPartial(x + j, end - j, fill: -.infinity) - m) }
            total += Double(SIMDMath.horizontalSum((s0 + s1) + (s2 + s3)))
            block = end
        }
        return (mScalar, total)
    }
}
