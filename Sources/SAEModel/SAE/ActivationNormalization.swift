/// SAELens's `normalize_activations` settings that SAEKit reads and writes.
///
/// - `none`: the SAE takes the activations as they are.
/// - `expectedAverageOnlyIn` (Anthropic's April 2024 update): training scales every input by
///   one constant `s = sqrt(d_in) / E‖x‖`. SAELens folds `s` into the weights when it
///   finishes training (`fold_activation_norm_scaling_factor`: `W_enc *= s`, `W_dec /= s`,
///   `b_dec /= s`) and writes `"none"`; its inference SAEs apply no scaling at run time. SAEKit
///   loads the factor from `activation_scaler.json` (`{"scaling_factor": s}`, SAELens's
///   checkpoint file) or a `norm_scaling_factor` number in `cfg.json` (the name SAELens's
///   pretrained directory uses) and folds it the same way, giving an SAE that takes raw
///   activations and says `none`. Without a stored factor the setting is kept and, as in
///   SAELens, `encode` applies no scaling: the caller must pass already-scaled inputs.
public enum ActivationNormalization: String, Sendable, Equatable, CaseIterable {
    case none = "none"
    case expectedAverageOnlyIn = "expected_average_only_in"
}
