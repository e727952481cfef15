import SAEKernels

/// How much of a model's next-token loss survives when one hook's activations are replaced
/// by a reconstruction (an SAE's `x_hat`), against zero and mean ablation.
public enum ModelLoss {
    /// Evaluates `model` on contexts `range` (all by default) of `contexts`.
    ///
    /// Two passes, batched `batchSize` contexts at a time:
    /// 1. the mean of the hook over every evaluated token (the positions `excluded` leaves
    ///    out are left out of it), accumulated in Double, from runs that stop right after the hook;
    /// 2. per batch: a clean run and a spliced run (the hook's `[batch * seq, d]` value
    ///    replaced by `reconstruct(value)`, which must keep the shape) — their per-token
    ///    losses and the KL between their next-token distributions come from one blocked
    ///    pass over the vocabulary — then a zero-ablated and a mean-ablated run.
    ///
    /// `excluded` (see `ExcludedPositions`): at those positions the spliced run keeps the
    /// clean value (whatever `reconstruct` returns there), and the losses and KL of the
    /// predictions made there are left out of the means (the per-token grids keep them).
    /// The ablations replace every position.
    ///
    /// `progress(done, total)` is called after every batch of both passes
    /// (`total = 2 * contexts`). Throws for a bad hook (or `attn.hook_pattern`), bad tokens,
    /// or what `reconstruct` throws.
    public static func evaluate(
        model: Transformer, contexts: TokenContexts, range: Range<Int>? = nil, hook: String,
        batchSize: Int = 32, excluded: ExcludedPositions = .none, threads: Int = Parallel.defaultThreads,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
        reconstruct: (Matrix) throws -> Matrix
    ) throws -> ModelLossResult {
        let r = range ?? 0..<contexts.count
        guard r.lowerBound >= 0 && r.upperBound <= contexts.count else {
            throw TransformerError.invalidRequest(reason: "context range \(r) outside 0..<\(contexts.count)")
        }
        return try evaluate(model: model, count: r.count, length: contexts.length, fetch: { try contexts.context(r.lowerBound + $0) },
                            hook: hook, batchSize: batchSize, excluded: excluded, threads: threads, progress: progress,
                            reconstruct: reconstruct)
    }

    /// The same over explicit token sequences (all of one length).
    public static func evaluate(
        model: Transformer, sequences: [[Int32]], hook: String,
        batchSize: Int = 32, excluded: ExcludedPositions = .none, threads: Int = Parallel.defaultThreads,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
        reconstruct: (Matrix) throws -> Matrix
    ) throws -> ModelLossResult {
        let length = sequences.first?.count ?? 0
        guard sequences.allSatisfy({ $0.count == length }) else {
            throw TransformerError.invalidTokens(reason: "sequences of different lengths")
        }
        return try evaluate(model: model, count: sequences.count, length: length, fetch: { sequences[$0] },
                            hook: hook, batchSize: batchSize, excluded: excluded, threads: threads, progress: progress,
                            reconstruct: reconstruct)
    }

    private static func evaluate(
        model: Transformer, count: Int, length: Int, fetch: (Int) throws -> [Int32], hook name: String,
        batchSize: Int, excluded: ExcludedPositions, threads: Int, progress: ((Int, Int) -> Void)?, reconstruct: (Matrix) throws -> Matrix
    ) throws -> ModelLossResult {
        let hook = try model.hook(name)
        guard let width = model.width(of: hook) else {
            throw TransformerError.invalidRequest(reason: "cannot splice '\(name)': it is not a [token, width] activation")
        }
        let first = excluded.firstCounted
        guard count > 0, length >= 2 + first else {
            throw TransformerError.invalidRequest(reason: "need at least one context of \(2 + first) or more tokens"
                + (first > 0 ? " (position 0, BOS, is left out)" : "") + " (got \(count) of \(length))")
        }
        guard batchSize > 0 else { throw TransformerError.invalidRequest(reason: "batch size \(batchSize) must be positive") }
        let final = HookPoint(.lnFinalNormalized)
        var workspace: ForwardWorkspace? = nil
        func batches(_ body: (Int, TokenBatch, ForwardWorkspace) throws -> Void) throws {
            var start = 0
            while start < count {
                let n = min(batchSize, count - start)
                var ids: [Int32] = []
                ids.reserveCapacity(n * length)
                for i in start..<(start + n) { ids += try fetch(i) }
                if workspace?.batch != n { workspace = ForwardWorkspace(batch: n, seq: length) }
                try body(start, TokenBatch(ids: ids, batch: n, seq: length), workspace!)
                start += n
            }
        }

        // Pass 1: the hook's mean over all evaluated tokens.
        var sums = [Double](repeating: 0, count: width)
        var meanPlan = ForwardPlan()
        meanPlan.stopAfter = hook
        try batches { start, tokens, ws in
            var value: Matrix? = try model.run(tokens, plan: meanPlan, workspace: ws, threads: threads).stoppedValue
            value!.withUnsafeBufferPointer { p in
                for r in 0..<value!.rows where r % length >= first {
                    for j in 0..<width { sums[j] += Double(p[r * width + j]) }
                }
            }
            value = nil
            progress?(start + tokens.batch, 2 * count)
        }
        let mean = sums.map { Float($0 / Double(count * (length - first))) }

        // Pass 2: clean, spliced, zero- and mean-ablated.
        let predicted = length - 1
        var clean = [Float](repeating: 0, count: count * predicted)
        var spliced = clean, zero = clean, meanAblated = clean
        var kl = [Float](repeating: 0, count: count * length)
        var finalPlan = ForwardPlan()
        finalPlan.capture = [final]
        finalPlan.stopAfter = final
        var splicePlan = finalPlan
        var zeroPlan = ForwardPlan()
        zeroPlan.outputs = .lossPerToken
        zeroPlan.interventions[hook] = Splice.zeroAblation
        var meanPlan2 = zeroPlan
        meanPlan2.interventions[hook] = Splice.meanAblation(mean)
        try withoutActuallyEscaping(reconstruct) { reconstruct in
        splicePlan.interventions[hook] = Splice.reconstruction(hook: name, excluded: excluded, seq: length, reconstruct)
        defer { splicePlan.interventions = [:] }
        try batches { start, tokens, ws in
            let cleanFinal = try model.run(tokens, plan: finalPlan, workspace: ws, threads: threads).captured[final]!
            let splicedFinal = try model.run(tokens, plan: splicePlan, workspace: ws, threads: threads).captured[final]!
            let compared = model.nextTokenComparison(final: splicedFinal, reference: cleanFinal, tokens: tokens, threads: threads)
            let zeroLoss = try model.run(tokens, plan: zeroPlan, workspace: ws, threads: threads).lossPerToken!
            let meanLoss = try model.run(tokens, plan: meanPlan2, workspace: ws, threads: threads).lossPerToken!
            for b in 0..<tokens.batch {
                let c = start + b
                for i in 0..<predicted {
                    clean[c * predicted + i] = compared.referenceLoss[b * length + i]
                    spliced[c * predicted + i] = compared.loss[b * length + i]
                    zero[c * predicted + i] = zeroLoss[b, i]
                    meanAblated[c * predicted + i] = meanLoss[b, i]
                }
                for i in 0..<length { kl[c * length + i] = compared.kl[b * length + i] }
            }
            progress?(count + start + tokens.batch, 2 * count)
        }
        }

        let grids = [clean, spliced, zero, meanAblated].map { TokenGrid(rows: count, cols: predicted, values: $0) }
        let klGrid = TokenGrid(rows: count, cols: length, values: kl)
        let (lc, ls, lz, lm) = (grids[0].mean(fromColumn: first), grids[1].mean(fromColumn: first),
                                grids[2].mean(fromColumn: first), grids[3].mean(fromColumn: first))
        return ModelLossResult(
            hook: name, contexts: count, contextLength: length, excludedPositions: excluded, tokens: count * (predicted - first),
            cleanLoss: lc, splicedLoss: ls, zeroAblationLoss: lz, meanAblationLoss: lm,
            lossRecovered: (lz - ls) / (lz - lc), lossRecoveredVsMeanAblation: (lm - ls) / (lm - lc),
            klDivergence: klGrid.mean(fromColumn: first),
            cleanLossPerToken: grids[0], splicedLossPerToken: grids[1], zeroAblationLossPerToken: grids[2],
            meanAblationLossPerToken: grids[3], klPerToken: klGrid)
    }
}
