import SAEKernels

/// A sparse autoencoder in SAELens's layout and semantics.
///
/// Shapes (all row-major Float32):
/// - `wEnc` is `dIn x dSae` (SAELens's `W_enc`; column `j` is feature `j`'s encoder vector),
/// - `bEnc` has `dSae` entries, `wDec` is `dSae x dIn` (row `j` is feature `j`'s decoder
///   direction), `bDec` has `dIn`,
/// - `threshold` (jumprelu, batchtopk) has `dSae` entries; batchtopk keeps its one global
///   threshold here, repeated, as SAELens writes it when it saves a batchtopk SAE.
///
/// With `x` one input row, `c = x - b_dec` if `applyBDecToInput` else `x`, and
/// `pre = c W_enc + b_enc`, the feature activations are (see `SAEArchitecture`):
/// - standard: `f = ReLU(pre)`;
/// - topk: `s = pre ⊙ n` if `rescaleActsByDecoderNorm` (n_j = ‖W_dec[j]‖₂) else `s = pre`;
///   `f_j = ReLU(s_j)` for the `k` largest `s_j`, 0 elsewhere;
/// - jumprelu: `f_j = pre_j` where `pre_j > max(θ_j, 0)`, else 0 (SAELens's `ReLU(pre)·[pre > θ]`);
/// - batchtopk (inference): as jumprelu on `s` (the rescaled `pre` when rescaling).
///
/// and the reconstruction is `x̂ = f' W_dec + b_dec` with `f'_j = f_j / n_j` when the
/// activations were rescaled by the decoder norms, else `f' = f`. `encode` returns `f`,
/// exactly what SAELens's `encode` returns, and `decode` takes it.
public struct SparseAutoencoder: Sendable, Equatable {
    public var architecture: SAEArchitecture
    /// Input width (`d_in`).
    public var dIn: Int
    /// Number of latents (`d_sae`).
    public var dSae: Int
    /// Latents kept per row (topk, required) or on average per row over a batch (batchtopk,
    /// used by training only: inference thresholds); nil for the other architectures.
    public var k: Int?
    /// `W_enc`, `dIn x dSae`.
    public var wEnc: Matrix
    /// `b_enc`, `dSae` entries.
    public var bEnc: [Float]
    /// `W_dec`, `dSae x dIn`.
    public var wDec: Matrix
    /// `b_dec`, `dIn` entries.
    public var bDec: [Float]
    /// Per-feature JumpReLU thresholds θ (jumprelu, batchtopk); nil for the others.
    public var threshold: [Float]?
    /// SAELens `apply_b_dec_to_input`: subtract `b_dec` from the input before encoding.
    public var applyBDecToInput: Bool
    /// SAELens `rescale_acts_by_decoder_norm` (topk, batchtopk): rank and threshold
    /// `pre ⊙ ‖W_dec‖_row`, divide by the norms again in `decode`.
    public var rescaleActsByDecoderNorm: Bool
    /// SAELens `normalize_activations` (see `ActivationNormalization`).
    public var normalizeActivations: ActivationNormalization
    /// The element type the weights are saved as (F32, F16, BF16 or F64); loading keeps the
    /// file's. Computation is always in Float32. `cfg.json`'s `dtype` is written to match.
    public var weightDType: DType
    public var metadata: SAEMetadata

    /// An SAE with the given weights; any weight not given is zero (the threshold of a
    /// jumprelu / batchtopk SAE too). `k` (in `1...dSae`) is required for topk, optional for
    /// batchtopk and dropped for the others.
    public init(architecture: SAEArchitecture, dIn: Int, dSae: Int, k: Int? = nil,
                wEnc: Matrix? = nil, bEnc: [Float]? = nil, wDec: Matrix? = nil, bDec: [Float]? = nil,
                threshold: [Float]? = nil, applyBDecToInput: Bool = true,
                rescaleActsByDecoderNorm: Bool = false,
                normalizeActivations: ActivationNormalization = .none,
                weightDType: DType = .f32, metadata: SAEMetadata = SAEMetadata()) {
        precondition(dIn > 0 && dSae > 0, "SparseAutoencoder: dIn \(dIn) and dSae \(dSae) must be positive")
        self.architecture = architecture
        self.dIn = dIn
        self.dSae = dSae
        self.k = architecture.usesK ? k : nil
        self.wEnc = wEnc ?? Matrix(rows: dIn, cols: dSae)
        self.bEnc = bEnc ?? [Float](repeating: 0, count: dSae)
        self.wDec = wDec ?? Matrix(rows: dSae, cols: dIn)
        self.bDec = bDec ?? [Float](repeating: 0, count: dIn)
        self.threshold = architecture.usesThreshold ? (threshold ?? [Float](repeating: 0, count: dSae)) : nil
        self.applyBDecToInput = applyBDecToInput
        self.rescaleActsByDecoderNorm = architecture.usesK && rescaleActsByDecoderNorm
        self.normalizeActivations = normalizeActivations
        self.weightDType = weightDType
        self.metadata = metadata
        if let problem = shapeProblem() { preconditionFailure("SparseAutoencoder: \(problem)") }
    }

    /// A freshly initialised SAE, deterministic in `seed`, as SAELens (after Anthropic's
    /// April 2024 update) initialises one: `W_dec` Kaiming-uniform (`U(-b, b)`,
    /// `b = sqrt(6 / dIn)`, PyTorch's `kaiming_uniform_` on a `dSae x dIn` tensor), each row
    /// then scaled to norm `decoderNorm` (1: unit-norm rows; SAELens's training default is
    /// 0.1), `W_enc = W_dec^T`, `b_enc = b_dec = 0`. Thresholds start at
    /// `initialThreshold` (jumprelu; SAELens's `jumprelu_init_threshold` is 0.01) or 0
    /// (batchtopk, whose threshold is learned from the batches).
    public static func random(architecture: SAEArchitecture, dIn: Int, dSae: Int, k: Int? = nil,
                              seed: UInt64, decoderNorm: Float = 1, initialThreshold: Float = 0.01,
                              rescaleActsByDecoderNorm: Bool = false,
                              metadata: SAEMetadata = SAEMetadata()) -> SparseAutoencoder {
        var rng = SeededRandom(seed: seed)
        let bound = (6 / Float(dIn)).squareRoot()
        var wDec = Matrix(rows: dSae, cols: dIn)
        wDec.withUnsafeMutableBufferPointer { w in
            for i in 0..<w.count { w[i] = rng.uniform(-bound, bound) }
            for j in 0..<dSae {
                var ss: Double = 0
                for i in 0..<dIn { ss += Double(w[j * dIn + i]) * Double(w[j * dIn + i]) }
                let scale = ss > 0 ? Float(Double(decoderNorm) / ss.squareRoot()) : 0
                for i in 0..<dIn { w[j * dIn + i] *= scale }
            }
        }
        let thresholds: [Float]? = switch architecture {
        case .jumprelu: [Float](repeating: initialThreshold, count: dSae)
        case .batchtopk: [Float](repeating: 0, count: dSae)
        case .standard, .topk: nil
        }
        return SparseAutoencoder(architecture: architecture, dIn: dIn, dSae: dSae, k: k,
                                 wEnc: wDec.transposed(), wDec: wDec, threshold: thresholds,
                                 rescaleActsByDecoderNorm: rescaleActsByDecoderNorm, metadata: metadata)
    }

    /// A description of the first inconsistency among the shapes and fields, or nil.
    public func shapeProblem() -> String? {
        if wEnc.rows != dIn || wEnc.cols != dSae { return "W_enc is \(wEnc.rows)x\(wEnc.cols), expected \(dIn)x\(dSae)" }
        if wDec.rows != dSae || wDec.cols != dIn { return "W_dec is \(wDec.rows)x\(wDec.cols), expected \(dSae)x\(dIn)" }
        if bEnc.count != dSae { return "b_enc has \(bEnc.count) entries, expected \(dSae)" }
        if bDec.count != dIn { return "b_dec has \(bDec.count) entries, expected \(dIn)" }
        if architecture.usesThreshold {
            guard let threshold else { return "\(architecture.rawValue) needs a threshold" }
            if threshold.count != dSae { return "threshold has \(threshold.count) entries, expected \(dSae)" }
        }
        if architecture == .topk && k == nil { return "topk needs k" }
        if let k, k < 1 || k > dSae { return "k = \(k) must be in 1...\(dSae)" }
        if !weightDType.isFloatingPoint { return "weightDType \(weightDType) is not a floating-point type" }
        return nil
    }
}
