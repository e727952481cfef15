import SAEKernels

/// What one forward pass does besides computing: hooks to capture, interventions, where
/// to stop, which outputs to produce.
package struct ForwardPlan {
    package var capture: Set<HookPoint> = []
    package var interventions: [HookPoint: HookIntervention] = [:]
    /// Stop right after this hook; nil runs to the end.
    package var stopAfter: HookPoint?
    package var outputs: TransformerOutputs = []

    package init() {}

    /// Whether `hook`'s value must exist on its own (not fused into the next stage).
    func touches(_ hook: HookPoint) -> Bool {
        capture.contains(hook) || interventions[hook] != nil || stopAfter == hook
    }
}

/// What one forward pass returns.
package struct ForwardResult {
    /// The captured hooks: independent copies, except the `stopAfter` hook's value, which
    /// shares storage with the workspace (copy-on-write keeps it intact).
    package var captured: [HookPoint: Matrix] = [:]
    /// The value of `plan.stopAfter` when the run stopped there. It shares storage with the
    /// workspace: release it before the next pass, or that pass copies the buffer.
    package var stoppedValue: Matrix?
    package var lossPerToken: Matrix?
    package var logits: Matrix?
}

/// Buffers of a forward pass over `[batch, seq]` tokens, reused across passes (a run
/// allocates nothing else of size `batch * seq * width`). Buffers a pass does not reach
/// are not allocated.
package final class ForwardWorkspace {
    package let batch: Int
    package let seq: Int
    var rows: Int { batch * seq }
    /// The residual stream, `[N, d_model]`: resid_pre, then resid_mid, then resid_post.
    var resid = Matrix(rows: 0, cols: 0)
    /// LayerNorm hook values `xhat` (ln1, ln2, ln_final), `[N, d_model]`.
    var ln = Matrix(rows: 0, cols: 0)
    /// `xhat * w + b`, the input of the next stage (`LN` only), `[N, d_model]`.
    var lnScaled = Matrix(rows: 0, cols: 0)
    /// `[N, 3 * n_heads * d_head]`.
    var qkv = Matrix(rows: 0, cols: 0)
    /// `[N, n_heads * d_head]`.
    var z = Matrix(rows: 0, cols: 0)
    /// `[N, d_model]`.
    var attnOut = Matrix(rows: 0, cols: 0)
    /// mlp pre-activations, then (in place) post-activations, `[N, d_mlp]`.
    var mlp = Matrix(rows: 0, cols: 0)
    /// `[N, d_model]`.
    var mlpOut = Matrix(rows: 0, cols: 0)
    var embed = Matrix(rows: 0, cols: 0)
    var posEmbed = Matrix(rows: 0, cols: 0)
    /// `[batch * n_heads * seq, seq]`, only when attn.hook_pattern is touched.
    var pattern = Matrix(rows: 0, cols: 0)
    /// `validLengths[i] = i + 1`: the causal mask as softmax valid lengths.
    let validLengths: [Int]

    package init(batch: Int, seq: Int) {
        precondition(batch > 0 && seq > 0, "ForwardWorkspace: batch \(batch) and seq \(seq) must be positive")
        self.batch = batch
        self.seq = seq
        validLengths = (0..<seq).map { $0 + 1 }
    }
}

extension Transformer {
    /// One forward pass of `tokens` following `plan`, in `workspace` (which must have the
    /// tokens' shape): the one way into the model. The public `run(_:capture:...)` is its
    /// front (hook names checked and turned into a plan, the model's cached workspace);
    /// package callers that keep their own workspace across batches (`ModelLoss`,
    /// `ModelActivationSource`) call this directly. See `Transformer` for the math and
    /// `run(_:capture:...)` for the plan's meaning.
    package func run(
        _ tokens: TokenBatch, plan: ForwardPlan, workspace ws: ForwardWorkspace, threads: Int
    ) throws -> ForwardResult {
        precondition(ws.batch == tokens.batch && ws.seq == tokens.seq,
                     "forward: workspace [\(ws.batch), \(ws.seq)] for tokens [\(tokens.batch), \(tokens.seq)]")
        precondition(threads >= 1, "forward: threads must be >= 1")
        try checkTokens(tokens)
        let c = config
        let n = ws.rows, d = c.dModel
        var result = ForwardResult()

        /// Applies the hook's intervention, captures it; false when the run stops here.
        func visit(_ hook: HookPoint, _ value: inout Matrix) throws -> Bool {
            if let intervene = plan.interventions[hook] {
                let (rows, cols) = (value.rows, value.cols)
                try intervene(&value)
                guard value.rows == rows && value.cols == cols else {
                    throw TransformerError.interventionChangedShape(
                        hook: hook.name, expected: [rows, cols], found: [value.rows, value.cols])
                }
            }
            if plan.stopAfter == hook {
                // Nothing writes this buffer again in this pass: hand it out shared (the
                // next pass copies it only if the caller still holds it).
                if plan.capture.contains(hook) { result.captured[hook] = value }
                result.stoppedValue = value
                return false
            }
            if plan.capture.contains(hook) { result.captured[hook] = MatrixAccess.copy(value) }
            return true
        }

        // Embeddings.
        MatrixAccess.ensure(&ws.resid, rows: n, cols: d)
        let embedHook = HookPoint(.embed), posHook = HookPoint(.posEmbed)
        if plan.touches(embedHook) || plan.touches(posHook) {
            MatrixAccess.ensure(&ws.embed, rows: n, cols: d)
            MatrixAccess.ensure(&ws.posEmbed, rows: n, cols: d)
            gatherEmbeddings(tokens, into: MatrixAccess.write(&ws.embed), positional: false)
            guard try visit(embedHook, &ws.embed) else { return result }
            gatherEmbeddings(tokens, into: MatrixAccess.write(&ws.posEmbed), positional: true)
            guard try visit(posHook, &ws.posEmbed) else { return result }
            Elementwise.add(MatrixAccess.read(ws.embed), MatrixAccess.read(ws.posEmbed),
                            into: MatrixAccess.write(&ws.resid), count: n * d, threads: threads)
        } else {
            embedSum(tokens, into: MatrixAccess.write(&ws.resid), threads: threads)
        }

        /// LayerNorm of the residual: the hook sees `xhat = (x - mean) / sqrt(var + eps)`
        /// (TransformerLens's `hook_normalized`), the next stage gets `xhat * w + b`
        /// (recomputed from the hook's value after an intervention). Returns the stage
        /// input, or nil when the run stops at the hook.
        func layerNorm(weight: Matrix?, bias: Matrix?, hook: HookPoint) throws -> UnsafePointer<Float>? {
            MatrixAccess.ensure(&ws.ln, rows: n, cols: d)
            let x = MatrixAccess.read(ws.resid)
            let (w, b) = (MatrixAccess.read(weight), MatrixAccess.read(bias))
            if w == nil && b == nil {  // LNPre: the stage input is xhat itself
                LayerNorm.forward(x, rows: n, d: d, weight: nil, bias: nil, eps: c.eps, output: MatrixAccess.write(&ws.ln),
                                  threads: threads)
                guard try visit(hook, &ws.ln) else { return nil }
                return MatrixAccess.read(ws.ln)
            }
            MatrixAccess.ensure(&ws.lnScaled, rows: n, cols: d)
            if !plan.touches(hook) {
                LayerNorm.forward(x, rows: n, d: d, weight: w, bias: b, eps: c.eps,
                                  output: MatrixAccess.write(&ws.lnScaled), threads: threads)
                return MatrixAccess.read(ws.lnScaled)
            }
            LayerNorm.forward(x, rows: n, d: d, weight: w, bias: b, eps: c.eps, output: MatrixAccess.write(&ws.lnScaled),
                              normalized: MatrixAccess.write(&ws.ln), threads: threads)
            guard try visit(hook, &ws.ln) else { return nil }
            if plan.interventions[hook] != nil {
                Elementwise.affine(MatrixAccess.read(ws.ln), weight: w, bias: b, into: MatrixAccess.write(&ws.lnScaled),
                                   rows: n, d: d, threads: threads)
            }
            return MatrixAccess.read(ws.lnScaled)
        }

        let attentionShape = CausalAttention.Shape(batch: tokens.batch, seq: tokens.seq, heads: c.nHeads, dHead: c.dHead)
        for (l, w) in weights.blocks.enumerated() {
            guard try visit(HookPoint(.residPre, layer: l), &ws.resid) else { return result }

            // Attention.
            guard let x1 = try layerNorm(weight: w.ln1Weight, bias: w.ln1Bias, hook: HookPoint(.ln1Normalized, layer: l))
            else { return result }
            let qkvWidth = 3 * c.attentionWidth
            MatrixAccess.ensure(&ws.qkv, rows: n, cols: qkvWidth)
            let qkv = MatrixAccess.write(&ws.qkv)
            GEMM.multiply(.none, .none, m: n, n: qkvWidth, k: d, a: x1, lda: d,
                          b: MatrixAccess.read(w.qkvWeight), ldb: qkvWidth, c: qkv, ldc: qkvWidth,
                          epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.qkvBias)), threads: threads)
            MatrixAccess.ensure(&ws.z, rows: n, cols: c.attentionWidth)
            let patternHook = HookPoint(.attnPattern, layer: l)
            try ws.validLengths.withUnsafeBufferPointer { lengths in
                if plan.touches(patternHook) {
                    MatrixAccess.ensure(&ws.pattern, rows: tokens.batch * c.nHeads * tokens.seq, cols: tokens.seq)
                    CausalAttention.patterns(qkv: qkv, pattern: MatrixAccess.write(&ws.pattern), shape: attentionShape,
                                             validLengths: lengths.baseAddress!, threads: threads)
                    guard try visit(patternHook, &ws.pattern) else { return }
                    CausalAttention.mix(pattern: MatrixAccess.read(ws.pattern), qkv: qkv, z: MatrixAccess.write(&ws.z),
                                        shape: attentionShape, threads: threads)
                } else {
                    CausalAttention.forward(qkv: qkv, z: MatrixAccess.write(&ws.z), shape: attentionShape, threads: threads)
                }
            }
            if result.stoppedValue != nil { return result }
            guard try addProjection(MatrixAccess.read(ws.z), k: c.attentionWidth, weight: w.outWeight, bias: w.outBias,
                                    hook: HookPoint(.attnOut, layer: l), into: &ws.attnOut, ws: ws, threads: threads,
                                    visit: visit)
            else { return result }
            guard try visit(HookPoint(.residMid, layer: l), &ws.resid) else { return result }

            // MLP.
            guard let x2 = try layerNorm(weight: w.ln2Weight, bias: w.ln2Bias, hook: HookPoint(.ln2Normalized, layer: l))
            else { return result }
            MatrixAccess.ensure(&ws.mlp, rows: n, cols: c.dMLP)
            let preHook = HookPoint(.mlpPre, layer: l)
            if plan.touches(preHook) {
                GEMM.multiply(.none, .none, m: n, n: c.dMLP, k: d, a: x2, lda: d,
                              b: MatrixAccess.read(w.inWeight), ldb: c.dMLP, c: MatrixAccess.write(&ws.mlp), ldc: c.dMLP,
                              epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.inBias)), threads: threads)
                guard try visit(preHook, &ws.mlp) else { return result }
                let mlp = MatrixAccess.write(&ws.mlp)
                GELU.forward(mlp, mlp, count: n * c.dMLP, variant: c.geluVariant, threads: threads)
            } else {
                // GELU on each output tile while it is in L1 (the same bits as the separate pass).
                GEMM.multiply(.none, .none, m: n, n: c.dMLP, k: d, a: x2, lda: d,
                              b: MatrixAccess.read(w.inWeight), ldb: c.dMLP, c: MatrixAccess.write(&ws.mlp), ldc: c.dMLP,
                              epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.inBias), gelu: c.geluVariant),
                              threads: threads)
            }
            guard try visit(HookPoint(.mlpPost, layer: l), &ws.mlp) else { return result }
            guard try addProjection(MatrixAccess.read(ws.mlp), k: c.dMLP, weight: w.mlpOutWeight, bias: w.mlpOutBias,
                                    hook: HookPoint(.mlpOut, layer: l), into: &ws.mlpOut, ws: ws, threads: threads,
                                    visit: visit)
            else { return result }
            guard try visit(HookPoint(.residPost, layer: l), &ws.resid) else { return result }
        }

        guard let final = try layerNorm(weight: weights.finalWeight, bias: weights.finalBias,
                                        hook: HookPoint(.lnFinalNormalized))
        else { return result }
        try produceOutputs(plan.outputs, tokens: tokens, final: final, ws: ws, into: &result, threads: threads)
        return result
    }

    /// `out = x W + b` (`[N, d_model]`), its hook visited, then `resid += out`; false when
    /// the run stops at the hook. (Always through `out`, so that capturing or not gives the
    /// same bits downstream.)
    private func addProjection(
        _ x: UnsafePointer<Float>, k: Int, weight: Matrix, bias: Matrix, hook: HookPoint,
        into out: inout Matrix, ws: ForwardWorkspace, threads: Int,
        visit: (HookPoint, inout Matrix) throws -> Bool
    ) throws -> Bool {
        let (n, d) = (ws.rows, config.dModel)
        MatrixAccess.ensure(&out, rows: n, cols: d)
        GEMM.multiply(.none, .none, m: n, n: d, k: k, a: x, lda: k, b: MatrixAccess.read(weight), ldb: d,
                      c: MatrixAccess.write(&out), ldc: d, epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(bias)),
                      threads: threads)
        guard try visit(hook, &out) else { return false }
        let resid = MatrixAccess.write(&ws.resid)
        Elementwise.add(resid, MatrixAccess.read(out), into: resid, count: n * d, threads: threads)
        return true
    }

    /// Logits and/or per-token loss from the final normalized residual.
    private func produceOutputs(
        _ outputs: TransformerOutputs, tokens: TokenBatch, final: UnsafePointer<Float>, ws: ForwardWorkspace,
        into result: inout ForwardResult, threads: Int
    ) throws {
        guard !outputs.isEmpty else { return }
        let (b, s, v) = (tokens.batch, tokens.seq, config.dVocab)
        let u = unembeddingWeights
        var loss = outputs.contains(.lossPerToken) ? Matrix(rows: b, cols: s - 1) : nil
        if outputs.contains(.logits) {
            var logits = Matrix(rows: b * s, cols: v)
            let lp = MatrixAccess.write(&logits)
            Unembedding.logits(final, rows: b * s, weights: u, out: lp, threads: threads)
            if loss != nil, s > 1 {
                let out = MatrixAccess.write(&loss!)
                tokens.ids.withUnsafeBufferPointer { ids in
                    for seqIndex in 0..<b {
                        Softmax.crossEntropy(logits: lp + seqIndex * s * v, rows: s - 1, vocab: v,
                                             targets: ids.baseAddress! + seqIndex * s + 1,
                                             loss: out + seqIndex * (s - 1), threads: threads)
                    }
                }
            }
            result.logits = logits
        } else if loss != nil, s > 1 {
            let perRow = nextTokenLosses(final, tokens: tokens, ws: ws, threads: threads)
            let out = MatrixAccess.write(&loss!)
            for seqIndex in 0..<b {
                for i in 0..<(s - 1) { out[seqIndex * (s - 1) + i] = perRow[seqIndex * s + i] }
            }
        }
        result.lossPerToken = loss
    }

    var unembeddingWeights: Unembedding.Weights {
        Unembedding.Weights(w: MatrixAccess.read(weights.unembedding), bias: MatrixAccess.read(weights.unembeddingBias),
                            dModel: config.dModel, vocab: config.dVocab)
    }

    /// Next-token targets per row: row `b * seq + i` targets `tokens[b, i + 1]`; the last
    /// position of each sequence has none (-1).
    static func nextTokenTargets(_ tokens: TokenBatch) -> [Int32] {
        let s = tokens.seq
        return (0..<(tokens.batch * s)).map { r in r % s == s - 1 ? -1 : tokens.ids[r + 1] }
    }

    /// Cross-entropy of the next token per row (`[batch * seq]`, 0 at last positions).
    private func nextTokenLosses(_ final: UnsafePointer<Float>, tokens: TokenBatch, ws: ForwardWorkspace, threads: Int) -> [Float] {
        var perRow = [Float](repeating: 0, count: ws.rows)
        Self.nextTokenTargets(tokens).withUnsafeBufferPointer { t in
            perRow.withUnsafeMutableBufferPointer { out in
                Unembedding.reduce(final, reference: nil, rows: ws.rows, weights: unembeddingWeights,
                                   targets: t.baseAddress!, loss: out.baseAddress!, referenceLoss: nil, kl: nil,
                                   threads: threads)
            }
        }
        return perRow
    }

    /// Throws `invalidTokens` unless `seq <= n_ctx` and every id is in `0..<d_vocab`.
    func checkTokens(_ tokens: TokenBatch) throws {
        guard tokens.seq <= config.nCtx else {
            throw TransformerError.invalidTokens(reason: "sequence length \(tokens.seq) exceeds n_ctx \(config.nCtx)")
        }
        let v = Int32(clamping: config.dVocab)
        if let bad = tokens.ids.firstIndex(where: { $0 < 0 || $0 >= v }) {
            throw TransformerError.invalidTokens(
                reason: "token id \(tokens.ids[bad]) at [\(bad / tokens.seq), \(bad % tokens.seq)] outside 0..<\(config.dVocab)")
        }
    }

    /// `out[r] = W_E[tokens[r]]` (or `W_pos[r % seq]` when `positional`).
    private func gatherEmbeddings(_ tokens: TokenBatch, into out: UnsafeMutablePointer<Float>, positional: Bool) {
        let d = config.dModel
        let table = MatrixAccess.read(positional ? weights.positional : weights.embedding)
        for r in 0..<(tokens.batch * tokens.seq) {
            let row = positional ? r % tokens.seq : Int(tokens.ids[r])
            (out + r * d).update(from: table + row * d, count: d)
        }
    }

    /// `out[r] = W_E[tokens[r]] + W_pos[r % seq]`.
    private func embedSum(_ tokens: TokenBatch, into out: UnsafeMutablePointer<Float>, threads: Int) {
        let d = config.dModel, rows = tokens.batch * tokens.seq
        let e = MatrixAccess.read(weights.embedding), p = MatrixAccess.read(weights.positional)
        tokens.ids.withUnsafeBufferPointer { ids in
            Parallel.forRanges(rows, threads: rows * d >= 1 << 16 ? threads : 1) { range in
                for r in range {
                    Elementwise.add(e + Int(ids[r]) * d, p + (r % tokens.seq) * d, into: out + r * d, count: d, threads: 1)
                }
            }
        }
    }
}
