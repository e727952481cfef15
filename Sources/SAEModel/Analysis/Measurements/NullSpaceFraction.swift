import SAEKernels

/// For an SAE on MLP activations (`blocks.L.mlp.hook_post`, vectors of `d_mlp` entries that
/// reach the residual stream as `v W_out`, `W_out` `[d_mlp, d_model]`): the fraction of each
/// decoder row's squared norm in the null space of `W_out` — the part `n` of `v` with
/// `n W_out = 0`, which the rest of the model never sees.
///
/// `Q` (`[d_mlp, r]`) is an orthonormal basis of the column space of `W_out` (the row space
/// of `W_out^T`; `r = rank <= d_model`), built in Double by Gram–Schmidt on the columns.
/// The part of `v` the model sees is `p = Q Q^T v`, so
/// `nullFraction(v) = 1 - ||Q^T v||² / ||v||²` (NaN for a zero row; clamped to `[0, 1]`).
/// `Q^T v` for all rows at once is one GEMM `W_dec Q` in Float; the squared norms are summed
/// in Double.
public struct NullSpaceResult: Codable, Sendable, Equatable {
    public var hook: String
    /// `r`: the rank of `W_out`.
    public var rank: Int
    /// `d_mlp`.
    public var dimension: Int
    /// Per feature.
    public var nullFraction: [Double]
    public var median: Double
    public var mean: Double
    public var histogram: Histogram
}

public enum NullSpaceFraction {
    /// For `sae` at its hook, which must be `blocks.L.mlp.hook_post` of `model`.
    public static func measure(sae: SparseAutoencoder, model: Transformer, hook: String? = nil) throws -> NullSpaceResult {
        let hook = hook ?? sae.metadata.hookName
        guard case let .mlpPost(layer) = try model.analysisKind(ofHook: hook) else {
            throw AnalysisError.unsupportedHook(hook: hook, measurement: "null-space fraction",
                                                reason: "it needs blocks.L.mlp.hook_post (vectors multiplied by W_out)")
        }
        let wOut = model.mlpOutputWeight(layer: layer)
        guard wOut.rows == sae.dIn else {
            throw AnalysisError.shapeMismatch("W_out has \(wOut.rows) rows, the SAE's d_in is \(sae.dIn)")
        }
        var r = measure(decoder: sae.wDec, wOut: wOut)
        r.hook = hook
        return r
    }

    /// For the rows of `decoder` (`[n, d_mlp]`) and `wOut` (`[d_mlp, d_model]`).
    public static func measure(decoder: Matrix, wOut: Matrix, bins: Int = 40,
                               threads: Int = Parallel.defaultThreads) -> NullSpaceResult {
        precondition(decoder.cols == wOut.rows, "NullSpaceFraction: decoder rows have \(decoder.cols) entries, W_out has \(wOut.rows) rows")
        let dMLP = wOut.rows, dModel = wOut.cols
        let columns: [[Double]] = wOut.withUnsafeBufferPointer { w in
            (0..<dModel).map { c in (0..<dMLP).map { Double(w[$0 * dModel + c]) } }
        }
        let basis = OrthonormalBasis(spanning: columns, dimension: dMLP)
        let rank = basis.vectors.count
        // Q as a Float [d_mlp, r] matrix.
        var q = Matrix(rows: dMLP, cols: max(1, rank))
        q.withUnsafeMutableBufferPointer { p in
            for (c, v) in basis.vectors.enumerated() { for i in 0..<dMLP { p[i * max(1, rank) + c] = Float(v[i]) } }
        }
        let n = decoder.rows
        var fractions = [Double](repeating: .nan, count: n)
        // Blocks of rows keep the [rows, r] product small.
        let block = 1024
        var proj = Matrix(rows: min(block, max(1, n)), cols: max(1, rank))
        decoder.withUnsafeBufferPointer { d in q.withUnsafeBufferPointer { qp in
            var r0 = 0
            while r0 < n {
                let m = min(block, n - r0)
                if rank > 0 {
                    proj.withUnsafeMutableBufferPointer { pp in
                        GEMM.multiply(.none, .none, m: m, n: rank, k: dMLP, a: d.baseAddress! + r0 * dMLP, lda: dMLP,
                                      b: qp.baseAddress!, ldb: rank, c: pp.baseAddress!, ldc: rank, threads: threads)
                    }
                }
                proj.withUnsafeBufferPointer { pp in
                    for i in 0..<m {
                        var vv = 0.0
                        for k in 0..<dMLP { let x = Double(d[(r0 + i) * dMLP + k]); vv += x * x }
                        guard vv > 0 else { continue }
                        var pv = 0.0
                        if rank > 0 { for k in 0..<rank { let x = Double(pp[i * rank + k]); pv += x * x } }
                        fractions[r0 + i] = min(1, max(0, 1 - pv / vv))
                    }
                }
                r0 += m
            }
        }}
        return NullSpaceResult(hook: "", rank: rank, dimension: dMLP, nullFraction: fractions,
                               median: Quantiles.median(fractions), mean: Quantiles.mean(fractions),
                               histogram: Histogram(fractions, lower: 0, upper: 1, bins: bins))
    }
}
