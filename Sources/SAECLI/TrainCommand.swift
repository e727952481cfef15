import Foundation
import SAEKernels
import SAEModel

/// `sae train`: harvest a hook's activations through the model, train an SAE, save it with
/// its log and metrics, then (unless --no-analysis) run the analyses and write the report.
enum TrainCommand {
    static let command = Command(
        name: "train",
        summary: """
        Trains a sparse autoencoder on a transformer hook's activations, streamed from a token file.
        Writes OUT/sae (SAELens format), OUT/training_log.jsonl, OUT/feature_frequencies.safetensors,
        OUT/metrics.json, and OUT/analysis.json + OUT/report.html. With no options it trains on the
        bundled tiny 1-layer GELU model and its tokens. The defaults are the library's recommended
        setup (TrainingConfig(), TrainingRun): a Swift program gets the same run from TrainingRun.
        """,
        usage: "[--model DIR --tokens FILE] [options]",
        options: [
            OptionSpec(name: "model", value: "DIR", defaultValue: "the bundled tiny-gelu-1l", help: "TransformerLens-layout model folder (config.json, model.safetensors)"),
            OptionSpec(name: "tokens", value: "FILE", defaultValue: "the bundled tokens", help: "training tokens (.npy, or headerless .bin: see --token-dtype)"),
            OptionSpec.tokenDType,
            OptionSpec(name: "eval-tokens", value: "FILE", defaultValue: "held-out contexts", help: "tokens for the final evaluation"),
            OptionSpec(name: "hook", value: "NAME", defaultValue: "blocks.0.mlp.hook_post", help: "hook whose activations to train on"),
            OptionSpec(name: "arch", value: "standard|topk|batchtopk", defaultValue: "topk", help: "SAE architecture"),
            OptionSpec(name: "d-sae", value: "N", defaultValue: nil, help: "number of latents (overrides --expansion)"),
            OptionSpec(name: "expansion", value: "X", defaultValue: "4", help: "latents per input dimension"),
            OptionSpec(name: "k", value: "N", defaultValue: "32", help: "active latents per token (topk, batchtopk)"),
            OptionSpec(name: "l1", value: "C", defaultValue: "2.5", help: "L1 coefficient (standard): higher = sparser. On the bundled model (normalised inputs, 2M tokens) 2 gives L0 98, 2.5 L0 77, 3 L0 62, 5 L0 35; raise it for a lower L0"),
            OptionSpec(name: "decoder", value: "l1-weighted|unit-norm", defaultValue: "l1-weighted", help: "standard: L1 weighted by the decoder-row norms, rows free, init norm 0.1 (SAELens v6), or Anthropic's unit-norm decoder rows"),
            OptionSpec(name: "l1-warmup", value: "STEPS", defaultValue: "5% of the steps", help: "L1 warm-up steps (standard)"),
            OptionSpec(name: "lr", value: "R", defaultValue: "0.001", help: "Adam learning rate, warmed up over min(100, 5% of the steps)"),
            OptionSpec(name: "lr-decay", value: "constant|linear|cosine", defaultValue: "linear", help: "decay over the last 20% of the steps"),
            OptionSpec(name: "batch", value: "N", defaultValue: "4096", help: "tokens per step"),
            OptionSpec(name: "train-tokens", value: "N", defaultValue: "2000000", help: "tokens to train on"),
            OptionSpec(name: "context", value: "N", defaultValue: "128 (at most the model's n_ctx)", help: "tokens per context (BOS first)"),
            OptionSpec(name: "resample", value: "none|reinit|anthropic", defaultValue: "none", help: "feature resampling (reinit: latents that fired on under 1e-5 of the period's tokens; anthropic: dead latents from inputs drawn among 16384 rows by squared loss)"),
            OptionSpec(name: "resample-every", value: "N", defaultValue: "a quarter of the run, at least one batch", help: "tokens between resampling checks"),
            OptionSpec(name: "k-aux", value: "N", defaultValue: "0", help: "AuxK dead-latent loss: latents used (topk, batchtopk; 0: off)"),
            OptionSpec(name: "no-normalize", value: nil, defaultValue: nil, help: "train on raw activations (default: scaled so mean ||x|| = sqrt(d_in), folded on save)"),
            OptionSpec(name: "keep-bos", value: nil, defaultValue: nil, help: "also train on the BOS position's activations"),
            OptionSpec(name: "seed", value: "S", defaultValue: "42", help: "random seed (same seed and options: same weights)"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
            OptionSpec(name: "log-every", value: "STEPS", defaultValue: "10", help: "steps between training-log lines"),
            OptionSpec(name: "snapshot-every", value: "N", defaultValue: "a tenth of the run, at least one batch", help: "tokens between per-feature frequency snapshots"),
            OptionSpec(name: "checkpoint-every", value: "N", defaultValue: "never", help: "tokens between checkpoints (in OUT/checkpoints)"),
            OptionSpec(name: "resume", value: nil, defaultValue: nil, help: "continue from the newest checkpoint in OUT/checkpoints made with the same options: the same weights as an uninterrupted run (never automatic: without it a run starts from scratch)"),
            OptionSpec(name: "eval-contexts", value: "N", defaultValue: "64", help: "contexts for the final evaluation"),
            OptionSpec(name: "no-analysis", value: nil, defaultValue: nil, help: "skip the analyses and the report"),
            OptionSpec(name: "out", value: "DIR", defaultValue: "./sae-output", help: "output folder"),
        ],
        run: run)

    /// Reads the options into a `TrainingRun` (an option not given keeps the library's
    /// recommended value, `TrainingConfig()` and `TrainingRun`'s defaults), then runs it.
    static func run(_ p: ParsedOptions) throws {
        if p.has("model") != p.has("tokens") { throw UsageError(message: "--model and --tokens go together (neither: the bundled default)") }
        let modelDir = try p.existingPath("model") ?? DefaultAssets.model
        let tokens = try p.existingPath("tokens") ?? DefaultAssets.trainTokens
        let evalTokens = try p.existingPath("eval-tokens") ?? (p.has("model") ? nil : DefaultAssets.evalTokens)
        let out = URL(fileURLWithPath: p.string("out") ?? "sae-output")
        let architecture = try p.choice("arch", ["standard", "topk", "batchtopk"])
        let dSae = try p.int("d-sae", min: 1)
        // Bounded before the conversion to Int; the memory check in `validate` judges the size.
        let expansion = try p.double("expansion", min: 0, exclusiveMin: true, max: 1_048_576)
        let k = try p.int("k", min: 1)
        let l1 = try p.double("l1", min: 0, max: 1e6)
        let decoder = try p.choice("decoder", ["l1-weighted", "unit-norm"])
        let lr = try p.double("lr", min: 0, exclusiveMin: true, max: 1)
        let lrDecay = try p.choice("lr-decay", ["constant", "linear", "cosine"])
        let batch = try p.int("batch", min: 1)
        let trainTokens = try p.int("train-tokens", min: 1)
        let l1Warmup = try p.int("l1-warmup", min: 0)
        let seed = try p.int("seed", min: 0)
        let threads = try p.threads()
        let logEvery = try p.int("log-every", min: 1)
        let kAux = try p.int("k-aux", min: 0)
        let snapshotEvery = try p.int("snapshot-every", min: 1)
        let resampleEvery = try p.int("resample-every", min: 1)
        let resample = try p.choice("resample", ["none", "reinit", "anthropic"])
        let checkpointEvery = try p.int("checkpoint-every", min: 1)
        let tokenElementType = try p.tokenElementType()
        let context = try p.int("context", min: 2)
        let evalContexts = try p.int("eval-contexts", min: 1)

        var run = try TrainingRun(modelDirectory: modelDir, tokens: tokens, evalTokens: evalTokens, tokenElementType: tokenElementType,
                                  hook: p.string("hook") ?? "blocks.0.mlp.hook_post", contextLength: context, outputDirectory: out)
        var c = run.config
        if let architecture { c.architecture = SAEArchitecture(rawValue: architecture)! }
        if let dSae { c.dSae = dSae } else if let expansion { c.dSae = TrainingConfig.recommendedDSae(dIn: run.dIn, expansion: expansion) }
        if let k { c.k = k }
        if let l1 { c.l1Coefficient = Float(l1) }
        if let decoder { c.decoderNorm = decoder == "unit-norm" ? .unitNorm : .l1Weighted }
        if decoder != nil && c.architecture != .standard { throw UsageError(message: "--decoder is for --arch standard (topk and batchtopk keep unit-norm decoder rows)") }
        if let lr { c.learningRate = lr }
        if let lrDecay { c.lrDecay = TrainingConfig.LearningRateDecay(rawValue: lrDecay)! }
        if let batch { c.batchSize = batch }
        if let trainTokens { c.trainTokens = trainTokens }
        if let l1Warmup { c.l1WarmupSteps = l1Warmup }
        if let seed { c.seed = UInt64(seed) }
        c.threads = threads
        if let logEvery { c.logEverySteps = logEvery }
        if p.flag("no-normalize") { c.normalizeInput = false }
        if let kAux { c.kAux = kAux }
        if let snapshotEvery { c.frequencySnapshotTokens = snapshotEvery }
        switch resample {
        case "reinit": c.resampling = .reinit(everyTokens: resampleEvery)
        case "anthropic": c.resampling = .anthropic(everyTokens: resampleEvery)
        default: c.resampling = .none
        }
        if let checkpointEvery { c.checkpointTokens = checkpointEvery }
        run.config = c
        do { try run.validate() } catch let e as TrainingError { throw UsageError(message: "\(e)") }
        run.skipBOS = !p.flag("keep-bos")
        if let evalContexts { run.evalContexts = evalContexts }
        run.resume = p.flag("resume")
        if p.flag("no-analysis") { run.analysis = nil }

        let progress = Progress()
        progress.phase("training a \(c.architecture.rawValue) SAE (d_in \(run.dIn), d_sae \(c.dSae)\(c.architecture == .standard ? ", l1 \(c.l1Coefficient)" : ", k \(c.k)")) on \(run.hook), \(Progress.count(c.trainTokens)) tokens, \(c.threads) threads")
        let totalSteps = c.trainTokens / c.batchSize
        let result = try run.run { event in
            switch event {
            case .phase(let text): progress.phase(text)
            case .log(let r):
                let eta = r.tokensPerSecond > 0 ? Double(c.trainTokens - r.tokens) / r.tokensPerSecond : .nan
                progress.update(String(format: "step %d/%d  tokens %@/%@  %@ tok/s  ETA %@  mse %.4g  ev %.3f  L0 %.1f  dead %.1f%%",
                                       r.step, totalSteps, Progress.count(r.tokens), Progress.count(c.trainTokens),
                                       Progress.count(Int(r.tokensPerSecond)), Progress.duration(eta), r.mse, r.explainedVariance,
                                       r.l0, 100 * r.deadFraction), force: r.step == totalSteps)
            case .evaluation(let done, let total):
                progress.update("evaluating: \(done)/\(total) context passes (clean, then spliced)", force: done == total)
                if done == total { progress.endLine() }
            case .analysis(let step): progress.update("analysis: \(step)")
            }
        }
        progress.endLine()
        print(result.metrics.json())
        if let report = result.reportFile { progress.phase("report: \(report.path)") }
    }
}
