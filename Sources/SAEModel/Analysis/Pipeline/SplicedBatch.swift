import SAEKernels

/// One batch of contexts run through the model with an SAE spliced in at a hook (the
/// interventions are `Splice`'s, as in `ModelLoss`): the
/// hook's clean value, the SAE's codes and reconstruction, and (when asked) the per-token
/// next-token losses of the clean run, of the run with the hook replaced by the
/// reconstruction, and of the run with the hook set to zero.
///
/// `loss[b, i]` is the cross-entropy of token `i + 1` of sequence `b` given tokens `0...i`
/// (`[batch, seq - 1]`), as `Transformer.run` gives it.
struct SplicedBatch {
    var tokens: TokenBatch
    /// The hook's clean value, `[batch * seq, d_in]`.
    var x: Matrix
    var codes: SparseCodes
    /// `x̂`, `[batch * seq, d_in]`.
    var reconstruction: Matrix
    var cleanLoss: Matrix?
    var splicedLoss: Matrix?
    var zeroLoss: Matrix?

    /// Runs `tokens` through `model`, encoding the value at `hook` with `sae`. `removed`
    /// (`dSae` flags, or nil) drops those features' activations before decoding (their
    /// entries are removed from the codes; the other features keep their activations).
    /// With `excludeFirstPosition` the spliced run keeps the clean value at position 0
    /// (`ExcludedPositions.bos`: the SAE is not spliced where it was not trained);
    /// `reconstruction` still holds the SAE's output there. The zero ablation zeroes every
    /// position.
    static func run(sae: SparseAutoencoder, model: Transformer, hook: String, tokens: TokenBatch,
                    measureLoss: Bool, removed: [Bool]? = nil, excludeFirstPosition: Bool,
                    threads: Int) throws -> SplicedBatch {
        let clean = try model.run(tokens, capture: [hook], outputs: measureLoss ? .lossPerToken : [], threads: threads)
        guard let x = clean.activations[hook] else {
            throw AnalysisError.invalidArgument("the run did not capture '\(hook)'")
        }
        guard x.cols == sae.dIn else {
            throw AnalysisError.shapeMismatch("hook '\(hook)' has width \(x.cols), the SAE's d_in is \(sae.dIn)")
        }
        var codes = sae.encodeSparse(x, threads: threads)
        if let removed { codes = removing(removed, from: codes) }
        let xHat = sae.decode(codes, threads: threads)
        var result = SplicedBatch(tokens: tokens, x: x, codes: codes, reconstruction: xHat)
        if measureLoss {
            result.cleanLoss = clean.lossPerToken
            let splice = Splice.reconstruction(hook: hook, excluded: excludeFirstPosition ? .bos : .none,
                                               seq: tokens.seq) { _ in xHat }
            result.splicedLoss = try model.run(tokens, interventions: [hook: splice],
                                               outputs: .lossPerToken, threads: threads).lossPerToken
            result.zeroLoss = try model.run(tokens, interventions: [hook: Splice.zeroAblation],
                                            outputs: .lossPerToken, threads: threads).lossPerToken
        }
        return result
    }

    /// `codes` without the entries of features flagged in `removed`.
    static func removing(_ removed: [Bool], from codes: SparseCodes) -> SparseCodes {
        precondition(removed.count == codes.width, "SplicedBatch.removing: \(removed.count) flags for width \(codes.width)")
        var offsets = [0]
        offsets.reserveCapacity(codes.rows + 1)
        var indices: [Int32] = [], values: [Float] = []
        indices.reserveCapacity(codes.indices.count)
        values.reserveCapacity(codes.values.count)
        for r in 0..<codes.rows {
            for e in codes.offsets[r]..<codes.offsets[r + 1] where !removed[Int(codes.indices[e])] {
                indices.append(codes.indices[e])
                values.append(codes.values[e])
            }
            offsets.append(indices.count)
        }
        return SparseCodes(rows: codes.rows, width: codes.width, offsets: offsets, indices: indices, values: values)
    }
}
