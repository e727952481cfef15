import Foundation
import SAEKernels

// The few weights the weight-based analyses read (W_out, W_U, the final LayerNorm), and
// next-token logits of chosen rows. Kept in one place so the analyses depend on the
// transformer's weight layout only here.

extension Transformer {
    /// `blocks.L.mlp.W_out`, `[d_mlp, d_model]` row-major.
    func mlpOutputWeight(layer: Int) -> Matrix {
        precondition(layer >= 0 && layer < config.nLayers, "mlpOutputWeight: layer \(layer) outside 0..<\(config.nLayers)")
        return weights.blocks[layer].mlpOutWeight
    }

    /// `unembed.W_U`, `[d_model, d_vocab]` row-major.
    var unembeddingWeight: Matrix { weights.unembedding }

    /// `logits = (xhat * w + b) W_U + b_U` for rows of `ln_final.hook_normalized` values
    /// (`xhat`, `[rows, d_model]`); `LNPre` models have no `w`, `b`. Returns `[rows, d_vocab]`.
    func logits(fromFinalNormalized xhat: Matrix, threads: Int = Parallel.defaultThreads) -> Matrix {
        precondition(xhat.cols == config.dModel, "logits: rows have \(xhat.cols) columns, expected d_model \(config.dModel)")
        var x = xhat
        let d = config.dModel
        if let w = weights.finalWeight {
            let wv = w.values
            let bv = weights.finalBias?.values ?? [Float](repeating: 0, count: d)
            x.withUnsafeMutableBufferPointer { p in
                for r in 0..<xhat.rows { for j in 0..<d { p[r * d + j] = p[r * d + j] * wv[j] + bv[j] } }
            }
        }
        let vocab = config.dVocab
        var out = Matrix(rows: xhat.rows, cols: vocab)
        guard xhat.rows > 0 else { return out }
        x.withUnsafeBufferPointer { xp in weights.unembedding.withUnsafeBufferPointer { u in
            weights.unembeddingBias.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    GEMM.multiply(.none, .none, m: xhat.rows, n: vocab, k: d, a: xp.baseAddress!, lda: d,
                                  b: u.baseAddress!, ldb: vocab, c: o.baseAddress!, ldc: vocab,
                                  epilogue: GEMMEpilogue(columnBias: b.baseAddress!), threads: threads)
                }
            }
        }}
        return out
    }

    /// Where a hook sits, for the analyses that follow a direction through the weights.
    enum AnalysisHookKind: Equatable {
        /// `blocks.L.mlp.hook_post`: `[d_mlp]` vectors that reach the residual through `W_out`.
        case mlpPost(layer: Int)
        /// A residual-stream-width hook (`hook_resid_*`, `hook_attn_out`, `hook_mlp_out`,
        /// `hook_embed`, `hook_pos_embed`): `[d_model]` vectors added to (or read from) the residual.
        case residual
        /// Any other hook.
        case other
    }

    func analysisKind(ofHook name: String) throws -> AnalysisHookKind {
        let h = try hook(name)
        switch h.kind {
        case .mlpPost: return .mlpPost(layer: h.layer)
        case .residPre, .residMid, .residPost, .attnOut, .mlpOut, .embed, .posEmbed: return .residual
        default: return .other
        }
    }
}

/// `log softmax` of one row of logits, in Double.
func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
    var m = -Double.infinity
    for v in logits { m = max(m, Double(v)) }
    var s = 0.0
    for v in logits { s += Foundation.exp(Double(v) - m) }
    let lse = m + Foundation.log(s)
    return logits.map { Double($0) - lse }
}
