import Foundation
import SAEKernels

/// A whole training run on a transformer's hook: activations harvested from a token file
/// through the model, streamed into the trainer; the SAE saved in SAELens's format with its
/// JSON-lines log, frequency snapshots and final metrics.
///
/// Output folder:
/// - `sae/` — `cfg.json` + `sae_weights.safetensors` (SAELens layout);
/// - `training_log.jsonl` — one `TrainingLogRecord` per line;
/// - `feature_frequencies.safetensors` — `FrequencySnapshots`;
/// - `metrics.json` — `SAEMetrics` on held-out contexts;
/// - `checkpoints/step-<N>/` — with `checkpointTokens`; `resume` continues from the newest.
public enum TrainingRun {
    public struct Options {
        public var modelDirectory: URL
        public var tokens: URL
        /// Token file for the final evaluation (default: contexts after the training ones).
        public var evalTokens: URL?
        /// Element type of headerless token files (nil: `TokenDataset.defaultBinaryElementType`).
        public var tokenElementType: DType? = nil
        public var hook: String = "blocks.0.mlp.hook_post"
        public var contextLength: Int = 128
        /// The BOS id prepended to each context (default: `<|endoftext|>` from the model
        /// folder's tokenizer.json, else 0).
        public var bos: Int32? = nil
        /// Train on every position but the BOS one (its activations are outliers).
        public var skipBOS: Bool = true
        public var config: TrainingConfig
        public var outputDirectory: URL
        public var evalContexts: Int = 64
        /// Continue from the newest checkpoint in `checkpointDirectory(_:)` written for this
        /// config, hook and context (the weights come out bitwise as without the interruption);
        /// throws when there is none. False: start from scratch.
        public var resume: Bool = false

        public init(modelDirectory: URL, tokens: URL, config: TrainingConfig, outputDirectory: URL) {
            self.modelDirectory = modelDirectory
            self.tokens = tokens
            self.config = config
            self.outputDirectory = outputDirectory
        }
    }

    public struct Result {
        public var sae: SparseAutoencoder
        public var metrics: SAEMetrics?
        public var lastLog: TrainingLogRecord?
        public var saeDirectory: URL
        public var logFile: URL
        public var snapshotsFile: URL
        public var metricsFile: URL
        public var snapshots: FrequencySnapshots
        public var model: Transformer
        public var evalContexts: TokenContexts
    }

    /// The BOS id for a model folder: `<|endoftext|>` in its tokenizer.json, else 0.
    public static func defaultBOS(modelDirectory: URL) -> Int32 {
        let url = modelDirectory.appendingPathComponent("tokenizer.json")
        if let tok = try? BPETokenizer(contentsOf: url), let id = tok.id(of: "<|endoftext|>") { return id }
        return 0
    }

    /// Runs training, saves everything, evaluates. `onLog` sees every log record;
    /// `onPhase` names each phase as it starts.
    public static func run(
        _ o: Options, onLog: (TrainingLogRecord) -> Void = { _ in }, onPhase: (String) -> Void = { _ in },
        onEvalProgress: ((Int, Int) -> Void)? = nil
    ) throws -> Result {
        onPhase("loading the model from \(o.modelDirectory.path)")
        let model = try Transformer(contentsOf: o.modelDirectory)
        guard o.contextLength >= 2 && o.contextLength <= model.config.nCtx else {
            throw TrainingError.invalidConfig("context length \(o.contextLength) must be in 2...\(model.config.nCtx) (the model's n_ctx)")
        }
        let bos = o.bos ?? defaultBOS(modelDirectory: o.modelDirectory)
        let dataset = try TokenDataset.open(o.tokens, elementType: o.tokenElementType, vocabSize: model.config.dVocab)
        let contexts = try dataset.contexts(length: o.contextLength, bos: bos)
        guard contexts.count > 0 else { throw TrainingError.invalidConfig("\(o.tokens.path) holds fewer than \(o.contextLength) tokens") }
        // Hold out the evaluation contexts: from their own file, or the last ones of this one.
        let evalContexts: TokenContexts
        var trainCount = contexts.count
        if let e = o.evalTokens {
            evalContexts = try TokenDataset.open(e, elementType: o.tokenElementType, vocabSize: model.config.dVocab).contexts(length: o.contextLength, bos: bos)
        } else {
            // A tenth of the contexts, at least one, and at least one left to train on.
            guard contexts.count >= 2 else {
                throw TrainingError.invalidConfig("\(o.tokens.path) holds \(contexts.count) context of \(o.contextLength) tokens: "
                                                  + "too few to hold one out for the evaluation; give evaluation tokens of their own")
            }
            let held = min(o.evalContexts, max(1, contexts.count / 10))
            trainCount = contexts.count - held
            evalContexts = try dataset.contexts(length: o.contextLength, bos: bos, startingAt: contexts.tokenOffset(ofContext: trainCount))
        }
        // Cycles through the training contexts only: the held-out ones are never trained on.
        let source = try ModelActivationSource(model: model, contexts: contexts.prefix(trainCount), hook: o.hook, skipBOS: o.skipBOS,
                                               wrapAround: true, threads: o.config.threads)
        var metadata = SAEMetadata(hookName: o.hook, contextSize: o.contextLength, prependBos: true)
        metadata.extra["model"] = o.modelDirectory.lastPathComponent
        // The positions training skipped, so evaluation and the analyses leave them out too.
        metadata.extra[ExcludedPositions.metadataKey] = (o.skipBOS ? ExcludedPositions.bos : .none).rawValue
        let fm = FileManager.default
        try fm.createDirectory(at: o.outputDirectory, withIntermediateDirectories: true)
        let logURL = o.outputDirectory.appendingPathComponent("training_log.jsonl")
        let (trainer, log) = try startTraining(o, source: source, metadata: metadata, logURL: logURL, onPhase: onPhase)
        onPhase("training")
        let last = try trainer.train { record in
            log.append(record.jsonLine())
            onLog(record)
        }
        try log.finish()
        let sae = trainer.autoencoder()
        let saeDir = o.outputDirectory.appendingPathComponent("sae")
        try sae.save(to: saeDir)
        let snapshotsURL = o.outputDirectory.appendingPathComponent("feature_frequencies.safetensors")
        let snapshots = trainer.frequencySnapshots
        try snapshots.write(to: snapshotsURL)
        onPhase("evaluating on \(min(o.evalContexts, evalContexts.count)) held-out contexts")
        let metrics = try SAEEvaluation.evaluate(sae: sae, model: model, contexts: evalContexts, hook: o.hook,
                                                 maxContexts: o.evalContexts, threads: o.config.threads, progress: onEvalProgress)
        let metricsURL = o.outputDirectory.appendingPathComponent("metrics.json")
        try AtomicWrite.write(Data(metrics.json().utf8), to: metricsURL)
        return Result(sae: sae, metrics: metrics, lastLog: last, saeDirectory: saeDir, logFile: logURL, snapshotsFile: snapshotsURL,
                      metricsFile: metricsURL, snapshots: snapshots, model: model, evalContexts: evalContexts)
    }
}

/// Writes bytes to a temporary file beside `url`, then renames it into place.
public enum AtomicWrite {
    public static func write(_ data: Data, to url: URL) throws {
        try AtomicFile.write(to: url) { try $0.append(Array(data)) }
    }
}
