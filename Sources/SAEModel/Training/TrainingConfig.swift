import Foundation
import SAEKernels

/// Everything that decides a training run. Same config and seed, same weights, whatever
/// the thread count.
///
/// `TrainingConfig()` is the recommended setup, the one `sae train` runs with no options:
/// TopK (k 32), Adam 1e-3 (0.9/0.999) with a linear decay over the last 20% of the steps,
/// inputs normalised, batches of 4096, 2M tokens, a log record every 10 steps; the standard
/// SAE (when chosen) as SAELens v6 trains it: L1 2.5 weighted by the decoder-row norms,
/// decoder rows free and initialised at norm 0.1.
///
/// The values that depend on the run's length are optional: nil (the default) derives them
/// from `trainTokens` and `batchSize`, with `steps = max(1, trainTokens / batchSize)`, in one
/// place, the `effective...` properties below (and `resolved()`, which writes them all in):
///
/// | field | nil means |
/// |---|---|
/// | `lrWarmupSteps` | `min(100, steps / 20)` |
/// | `l1WarmupSteps` | standard: `steps / 20`; TopK, BatchTopK: 0 |
/// | `frequencyWindowTokens`, `deadTokens` | `min(1_000_000, max(batchSize, trainTokens / 10))` |
/// | `frequencySnapshotTokens` | `max(batchSize, trainTokens / 10)` |
/// | the resampling interval (`Resampling`'s `everyTokens`) | `max(batchSize, trainTokens / 4)` |
///
/// `dSae` is the one size the config cannot derive (it does not know `d_in`): `TrainingRun`
/// sets it to `recommendedDSae(dIn:)`, 4 latents per input dimension.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var architecture: SAEArchitecture = .topk
    /// Latents. `TrainingRun` sets it to `recommendedDSae(dIn:)` (4 x d_in); 4096 otherwise.
    public var dSae: Int = 4096
    /// TopK / BatchTopK: active latents per row (mean per row for BatchTopK).
    public var k: Int = 32
    /// Standard: the L1 coefficient; higher is sparser. Its scale depends on the input norm: with
    /// `normalizeInput` and `.l1Weighted`, 2 to 3 take the bundled one-layer model (d_sae 2048,
    /// 2M tokens) from L0 about 100 to about 60 (the README's table).
    public var l1Coefficient: Float = 2.5
    /// Standard (L1) SAE: how the decoder-row norms are handled (TopK and BatchTopK always keep
    /// unit-norm rows).
    public var decoderNorm: DecoderNorm = .l1Weighted
    /// `.l1Weighted`: the norm of every decoder row at initialisation, with `W_enc = W_dec^T`
    /// (SAELens's `decoder_init_norm`, Anthropic's April 2024 update).
    public var decoderInitNorm: Float = 0.1
    /// Steps over which the L1 coefficient rises linearly from 0 (0: none; nil: see
    /// `effectiveL1WarmupSteps`).
    public var l1WarmupSteps: Int? = nil
    public var learningRate: Double = 1e-3
    public var adamBeta1: Double = 0.9
    public var adamBeta2: Double = 0.999
    public var adamEpsilon: Double = 1e-8
    /// Steps over which the learning rate rises linearly from 0 (nil: see
    /// `effectiveLRWarmupSteps`).
    public var lrWarmupSteps: Int? = nil
    public var lrDecay: LearningRateDecay = .linear
    /// Fraction of the run, at its end, over which the learning rate decays (to 0 for
    /// linear, to `minLearningRateFraction` for cosine).
    public var lrDecayFraction: Double = 0.2
    public var minLearningRateFraction: Double = 0
    /// Clip the global gradient norm to this value (nil: no clipping).
    public var gradientClipNorm: Double? = nil
    public var batchSize: Int = 4096
    /// Training stops after this many activation rows (tokens).
    public var trainTokens: Int = 2_000_000
    public var seed: UInt64 = 42
    public var threads: Int = Parallel.defaultThreads
    /// The shuffled buffer holds this many batches; refilled and reshuffled when half empty.
    public var bufferBatches: Int = 32
    public var resampling: Resampling = .none
    /// Scale inputs so that the mean ||x|| is sqrt(d_in); folded into the weights on save.
    public var normalizeInput: Bool = true
    public var bDecInit: BDecInit = .geometricMedian
    /// Rows used to estimate b_dec and the input scale.
    public var initSampleRows: Int = 8192
    public var logEverySteps: Int = 10
    /// Window for the dead / low-frequency fractions in the log (nil: see
    /// `effectiveFrequencyWindowTokens`).
    public var frequencyWindowTokens: Int? = nil
    /// Save per-feature firing frequencies every this many tokens (0: never; nil: see
    /// `effectiveFrequencySnapshotTokens`).
    public var frequencySnapshotTokens: Int? = nil
    /// AuxK (TopK, BatchTopK): latents that have not fired for this many tokens are dead
    /// (nil: see `effectiveDeadTokens`).
    public var deadTokens: Int? = nil
    /// AuxK: how many dead latents reconstruct the residual (0: no AuxK loss).
    public var kAux: Int = 0
    public var auxCoefficient: Float = 1.0 / 32
    /// Codes denser than this fraction of d_sae use the dense backward.
    public var denseDensity: Double = 0.05
    /// Keep the encoder orthogonal to these directions (each d_in long) after every step.
    public var encoderOrthogonalTo: [[Float]] = []
    /// Write a checkpoint every this many tokens (0: never) into `checkpointDirectory`.
    public var checkpointTokens: Int = 0
    public var checkpointDirectory: String? = nil
    /// BatchTopK: EMA rate of the inference threshold (the smallest kept activation).
    public var thresholdMomentum: Double = 0.99

    public init() {}

    public enum LearningRateDecay: String, Codable, Sendable { case constant, linear, cosine }

    /// The standard SAE's decoder-norm handling. Both make the L1 penalty blind to a rescaling
    /// of a latent (`f_j -> c f_j`, `W_dec[j] -> W_dec[j] / c`), which would otherwise shrink the
    /// codes towards zero for free.
    public enum DecoderNorm: String, Codable, Sendable {
        /// Anthropic's "Towards Monosemanticity" setup: the decoder rows are kept at unit norm
        /// (the gradient's radial component removed, Adam, rows renormalised after every step)
        /// and the penalty is `l1 * (1/B) sum_r sum_j f_rj`; rows initialised at unit norm.
        case unitNorm = "unit_norm"
        /// SAELens v6's standard SAE (Anthropic's April 2024 update): the decoder rows are free
        /// parameters under plain Adam and the penalty is `l1 * (1/B) sum_r sum_j f_rj ||W_dec[j]||`;
        /// rows initialised at norm `decoderInitNorm` with `W_enc = W_dec^T`.
        case l1Weighted = "l1_weighted"
    }

    /// The decoder-norm handling this config's architecture trains with: `decoderNorm` for the
    /// standard SAE, unit norm otherwise.
    public var effectiveDecoderNorm: DecoderNorm { architecture == .standard ? decoderNorm : .unitNorm }

    public enum BDecInit: String, Codable, Sendable { case zeros, mean, geometricMedian = "geometric_median" }

    public enum Resampling: Codable, Sendable, Equatable {
        case none
        /// Every `everyTokens` (nil: a quarter of the run, see `effectiveResamplingTokens`),
        /// re-initialise latents whose firing frequency over that period is below `frequencyBelow`.
        case reinit(everyTokens: Int? = nil, frequencyBelow: Double = 1e-5)
        /// Anthropic's scheme ("Towards Monosemanticity"): every `everyTokens`, for latents that
        /// did not fire in that period, pick inputs with probability proportional to their squared
        /// reconstruction loss (over `sampleRows` rows), set the decoder row to the normalised
        /// input, the encoder column to it times 0.2 x the mean alive encoder norm, b_enc to 0,
        /// and reset those latents' Adam moments. `everyTokens` nil: a quarter of the run.
        case anthropic(everyTokens: Int? = nil, sampleRows: Int = 16384)
    }

    /// Checks the values; the message names the field and the problem.
    public func validate(dIn: Int) throws {
        func bad(_ s: String) -> TrainingError { .invalidConfig(s) }
        guard dIn > 0 else { throw bad("d_in must be positive, got \(dIn)") }
        guard dSae > 0 else { throw bad("d_sae must be positive, got \(dSae)") }
        guard batchSize > 0 else { throw bad("batch size must be positive, got \(batchSize)") }
        guard trainTokens >= batchSize else { throw bad("train tokens (\(trainTokens)) must be at least one batch (\(batchSize))") }
        guard threads >= 1 else { throw bad("threads must be >= 1, got \(threads)") }
        guard bufferBatches >= 2 else { throw bad("the buffer must hold at least 2 batches, got \(bufferBatches)") }
        // Sizes first: every product of them below stays far from Int.max once this holds.
        let bytes = estimatedMemoryBytes(dIn: dIn)
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes <= available else {
            throw bad("d_in \(dIn) x d_sae \(dSae) with batch \(batchSize) (buffer of \(bufferBatches) batches) needs about "
                      + "\(Self.gibibytes(bytes)) of memory for weights, gradients, Adam moments and the activation buffer; "
                      + "this machine has \(Self.gibibytes(available))")
        }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning rate must be positive, got \(learningRate)") }
        guard (0..<1).contains(adamBeta1), (0..<1).contains(adamBeta2) else { throw bad("Adam betas must be in [0, 1)") }
        guard adamEpsilon > 0, adamEpsilon.isFinite else { throw bad("Adam epsilon must be positive, got \(adamEpsilon)") }
        guard l1Coefficient >= 0, l1Coefficient.isFinite else { throw bad("l1 coefficient must be >= 0, got \(l1Coefficient)") }
        guard effectiveL1WarmupSteps >= 0, effectiveLRWarmupSteps >= 0 else { throw bad("warm-up steps must be >= 0") }
        guard (0...1).contains(minLearningRateFraction) else { throw bad("min learning-rate fraction must be in [0, 1], got \(minLearningRateFraction)") }
        if let clip = gradientClipNorm {
            // A norm of 0 or below would scale every step by a non-positive factor (uphill or frozen).
            guard clip > 0, clip.isFinite else { throw bad("gradient clip norm must be a positive number (or none), got \(clip)") }
        }
        guard initSampleRows >= 1 else { throw bad("init sample rows must be >= 1, got \(initSampleRows)") }
        guard logEverySteps >= 1 else { throw bad("log every steps must be >= 1, got \(logEverySteps)") }
        guard effectiveFrequencyWindowTokens >= 1 else { throw bad("frequency window tokens must be >= 1, got \(effectiveFrequencyWindowTokens)") }
        guard effectiveFrequencySnapshotTokens >= 0, checkpointTokens >= 0 else { throw bad("snapshot and checkpoint intervals must be >= 0") }
        guard effectiveDeadTokens >= 1 else { throw bad("dead tokens must be >= 1, got \(effectiveDeadTokens)") }
        guard kAux >= 0 && kAux <= dSae else { throw bad("k_aux must be in 0...\(dSae), got \(kAux)") }
        guard auxCoefficient >= 0, auxCoefficient.isFinite else { throw bad("AuxK coefficient must be >= 0, got \(auxCoefficient)") }
        guard (0...1).contains(denseDensity) else { throw bad("dense density must be in [0, 1], got \(denseDensity)") }
        guard (0..<1).contains(thresholdMomentum) else { throw bad("threshold momentum must be in [0, 1), got \(thresholdMomentum)") }
        switch resampling {
        case .none: break
        case let .reinit(_, below):
            let every = effectiveResamplingTokens ?? 0
            guard every >= 1 else { throw bad("resampling interval must be >= 1 token, got \(every)") }
            guard below >= 0, below.isFinite else { throw bad("resampling frequency threshold must be >= 0, got \(below)") }
        case let .anthropic(_, rows):
            let every = effectiveResamplingTokens ?? 0
            guard every >= 1 else { throw bad("resampling interval must be >= 1 token, got \(every)") }
            guard rows >= 1 && rows <= 1 << 24 else { throw bad("resampling sample rows must be in 1...\(1 << 24), got \(rows)") }
        }
        if effectiveDecoderNorm == .l1Weighted {
            guard decoderInitNorm > 0, decoderInitNorm.isFinite else { throw bad("decoder init norm must be positive, got \(decoderInitNorm)") }
        }
        if architecture == .topk || architecture == .batchtopk {
            guard k >= 1 && k <= dSae else { throw bad("k must be in 1...\(dSae), got \(k)") }
        }
        if architecture == .jumprelu { throw bad("JumpReLU SAEs are loaded and run, not trained here; train batchtopk to get a JumpReLU threshold") }
        guard lrDecayFraction >= 0 && lrDecayFraction <= 1 else { throw bad("lr decay fraction must be in [0, 1]") }
        for (i, d) in encoderOrthogonalTo.enumerated() where d.count != dIn {
            throw bad("orthogonal direction \(i) has \(d.count) entries, d_in is \(dIn)")
        }
        if checkpointTokens > 0 && checkpointDirectory == nil { throw bad("checkpoint tokens set without a checkpoint directory") }
    }

    /// Bytes a run needs, roughly (4-byte floats): the two weight matrices with their gradients
    /// and two Adam moments each (`8 d_in d_sae`), the shuffled buffer and the batch
    /// (`(bufferBatches + 2) batch d_in`), and the dense path's codes (`2 batch d_sae`).
    /// Computed in Double, so absurd sizes give a large number instead of an overflow.
    public func estimatedMemoryBytes(dIn: Int) -> Double {
        let d = Double(dIn), s = Double(dSae), b = Double(batchSize)
        return 4 * (8 * d * s + (Double(bufferBatches) + 2) * b * d + 2 * b * s)
    }

    static func gibibytes(_ bytes: Double) -> String {
        let g = bytes / Double(1 << 30)
        return g < 1e6 ? String(format: "%.1f GiB", g) : String(format: "%.2g GiB", g)
    }
}

/// Why training stopped or refused to start.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case nonFinite(step: Int, what: String)
    case sourceExhausted(tokens: Int)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid training config: \(s)"
        case .nonFinite(let step, let what): return "training diverged at step \(step): \(what) is not finite (lower the learning rate or enable gradient clipping)"
        case .sourceExhausted(let n): return "the activation source ran out after \(n) tokens, before one batch"
        case .checkpoint(let s): return "checkpoint: \(s)"
        }
    }
}
