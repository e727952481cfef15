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
        bundled tiny 1-layer GELU model and its tokens.
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
            OptionSpec(name: "lr", value: "R", defaultValue: "0.001", help: "Adam learning rate"),
            OptionSpec(name: "lr-decay", value: "constant|linear|cosine", defaultValue: "linear", help: "decay over the last 20% of the steps"),
            OptionSpec(name: "batch", value: "N", defaultValue: "4096", help: "tokens per step"),
            OptionSpec(name: "train-tokens", value: "N", defaultValue: "2000000", help: "tokens to train on"),
            OptionSpec(name: "context", value: "N", defaultValue: "128 (at most the model's n_ctx)", help: "tokens per context (BOS first)"),
            OptionSpec(name: "resample", value: "none|reinit|anthropic", defaultValue: "none", help: "feature resampling"),
            OptionSpec(name: "resample-every", value: "N", defaultValue: "a quarter of the run", help: "tokens between resampling checks"),
            OptionSpec(name: "k-aux", value: "N", defaultValue: "0", help: "AuxK dead-latent loss: latents used (topk, batchtopk; 0: off)"),
            OptionSpec(name: "no-normalize", value: nil, defaultValue: nil, help: "train on raw activations (default: scaled so mean ||x|| = sqrt(d_in), folded on save)"),
            OptionSpec(name: "keep-bos", value: nil, defaultValue: nil, help: "also train on the BOS position's activations"),
            OptionSpec(name: "seed", value: "S", defaultValue: "42", help: "random seed (same seed and options: same weights)"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
            OptionSpec(name: "log-every", value: "STEPS", defaultValue: "10", help: "steps between training-log lines"),
            OptionSpec(name: "snapshot-every", value: "N", defaultValue: "a tenth of the run", help: "tokens between per-feature frequency snapshots"),
            OptionSpec(name: "checkpoint-every", value: "N", defaultValue: "never", help: "tokens between checkpoints (in OUT/checkpoints)"),
            OptionSpec(name: "resume", value: nil, defaultValue: nil, help: "continue from the newest checkpoint in OUT/checkpoints made with the same options: the same weights as an uninterrupted run (never automatic: without it a run starts from scratch)"),
            OptionSpec(name: "eval-contexts", value: "N", defaultValue: "64", help: "contexts for the final evaluation"),
            OptionSpec(name: "no-analysis", value: nil, defaultValue: nil, help: "skip the analyses and the report"),
            OptionSpec(name: "out", value: "DIR", defaultValue: "./sae-output", help: "output folder"),
        ],
        run: run)

    static func run(_ p: ParsedOptions) throws {
        if p.has("model") != p.has("tokens") { throw UsageError(message: "--model and --tokens go together (neither: the bundled default)") }
        let modelDir = try p.existingPath("model") ?? DefaultAssets.model
        let tokens = try p.existingPath("tokens") ?? DefaultAssets.trainTokens
        let evalTokens = try p.existingPath("eval-tokens") ?? (p.has("model") ? nil : DefaultAssets.evalTokens)
        let out = URL(fileURLWithPath: p.string("out") ?? "sae-output")
        let model = try TransformerConfig(contentsOf: modelDir.appendingPathComponent("config.json"))
        let hook = p.string("hook") ?? "blocks.0.mlp.hook_post"

        var c = TrainingConfig()
        c.architecture = SAEArchitecture(rawValue: try p.choice("arch", ["standard", "topk", "batchtopk"]) ?? "topk")!
        let dIn = hook.hasSuffix("mlp.hook_pre") || hook.hasSuffix("mlp.hook_post") ? model.dMLP : model.dModel
        if let d = try p.int("d-sae", min: 1) { c.dSae = d } else {
            // Bounded before the conversion to Int; the memory check in `validate` judges the size.
            let expansion = try p.double("expansion", min: 0, exclusiveMin: true, max: 1_048_576) ?? 4
            c.dSae = max(1, Int((Double(dIn) * expansion).rounded()))
        }
        c.k = try p.int("k", min: 1) ?? 32
        c.l1Coefficient = Float(try p.double("l1", min: 0, max: 1e6) ?? 2.5)
        c.decoderNorm = try p.choice("decoder", ["l1-weighted", "unit-norm"]) == "unit-norm" ? .unitNorm : .l1Weighted
        if p.has("decoder") && c.architecture != .standard { throw UsageError(message: "--decoder is for --arch standard (topk and batchtopk keep unit-norm decoder rows)") }
        c.learningRate = try p.double("lr", min: 0, exclusiveMin: true, max: 1) ?? 1e-3
        c.lrDecay = TrainingConfig.LearningRateDecay(rawValue: try p.choice("lr-decay", ["constant", "linear", "cosine"]) ?? "linear")!
        c.batchSize = try p.int("batch", min: 1) ?? 4096
        c.trainTokens = try p.int("train-tokens", min: 1) ?? 2_000_000
        let steps = max(1, c.trainTokens / c.batchSize)
        c.l1WarmupSteps = try p.int("l1-warmup", min: 0) ?? (c.architecture == .standard ? steps / 20 : 0)
        c.lrWarmupSteps = min(100, steps / 20)
        c.seed = UInt64(try p.int("seed", min: 0) ?? 42)
        c.threads = try p.threads()
        c.logEverySteps = try p.int("log-every", min: 1) ?? 10
        c.normalizeInput = !p.flag("no-normalize")
        c.kAux = try p.int("k-aux", min: 0) ?? 0
        c.deadTokens = min(1_000_000, max(c.batchSize, c.trainTokens / 10))
        c.frequencyWindowTokens = min(1_000_000, max(c.batchSize, c.trainTokens / 10))
        c.frequencySnapshotTokens = try p.int("snapshot-every", min: 1) ?? max(c.batchSize, c.trainTokens / 10)
        let resampleEvery = try p.int("resample-every", min: 1) ?? max(c.batchSize, c.trainTokens / 4)
        switch try p.choice("resample", ["none", "reinit", "anthropic"]) ?? "none" {
        case "reinit": c.resampling = .reinit(everyTokens: resampleEvery, frequencyBelow: 1e-5)
        case "anthropic": c.resampling = .anthropic(everyTokens: resampleEvery, sampleRows: 16384)
        default: c.resampling = .none
        }
        if let every = try p.int("checkpoint-every", min: 1) {
            c.checkpointTokens = every
            c.checkpointDirectory = out.appendingPathComponent("checkpoints").path
        }
        do { try c.validate(dIn: dIn) } catch let e as TrainingError { throw UsageError(message: "\(e)") }

        var o = TrainingRun.Options(modelDirectory: modelDir, tokens: tokens, config: c, outputDirectory: out)
        o.evalTokens = evalTokens
        o.tokenElementType = try p.tokenElementType()
        o.hook = hook
        o.contextLength = try p.int("context", min: 2) ?? min(128, model.nCtx)
        o.skipBOS = !p.flag("keep-bos")
        o.evalContexts = try p.int("eval-contexts", min: 1) ?? 64
        o.resume = p.flag("resume")

        let progress = Progress()
        progress.phase("training a \(c.architecture.rawValue) SAE (d_in \(dIn), d_sae \(c.dSae)\(c.architecture == .standard ? ", l1 \(c.l1Coefficient)" : ", k \(c.k)")) on \(hook), \(Progress.count(c.trainTokens)) tokens, \(c.threads) threads")
        let totalSteps = c.trainTokens / c.batchSize
        let result = try TrainingRun.run(o, onLog: { r in
            let eta = r.tokensPerSecond > 0 ? Double(c.trainTokens - r.tokens) / r.tokensPerSecond : .nan
            progress.update(String(format: "step %d/%d  tokens %@/%@  %@ tok/s  ETA %@  mse %.4g  ev %.3f  L0 %.1f  dead %.1f%%",
                                   r.step, totalSteps, Progress.count(r.tokens), Progress.count(c.trainTokens),
                                   Progress.count(Int(r.tokensPerSecond)), Progress.duration(eta), r.mse, r.explainedVariance,
                                   r.l0, 100 * r.deadFraction), force: r.step == totalSteps)
        }, onPhase: { text in progress.phase(text) }, onEvalProgress: { done, total in
            progress.update("evaluating: \(done)/\(total) contexts", force: done == total)
        })
        progress.endLine()
        print(result.metrics?.json() ?? "{}")
        progress.phase("saved the SAE to \(result.saeDirectory.path), the log to \(result.logFile.path)")
        if !p.flag("no-analysis") {
            let report = try AnalyzeCommand.analyze(sae: result.sae, model: result.model, contexts: result.evalContexts,
                                                    hook: hook, snapshots: result.snapshots,
                                                    tokenizer: modelDir.appendingPathComponent("tokenizer.json"),
                                                    out: out, threads: c.threads, progress: progress)
            progress.phase("report: \(report.path)")
        }
    }
}
