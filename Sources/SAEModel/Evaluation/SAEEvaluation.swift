import Foundation
import SAEKernels

/// The standard metrics of an SAE on a model's hook: reconstruction (MSE, explained
/// variance), sparsity (L0, dead fraction over the evaluated tokens) and what splicing the
/// reconstruction does to the model's loss (`ModelLoss`: CE clean / spliced / zero- and
/// mean-ablated, loss recovered, KL).
///
/// Every figure leaves out the positions `excludedPositions` names (see `ExcludedPositions`:
/// BOS when training skipped it); the SAE is not spliced there.
public struct SAEMetrics: Codable, Sendable, Equatable {
    public var hook: String
    /// The positions left out of every figure and not spliced (`excluded_positions`:
    /// `"bos"` or `"none"`).
    public var excludedPositions: ExcludedPositions
    /// Activations counted in MSE, explained variance, L0 and dead fraction.
    public var tokens: Int
    /// Mean over tokens and dimensions of `(x - x_hat)^2` (SAELens's `mse` is `d_in` times
    /// this: it sums over dimensions).
    public var mse: Double
    /// `1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2`, sums and mean over every counted
    /// token (SAELens's `explained_variance`; not its per-token `explained_variance_legacy`).
    public var explainedVariance: Double
    /// Mean number of features with a nonzero activation per token.
    public var l0: Double
    /// Fraction of features that never fired on the evaluated tokens.
    public var deadFraction: Double
    public var ceClean: Double
    public var ceSpliced: Double
    public var ceZeroAblation: Double
    public var ceMeanAblation: Double
    /// `(L_zero - L_spliced) / (L_zero - L_clean)`.
    public var lossRecovered: Double
    /// `(L_mean - L_spliced) / (L_mean - L_clean)`.
    public var lossRecoveredVsMeanAblation: Double
    /// Mean per-token KL(clean || spliced) of the next-token distributions.
    public var klDivergence: Double

    enum CodingKeys: String, CodingKey {
        case hook, tokens, mse, l0
        case excludedPositions = "excluded_positions"
        case explainedVariance = "explained_variance", deadFraction = "dead_fraction"
        case ceClean = "ce_clean", ceSpliced = "ce_spliced", ceZeroAblation = "ce_zero_ablation", ceMeanAblation = "ce_mean_ablation"
        case lossRecovered = "loss_recovered", lossRecoveredVsMeanAblation = "loss_recovered_vs_mean_ablation"
        case klDivergence = "kl_divergence"
    }

    /// Pretty JSON with sorted keys (a non-finite figure written as `JSONNonFinite` says).
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = JSONNonFinite.encodingStrategy
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}

public enum SAEEvaluation {
    /// Evaluates `sae` on `hook` of `model` over `contexts` (all of them, or the first
    /// `maxContexts`), batched. The reconstruction statistics and firing counts come from
    /// the same spliced runs that `ModelLoss` makes. `excludedPositions` (default: the SAE's
    /// rule, `ExcludedPositions.rule(for:contexts:)`) are left out of every figure and not
    /// spliced.
    public static func evaluate(
        sae: SparseAutoencoder, model: Transformer, contexts: TokenContexts, hook: String,
        maxContexts: Int? = nil, batchSize: Int = 32, excludedPositions: ExcludedPositions? = nil,
        threads: Int = Parallel.defaultThreads,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> SAEMetrics {
        guard let width = try model.hookWidth(hook), width == sae.dIn else {
            throw TransformerError.invalidRequest(reason: "the SAE reads \(sae.dIn)-wide activations but '\(hook)' is \((try? model.hookWidth(hook)).flatMap { $0 }.map(String.init) ?? "not a [token, width] activation")")
        }
        let count = min(contexts.count, maxContexts ?? contexts.count)
        let excluded = excludedPositions ?? ExcludedPositions.rule(for: sae, contexts: contexts)
        let seq = contexts.length, first = excluded.firstCounted
        var stats = ReconstructionStatistics(d: sae.dIn)
        var fired = [Bool](repeating: false, count: sae.dSae)
        var active = 0, rows = 0
        let loss = try ModelLoss.evaluate(model: model, contexts: contexts, range: 0..<count, hook: hook, batchSize: batchSize,
                                          excluded: excluded, threads: threads, progress: progress) { x in
            let (codes, xHat) = sae.reconstruct(x, threads: threads)
            // Each context's counted rows, positions first..<seq, are contiguous.
            let d = x.cols
            x.withUnsafeBufferPointer { xp in xHat.withUnsafeBufferPointer { hp in
                for start in stride(from: 0, to: x.rows, by: seq) {
                    let offset = (start + first) * d
                    stats.add(Reductions.reconstructionStatistics(xp.baseAddress! + offset, hp.baseAddress! + offset,
                                                                  rows: seq - first, d: d, threads: threads))
                }
            }}
            for r in 0..<x.rows where r % seq >= first {
                for e in codes.offsets[r]..<codes.offsets[r + 1] where codes.values[e] != 0 {
                    fired[Int(codes.indices[e])] = true
                    active += 1
                }
            }
            rows += x.rows / seq * (seq - first)
            return xHat  // ModelLoss puts the clean rows back at the excluded positions
        }
        return SAEMetrics(
            hook: hook, excludedPositions: excluded, tokens: rows, mse: stats.meanSquaredError, explainedVariance: stats.explainedVariance,
            l0: Double(active) / Double(max(1, rows)), deadFraction: Double(fired.filter { !$0 }.count) / Double(sae.dSae),
            ceClean: loss.cleanLoss, ceSpliced: loss.splicedLoss, ceZeroAblation: loss.zeroAblationLoss,
            ceMeanAblation: loss.meanAblationLoss, lossRecovered: loss.lossRecovered,
            lossRecoveredVsMeanAblation: loss.lossRecoveredVsMeanAblation, klDivergence: loss.klDivergence)
    }
}
