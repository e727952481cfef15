import Foundation
import SAEKernels
@testable import SAEModel

/// The naive twin of `Transformer.run`: plain loops in Double over the same weights,
/// written from the TransformerLens definitions. Returns every hook (as TransformerLens
/// lays it out, flattened), the per-token loss `[batch, seq - 1]` and the logits.
enum NaiveTransformer {
    struct Output {
        var hooks: [String: [Double]] = [:]
        var loss: [Double] = []
        var logits: [Double] = []
    }

    static func forward(_ model: Transformer, _ tokens: TokenBatch) -> Output {
        let c = model.config, w = model.weights
        let (B, S, D, H, E, M, V) = (tokens.batch, tokens.seq, c.dModel, c.nHeads, c.dHead, c.dMLP, c.dVocab)
        let N = B * S
        var out = Output()
        func values(_ m: Matrix?) -> [Double]? { m.map { $0.values.map(Double.init) } }
        /// (xhat, xhat * w + b)
        func layerNorm(_ x: [Double], _ weight: Matrix?, _ bias: Matrix?) -> ([Double], [Double]) {
            let wv = values(weight), bv = values(bias)
            var y = [Double](repeating: 0, count: N * D), xhat = y
            for r in 0..<N {
                let row = x[(r * D)..<((r + 1) * D)]
                let mean = row.reduce(0, +) / Double(D)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(D)
                let rstd = 1 / (variance + Double(c.eps)).squareRoot()
                for j in 0..<D {
                    var v = (x[r * D + j] - mean) * rstd
                    xhat[r * D + j] = v
                    if let wv { v *= wv[j] }
                    if let bv { v += bv[j] }
                    y[r * D + j] = v
                }
            }
            return (xhat, y)
        }
        /// `x [N, k]` times `m [k, n]` plus `bias [n]`.
        func linear(_ x: [Double], _ k: Int, _ m: Matrix, _ bias: Matrix) -> [Double] {
            let mv = values(m)!, bv = values(bias)!
            let n = m.cols
            var y = [Double](repeating: 0, count: N * n)
            for r in 0..<N {
                for j in 0..<n {
                    var s = bv[j]
                    for p in 0..<k { s += x[r * k + p] * mv[p * n + j] }
                    y[r * n + j] = s
                }
            }
            return y
        }
        func gelu(_ x: Double) -> Double {
            switch c.activation {
            case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            case .geluNew: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            }
        }

        let we = values(w.embedding)!, wp = values(w.positional)!
        var embed = [Double](repeating: 0, count: N * D), pos = embed
        for r in 0..<N {
            for j in 0..<D {
                embed[r * D + j] = we[Int(tokens.ids[r]) * D + j]
                pos[r * D + j] = wp[(r % S) * D + j]
            }
        }
        out.hooks["hook_embed"] = embed
        out.hooks["hook_pos_embed"] = pos
        var resid = zip(embed, pos).map { $0 + $1 }
        for (l, bw) in w.blocks.enumerated() {
            let p = "blocks.\(l)."
            out.hooks[p + "hook_resid_pre"] = resid
            let (xhat, x) = layerNorm(resid, bw.ln1Weight, bw.ln1Bias)
            out.hooks[p + "ln1.hook_normalized"] = xhat
            let qkv = linear(x, D, bw.qkvWeight, bw.qkvBias)
            let ld = 3 * H * E
            var pattern = [Double](repeating: 0, count: B * H * S * S)
            var z = [Double](repeating: 0, count: N * H * E)
            for b in 0..<B {
                for h in 0..<H {
                    for i in 0..<S {
                        var scores = [Double](repeating: 0, count: i + 1)
                        for j in 0...i {
                            var s = 0.0
                            for e in 0..<E {
                                s += qkv[(b * S + i) * ld + h * E + e] * qkv[(b * S + j) * ld + H * E + h * E + e]
                            }
                            scores[j] = s / Double(E).squareRoot()
                        }
                        let m = scores.max()!
                        let ex = scores.map { exp($0 - m) }
                        let sum = ex.reduce(0, +)
                        for j in 0...i {
                            let pj = ex[j] / sum
                            pattern[((b * H + h) * S + i) * S + j] = pj
                            for e in 0..<E {
                                z[(b * S + i) * H * E + h * E + e] += pj * qkv[(b * S + j) * ld + 2 * H * E + h * E + e]
                            }
                        }
                    }
                }
            }
            out.hooks[p + "attn.hook_pattern"] = pattern
            let attnOut = linear(z, H * E, bw.outWeight, bw.outBias)
            out.hooks[p + "hook_attn_out"] = attnOut
            resid = zip(resid, attnOut).map { $0 + $1 }
            out.hooks[p + "hook_resid_mid"] = resid
            let (xhat2, x2) = layerNorm(resid, bw.ln2Weight, bw.ln2Bias)
            out.hooks[p + "ln2.hook_normalized"] = xhat2
            let pre = linear(x2, D, bw.inWeight, bw.inBias)
            out.hooks[p + "mlp.hook_pre"] = pre
            let post = pre.map(gelu)
            out.hooks[p + "mlp.hook_post"] = post
            let mlpOut = linear(post, M, bw.mlpOutWeight, bw.mlpOutBias)
            out.hooks[p + "hook_mlp_out"] = mlpOut
            resid = zip(resid, mlpOut).map { $0 + $1 }
            out.hooks[p + "hook_resid_post"] = resid
        }
        let (finalHat, final) = layerNorm(resid, w.finalWeight, w.finalBias)
        out.hooks["ln_final.hook_normalized"] = finalHat
        out.logits = linear(final, D, w.unembedding, w.unembeddingBias)
        for b in 0..<B {
            for i in 0..<(S - 1) {
                let row = out.logits[((b * S + i) * V)..<((b * S + i + 1) * V)]
                let m = row.max()!
                let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
                out.loss.append(lse - row[row.startIndex + Int(tokens.ids[b * S + i + 1])])
            }
        }
        return out
    }
}
