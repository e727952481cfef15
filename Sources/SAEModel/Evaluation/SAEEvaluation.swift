import Foundation
import SAEKernels

/// The standard metrics of an SAE on a model's hook: reconstruction (MSE, explained
/// variance), sparsity (L0, dead fraction over the evaluated tokens) and what splicing the
/// reconstruction does to the model's loss (`ModelLoss`: CE clean / spliced / zero- and
/// mean-ablated, loss recovered, KL).
public struct SAEMetrics: Codable, Sendable, Equatable {
    public var hook: String
    public var tokens: Int
    /// Mean over tokens and dimensions of `(x - x_hat)^2`.
    public var mse: Double
    /// `1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2`.
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
        case explainedVariance = "explained_variance", deadFraction = "dead_fraction"
        case ceClean = "ce_clean", ceSpliced = "ce_spliced", ceZeroAblation = "ce_zero_ablation", ceMeanAblation = "ce_mean_ablation"
        case lossRecovered = "loss_recovered", lossRecoveredVsMeanAblation = "loss_recovered_vs_mean_ablation"
        case klDivergence = "kl_divergence"
    }

    /// Pretty JSON with sorted keys (NaN written as a string).
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}

public enum SAEEvaluation {
    /// Evaluates `sae` on `hook` of `model` over `contexts` (all of them, or the first
    /// `maxContexts`), batched. The reconstruction statistics and firing counts come from
    /// the same spliced runs that `ModelLoss` makes.
    public static func evaluate(
        sae: SparseAutoencoder, model: Transformer, contexts: TokenContexts, hook: String,
        maxContexts: Int? = nil, batchSize: Int = 32, threads: Int = Parallel.defaultThreads,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> SAEMetrics {
        guard let width = try model.hookWidth(hook), width == sae.dIn else {
            throw TransformerError.invalidRequest(reason: "the SAE reads \(sae.dIn)-wide activations but '\(hook)' is \((try? model.hookWidth(hook)).flatMap { $0 }.map(String.init) ?? "not a [token, width] activation")")
        }
        let count = min(contexts.count, maxContexts ?? contexts.count)
        var stats = ReconstructionStatistics(d: sae.dIn)
        var fired = [Bool](repeating: false, count: sae.dSae)
        var active = 0, rows = 0
        let loss = try ModelLoss.evaluate(model: model, contexts: contexts, range: 0..<count, hook: hook, batchSize: batchSize,
                                          threads: threads, progress: progress) { x in
            let (codes, xHat) = sae.reconstruct(x, threads: threads)
            x.withUnsafeBufferPointer { xp in xHat.withUnsafeBufferPointer { hp in
                stats.add(Reductions.reconstructionStatistics(xp.baseAddress!, hp.baseAddress!, rows: x.rows, d: x.cols, threads: threads))
            }}
            for (e, j) in codes.indices.enumerated() where codes.values[e] != 0 { fired[Int(j)] = true; active += 1 }
            rows += x.rows
            return xHat
        }
        return SAEMetrics(
            hook: hook, tokens: rows, mse: stats.meanSquaredError, explainedVariance: stats.explainedVariance,
            l0: Double(active) / Double(max(1, rows)), deadFraction: Double(fired.filter { !$0 }.count) / Double(sae.dSae),
            ceClean: loss.cleanLoss, ceSpliced: loss.splicedLoss, ceZeroAblation: loss.zeroAblationLoss,
            ceMeanAblation: loss.meanAblationLoss, lossRecovered: loss.lossRecovered,
            lossRecoveredVsMeanAblation: loss.lossRecoveredVsMeanAblation, klDivergence: loss.klDivergence)
    }
}
