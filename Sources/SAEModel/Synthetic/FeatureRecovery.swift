import SAEKernels

/// How well a learned dictionary recovers planted features (`SyntheticActivations`).
///
/// For each true feature `t_i` (row of `trueFeatures`, `nTrue x d`) and each decoder row
/// `w_j` (row of `decoder`, `dSae x d`), the cosine `cos_ij = t_i·w_j / (‖t_i‖ ‖w_j‖)`
/// (0 for a zero row). Feature `i`'s best cosine is `max_j cos_ij` (signed: a decoder row
/// pointing the opposite way does not recover it). The `nTrue x dSae` cosine matrix is one
/// GEMM of the row-normalised matrices, computed a block of true features at a time so it is
/// never held whole.
public enum FeatureRecovery {
    /// - Returns: `meanMaxCosine` = mean over true features of the best cosine;
    ///   `fractionRecovered` = fraction whose best cosine exceeds `recoveredAbove` (0.9);
    ///   `perFeatureBestCosine` = the best cosine of each true feature.
    public static func evaluate(decoder: Matrix, trueFeatures: Matrix, recoveredAbove: Float = 0.9,
                                threads: Int = Parallel.defaultThreads)
        -> (meanMaxCosine: Double, fractionRecovered: Double, perFeatureBestCosine: [Float]) {
        precondition(decoder.cols == trueFeatures.cols,
                     "FeatureRecovery: decoder rows have \(decoder.cols) entries, true features \(trueFeatures.cols)")
        let d = decoder.cols, dSae = decoder.rows, nTrue = trueFeatures.rows
        guard nTrue > 0 else { return (0, 0, []) }
        guard dSae > 0, d > 0 else { return (0, 0, [Float](repeating: 0, count: nTrue)) }
        let dec = rowNormalized(decoder)
        let truth = rowNormalized(trueFeatures)
        var best = [Float](repeating: -.infinity, count: nTrue)
        let block = max(1, min(nTrue, (4 << 20) / dSae))
        dec.withUnsafeBufferPointer { w in truth.withUnsafeBufferPointer { t in best.withUnsafeMutableBufferPointer { bp in
            ScratchPool.withScratch(count: block * dSae) { cos in
                var r0 = 0
                while r0 < nTrue {
                    let rows = min(block, nTrue - r0)
                    GEMM.multiply(.none, .transposed, m: rows, n: dSae, k: d, a: t.baseAddress! + r0 * d, lda: d,
                                  b: w.baseAddress!, ldb: d, c: cos, ldc: dSae, threads: threads)
                    Parallel.forRanges(rows, threads: rows * dSae < 1 << 16 ? 1 : threads) { range in
                        for r in range {
                            let row = cos + r * dSae
                            var m = row[0]
                            for j in 1..<max(1, dSae) { m = max(m, row[j]) }
                            bp[r0 + r] = m
                        }
                    }
                    r0 += rows
                }
            }
        }}}
        let mean = best.reduce(0.0) { $0 + Double($1) } / Double(nTrue)
        let recovered = Double(best.filter { $0 > recoveredAbove }.count) / Double(nTrue)
        return (mean, recovered, best)
    }

    /// Each row divided by its norm (zero rows stay zero).
    static func rowNormalized(_ m: Matrix) -> Matrix {
        var out = m
        let cols = m.cols
        out.withUnsafeMutableBufferPointer { p in
            for r in 0..<m.rows {
                var ss: Double = 0
                for c in 0..<cols { ss += Double(p[r * cols + c]) * Double(p[r * cols + c]) }
                let inv: Float = ss > 0 ? Float(1 / ss.squareRoot()) : 0
                for c in 0..<cols { p[r * cols + c] *= inv }
            }
        }
        return out
    }
}
