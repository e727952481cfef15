/// The SAE architectures SAEKit trains and reads, named as SAELens names them in `cfg.json`.
///
/// With `pre = (x - b_dec·[apply_b_dec_to_input]) W_enc + b_enc` (one row `x` of `d_in`
/// values, `pre` of `d_sae`), the feature activations `f` are:
/// - `standard`: `f = ReLU(pre)`; trained with an L1 penalty weighted by decoder-row norms.
/// - `topk`: `f_j = ReLU(s_j)` for the `k` largest `s_j` of the row, 0 elsewhere, where
///   `s = pre ⊙ ‖W_dec‖_row` when `rescale_acts_by_decoder_norm`, else `s = pre`.
/// - `batchtopk`: trained with a top-(k·batch) over the whole batch; at inference it is a
///   JumpReLU with one global threshold θ (stored per feature, repeated):
///   `f_j = s_j if s_j > max(θ_j, 0) else 0`.
/// - `jumprelu`: `f_j = ReLU(pre_j) · [pre_j > θ_j]`, i.e. `pre_j` where `pre_j > max(θ_j, 0)`.
///
/// The reconstruction is `x̂ = f' W_dec + b_dec` with `f' = f ⊘ ‖W_dec‖_row` when the
/// activations were rescaled (topk / batchtopk with `rescale_acts_by_decoder_norm`), else `f`.
public enum SAEArchitecture: String, Codable, Sendable, CaseIterable {
    case standard
    case topk
    case batchtopk
    case jumprelu

    /// Whether the architecture selects a fixed number `k` of latents (per row for topk,
    /// on average over a batch for batchtopk).
    public var usesK: Bool { self == .topk || self == .batchtopk }

    /// Whether the architecture has a per-feature threshold (`threshold` tensor).
    public var usesThreshold: Bool { self == .jumprelu || self == .batchtopk }
}
