import Foundation

extension Reference {
    /// Naive twin of `CausalAttentionHead.forward`: causal softmax attention for one head of
    /// one sequence, in Double, rounded to Float once. For each query row `i`:
    ///
    ///     s[j] = scale * sum_c q[i, c] * k[j, c]        for j <= i (later keys are masked)
    ///     p[j] = exp(s[j] - max s) / sum_{j' <= i} exp(s[j'] - max s)
    ///     z[i, c] = sum_{j <= i} p[j] * v[j, c]
    ///
    /// `q`, `k`, `v`: `[seq, dHead]` row-major with row stride `ld`; `z`: `[seq, dHead]`
    /// with row stride `ldz` (columns `dHead ..< ldz` untouched).
    package static func causalAttentionHead(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
        seq: Int, dHead: Int, scale: Float, z: UnsafeMutablePointer<Float>, ldz: Int
    ) {
        for i in 0..<seq {
            var scores = [Double](repeating: 0, count: i + 1)
            for j in 0...i {
                var s = 0.0
                for c in 0..<dHead { s += Double(q[i * ld + c]) * Double(k[j * ld + c]) }
                scores[j] = Double(scale) * s
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            for c in 0..<dHead {
                var sum = 0.0
                for j in 0...i { sum += e[j] / total * Double(v[j * ld + c]) }
                z[i * ldz + c] = Float(sum)
            }
        }
    }
}
