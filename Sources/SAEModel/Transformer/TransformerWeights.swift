import Foundation
import SAEKernels

/// One block's weights, in the layouts the forward pass multiplies with (row-major
/// Matrices; vectors are `1 x n`).
package struct BlockWeights: Sendable {
    /// `ln1.w`, `ln1.b` (`1 x d_model`); nil for `LNPre`.
    package var ln1Weight: Matrix?, ln1Bias: Matrix?
    /// `[W_Q | W_K | W_V]` stacked: `d_model x 3 * n_heads * d_head`, column
    /// `part * n_heads * d_head + h * d_head + e` holds `W_part[h, :, e]`; so one GEMM of the
    /// normalized residual gives every head's q, k and v.
    package var qkvWeight: Matrix
    /// `[b_Q | b_K | b_V]` in the same column order, `1 x 3 * n_heads * d_head`.
    package var qkvBias: Matrix
    /// `W_O` as `n_heads * d_head x d_model` (its TransformerLens layout, flattened).
    package var outWeight: Matrix
    package var outBias: Matrix
    package var ln2Weight: Matrix?, ln2Bias: Matrix?
    /// `mlp.W_in`, `d_model x d_mlp`, and `b_in`.
    package var inWeight: Matrix, inBias: Matrix
    /// `mlp.W_out`, `d_mlp x d_model`, and `b_out`.
    package var mlpOutWeight: Matrix, mlpOutBias: Matrix
}

/// All weights of a `Transformer`.
package struct TransformerWeights: Sendable {
    /// `embed.W_E`, `d_vocab x d_model`.
    package var embedding: Matrix
    /// `pos_embed.W_pos`, `n_ctx x d_model`.
    package var positional: Matrix
    package var blocks: [BlockWeights]
    package var finalWeight: Matrix?, finalBias: Matrix?
    /// `unembed.W_U`, `d_model x d_vocab`, and `unembed.b_U`.
    package var unembedding: Matrix, unembeddingBias: Matrix

    /// The TransformerLens state-dict names and shapes a model of `config` needs.
    package static func expectedTensors(_ c: TransformerConfig) -> [(name: String, shape: [Int])] {
        let ln = c.normalization == .layerNorm
        var list: [(String, [Int])] = [("embed.W_E", [c.dVocab, c.dModel]), ("pos_embed.W_pos", [c.nCtx, c.dModel])]
        for l in 0..<c.nLayers {
            let p = "blocks.\(l)."
            if ln { list += [(p + "ln1.w", [c.dModel]), (p + "ln1.b", [c.dModel])] }
            for m in ["Q", "K", "V"] {
                list.append((p + "attn.W_\(m)", [c.nHeads, c.dModel, c.dHead]))
                list.append((p + "attn.b_\(m)", [c.nHeads, c.dHead]))
            }
            list += [(p + "attn.W_O", [c.nHeads, c.dHead, c.dModel]), (p + "attn.b_O", [c.dModel])]
            if ln { list += [(p + "ln2.w", [c.dModel]), (p + "ln2.b", [c.dModel])] }
            list += [(p + "mlp.W_in", [c.dModel, c.dMLP]), (p + "mlp.b_in", [c.dMLP]),
                     (p + "mlp.W_out", [c.dMLP, c.dModel]), (p + "mlp.b_out", [c.dModel])]
        }
        if ln { list += [("ln_final.w", [c.dModel]), ("ln_final.b", [c.dModel])] }
        list += [("unembed.W_U", [c.dModel, c.dVocab]), ("unembed.b_U", [c.dVocab])]
        return list
    }

    /// Reads and checks every tensor of `file`: all missing and mis-shaped tensors are
    /// reported together in one `TransformerError.invalidWeights`.
    package init(config c: TransformerConfig, file: SafetensorsFile) throws {
        // Each layer has several tensors: a file with fewer tensors than n_layers lacks
        // layers, said in one line rather than listing every missing tensor of a huge n_layers.
        if c.nLayers > file.names.count {
            throw TransformerError.invalidWeights(
                file: file.url.path,
                missing: ["blocks.*: the config says n_layers \(c.nLayers) but the file holds only \(file.names.count) tensors"],
                misshaped: [])
        }
        var missing: [String] = []
        var misshaped: [TransformerError.ShapeMismatch] = []
        for (name, shape) in Self.expectedTensors(c) {
            guard file.contains(name) else { missing.append(name); continue }
            let found = try file.info(name).shape
            if found != shape { misshaped.append(.init(tensor: name, expected: shape, found: found)) }
        }
        if !missing.isEmpty || !misshaped.isEmpty {
            throw TransformerError.invalidWeights(file: file.url.path, missing: missing, misshaped: misshaped)
        }
        func vector(_ name: String) throws -> Matrix { try file.matrix(name, rows: 1, cols: file.info(name).count) }
        func optionalVector(_ name: String) throws -> Matrix? {
            c.normalization == .layerNorm ? try vector(name) : nil
        }
        embedding = try file.matrix("embed.W_E", rows: c.dVocab, cols: c.dModel)
        positional = try file.matrix("pos_embed.W_pos", rows: c.nCtx, cols: c.dModel)
        blocks = try (0..<c.nLayers).map { l in
            let p = "blocks.\(l)."
            let perHead = { (m: String) in try file.floats(p + "attn.W_\(m)") }
            let qkv = Self.stackQKV(c, q: try perHead("Q"), k: try perHead("K"), v: try perHead("V"))
            let bias = try file.floats(p + "attn.b_Q") + file.floats(p + "attn.b_K") + file.floats(p + "attn.b_V")
            return BlockWeights(
                ln1Weight: try optionalVector(p + "ln1.w"), ln1Bias: try optionalVector(p + "ln1.b"),
                qkvWeight: qkv, qkvBias: Matrix(rows: 1, cols: bias.count, values: bias),
                outWeight: try file.matrix(p + "attn.W_O", rows: c.attentionWidth, cols: c.dModel),
                outBias: try vector(p + "attn.b_O"),
                ln2Weight: try optionalVector(p + "ln2.w"), ln2Bias: try optionalVector(p + "ln2.b"),
                inWeight: try file.matrix(p + "mlp.W_in", rows: c.dModel, cols: c.dMLP),
                inBias: try vector(p + "mlp.b_in"),
                mlpOutWeight: try file.matrix(p + "mlp.W_out", rows: c.dMLP, cols: c.dModel),
                mlpOutBias: try vector(p + "mlp.b_out"))
        }
        finalWeight = try optionalVector("ln_final.w")
        finalBias = try optionalVector("ln_final.b")
        unembedding = try file.matrix("unembed.W_U", rows: c.dModel, cols: c.dVocab)
        unembeddingBias = try vector("unembed.b_U")
    }

    /// `[W_Q | W_K | W_V]` (`d_model x 3 * n_heads * d_head`) from three
    /// `[n_heads, d_model, d_head]` arrays.
    static func stackQKV(_ c: TransformerConfig, q: [Float], k: [Float], v: [Float]) -> Matrix {
        let width = c.attentionWidth
        var out = Matrix(rows: c.dModel, cols: 3 * width)
        out.withUnsafeMutableBufferPointer { dst in
            for (part, src) in [q, k, v].enumerated() {
                for h in 0..<c.nHeads {
                    for d in 0..<c.dModel {
                        let from = (h * c.dModel + d) * c.dHead
                        let to = d * 3 * width + part * width + h * c.dHead
                        for e in 0..<c.dHead { dst[to + e] = src[from + e] }
                    }
                }
            }
        }
        return out
    }

    /// Random weights for tests and benchmarks (not TransformerLens's initialisation):
    /// matrices uniform with standard deviation `1/sqrt(fan_in)`, embeddings with
    /// standard deviation 1, biases 0.02, LayerNorm weights `1 + 0.1 u` and biases `0.1 u`
    /// (`u` of unit standard deviation). The same `seed` gives the same weights.
    package init(random c: TransformerConfig, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        /// Uniform on `mean ± std * sqrt(3)`: standard deviation `std`.
        func uniform(_ rows: Int, _ cols: Int, std: Float, mean: Float = 0) -> Matrix {
            var m = Matrix(rows: rows, cols: cols)
            let half = std * 1.732_050_8
            m.withUnsafeMutableBufferPointer { p in
                for i in p.indices { p[i] = rng.uniform(mean - half, mean + half) }
            }
            return m
        }
        let ln = c.normalization == .layerNorm
        let sd = 1 / Float(c.dModel).squareRoot()
        embedding = uniform(c.dVocab, c.dModel, std: 1)
        positional = uniform(c.nCtx, c.dModel, std: 1)
        blocks = (0..<c.nLayers).map { _ in
            BlockWeights(
                ln1Weight: ln ? uniform(1, c.dModel, std: 0.1, mean: 1) : nil,
                ln1Bias: ln ? uniform(1, c.dModel, std: 0.1) : nil,
                qkvWeight: uniform(c.dModel, 3 * c.attentionWidth, std: sd),
                qkvBias: uniform(1, 3 * c.attentionWidth, std: 0.02),
                outWeight: uniform(c.attentionWidth, c.dModel, std: 1 / Float(c.attentionWidth).squareRoot()),
                outBias: uniform(1, c.dModel, std: 0.02),
                ln2Weight: ln ? uniform(1, c.dModel, std: 0.1, mean: 1) : nil,
                ln2Bias: ln ? uniform(1, c.dModel, std: 0.1) : nil,
                inWeight: uniform(c.dModel, c.dMLP, std: sd), inBias: uniform(1, c.dMLP, std: 0.02),
                mlpOutWeight: uniform(c.dMLP, c.dModel, std: 1 / Float(c.dMLP).squareRoot()),
                mlpOutBias: uniform(1, c.dModel, std: 0.02))
        }
        finalWeight = ln ? uniform(1, c.dModel, std: 0.1, mean: 1) : nil
        finalBias = ln ? uniform(1, c.dModel, std: 0.1) : nil
        unembedding = uniform(c.dModel, c.dVocab, std: sd)
        unembeddingBias = uniform(1, c.dVocab, std: 0.02)
    }
}
