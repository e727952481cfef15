import Foundation

extension Reference {
    /// Naive twin of `Softmax.forwardInPlace`: per row of `x` (`[rows, n]`, row-major) with
    /// valid length `L = validLengths?[r] ?? n`, `m = max_{k<L} x`, then in Double
    /// `x[j] = exp(x[j] - m) / sum_{k<L} exp(x[k] - m)` for `j < L`, and `0` for `j >= L`.
    package static func softmaxInPlace(
        _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, validLengths: UnsafePointer<Int>? = nil
    ) {
        for r in 0..<rows {
            let row = x + r * n
            let length = validLengths?[r] ?? n
            var m = -Double.infinity
            for j in 0..<length { m = max(m, Double(row[j])) }
            var sum = 0.0
            for j in 0..<length { sum += Foundation.exp(Double(row[j]) - m) }
            for j in 0..<n { row[j] = j < length ? Float(Foundation.exp(Double(row[j]) - m) / sum) : 0 }
        }
    }

    /// Naive twin of `Softmax.logSumExp`: `output[r] = m + log(sum_j exp(x[r, j] - m))` in
    /// Double, `m` the row maximum; `x` is `[rows, n]` row-major.
    package static func logSumExp(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, output: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows { output[r] = Float(logSumExpDouble(x + r * n, n)) }
    }

    /// Naive twin of `Softmax.crossEntropy`: `loss[r] = logsumexp(logits[r, :]) -
    /// logits[r, targets[r]]` in Double; `logits` is `[rows, vocab]` row-major.
    package static func crossEntropy(
        logits: UnsafePointer<Float>, rows: Int, vocab: Int, targets: UnsafePointer<Int32>,
        loss: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = logits + r * vocab
            loss[r] = Float(logSumExpDouble(row, vocab) - Double(row[Int(targets[r])]))
        }
    }

    private static func logSumExpDouble(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<n { m = max(m, Double(x[j])) }
        var sum = 0.0
        for j in 0..<n { sum += Foundation.exp(Double(x[j]) - m) }
        return m + Foundation.log(sum)
    }
}
