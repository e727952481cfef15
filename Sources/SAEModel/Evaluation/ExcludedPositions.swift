import SAEKernels

/// The positions of each context an SAE is not evaluated on: the ones its training skipped.
///
/// One rule for training, `sae eval` (`SAEEvaluation`, `ModelLoss`, `metrics.json`) and the
/// analyses (`FeatureAnalysis`, `report.html`). At an excluded position:
/// - the activation is left out of MSE, explained variance, L0 and feature density;
/// - the SAE is not spliced: the model keeps its clean activation there;
/// - the prediction made at that position (its next-token loss) and its KL are left out of
///   the loss means, since they are the clean model's.
/// Zero and mean ablation still replace every position (the baselines ablate the whole hook).
///
/// This is SAELens's evaluation rule (`sae_lens.evals`, 6.54: `torch.where(mask, x_hat, x)`
/// in the spliced run, the mask applied to every metric, `mask[:, :-1]` for the losses),
/// with one difference: SAELens leaves out every token whose *id* is special, SAEKit the
/// *position* training skipped (position 0, BOS). A BOS id inside a context (a document
/// separator) is trained on by SAEKit's trainer, so it is evaluated too.
public enum ExcludedPositions: String, Codable, Sendable, CaseIterable {
    /// Every position is evaluated and spliced.
    case none
    /// Position 0 of every context, the BOS token the contexts start with.
    case bos

    /// The first position to evaluate in each context (0 or 1).
    public var firstCounted: Int { self == .bos ? 1 : 0 }

    /// The key SAEKit writes into `cfg.json`'s `metadata` (`"bos"` or `"none"`).
    public static let metadataKey = "excluded_positions"

    /// The rule for an SAE with `metadata` on contexts whose first token is `bos` (nil: the
    /// contexts have no BOS, so nothing is excluded). From the SAE's `metadata`:
    /// 1. `excluded_positions` (`"bos"` / `"none"`), written by SAEKit's trainer;
    /// 2. else SAELens's `exclude_special_tokens`: `true`, or a list holding `bos`, gives
    ///    `.bos`; `false` or a list without it gives `.none` (SAELens's trainer then saw BOS);
    /// 3. else `.bos`: what SAEKit's trainer does by default (`--keep-bos` off), and what
    ///    SAELens's `run_evals` does by default (`exclude_special_tokens=True`).
    public static func rule(metadata: SAEMetadata, bos: Int32?) -> ExcludedPositions {
        guard let bos else { return .none }
        if let s = metadata.extra[metadataKey], let rule = ExcludedPositions(rawValue: s) { return rule }
        switch metadata.otherMetadata["exclude_special_tokens"] {
        case .bool(let b)?: return b ? .bos : .none
        case .array(let ids)?: return ids.contains { $0.intValue == Int(bos) } ? .bos : .none
        default: return .bos
        }
    }

    /// `rule(metadata: sae.metadata, bos: contexts.bos)`.
    public static func rule(for sae: SparseAutoencoder, contexts: TokenContexts) -> ExcludedPositions {
        rule(metadata: sae.metadata, bos: contexts.bos)
    }

    /// Puts back the clean rows of `clean` at the excluded positions of `spliced` (both
    /// `[contexts * seq, d]`, row `c * seq + p` = position `p` of context `c`).
    func restoreExcludedRows(of spliced: inout Matrix, from clean: Matrix, seq: Int) {
        guard self == .bos else { return }
        precondition(spliced.rows == clean.rows && spliced.cols == clean.cols && seq > 0 && clean.rows % seq == 0,
                     "ExcludedPositions: shapes \(spliced.rows)x\(spliced.cols) and \(clean.rows)x\(clean.cols), seq \(seq)")
        let d = clean.cols
        clean.withUnsafeBufferPointer { src in
            spliced.withUnsafeMutableBufferPointer { dst in
                for r in stride(from: 0, to: clean.rows, by: seq) {
                    for j in 0..<d { dst[r * d + j] = src[r * d + j] }
                }
            }
        }
    }
}
