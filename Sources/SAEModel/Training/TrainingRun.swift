import Foundation
import SAEKernels

/// A whole run on a transformer's hook, as `sae train` does it: the SAE trained on activations
/// harvested from a token file through the model, saved in SAELens's format with its log,
/// frequency snapshots and metrics on held-out contexts, then the feature analyses and their
/// report.
///
/// A run owns what it trains on: the model, its tokenizer, the BOS id, the hook (its width,
/// `d_in`, comes from the model), the training contexts and the held-out ones; `config` starts
/// as `TrainingConfig()`, the recommended setup, with `dSae` = 4 x `d_in`. The same options
/// give the same config, and the same weights, as `sae train`.
///
/// ```swift
/// var run = try TrainingRun.bundled(outputDirectory: URL(fileURLWithPath: "sae-output"))
/// run.config.trainTokens = 500_000           // any TrainingConfig field
/// let result = try run.run { event in print(event) }
/// ```
///
/// `run` writes into `outputDirectory`:
/// - `sae/` — `cfg.json` + `sae_weights.safetensors` (SAELens layout);
/// - `training_log.jsonl` — one `TrainingLogRecord` per line;
/// - `feature_frequencies.safetensors` — `FrequencySnapshots`;
/// - `metrics.json` — `SAEMetrics` on `evalContexts` held-out contexts;
/// - `analysis.json` + `report.html` — `FeatureAnalysis` (unless `analysis` is nil);
/// - `checkpoints/step-<N>/` — with `config.checkpointTokens` (and no `checkpointDirectory`
///   of its own); `resume` continues from the newest.
public struct TrainingRun {
    /// Where the model came from (its last component names the model in the SAE's metadata).
    public let modelDirectory: URL
    public let model: Transformer
    /// The folder's `tokenizer.json`, nil when it has none (the analyses then show ids).
    public let tokenizer: BPETokenizer?
    /// The id prepended to each context: `<|endoftext|>` from the tokenizer, else 0.
    public let bos: Int32
    /// The hook whose activations are trained on.
    public let hook: String
    /// The hook's width: the SAE's `d_in`.
    public let dIn: Int
    /// Tokens per context, BOS first.
    public let contextLength: Int
    /// The training file's contexts. Without `heldOutContexts`, the last of them (a tenth, at
    /// most `evalContexts`) are held out for the evaluation and never trained on.
    public let contexts: TokenContexts
    /// Contexts for the evaluation from a file of their own; nil: from the end of `contexts`.
    public let heldOutContexts: TokenContexts?

    /// What decides the weights; see `TrainingConfig` for the recommended defaults.
    public var config: TrainingConfig
    /// Train on every position but the BOS one (its activations are outliers).
    public var skipBOS: Bool = true
    /// Contexts for the final evaluation (and the analyses' budget).
    public var evalContexts: Int = 64
    /// The analyses' options (their `hook` and `threads` are set to the run's; they run on the
    /// held-out contexts, `options.contexts` of them); nil: no analyses and no report.
    public var analysis: FeatureAnalysisOptions? = FeatureAnalysisOptions()
    /// Continue from the newest checkpoint in `checkpointDirectory` written for this config,
    /// hook and context (the weights come out bitwise as without the interruption); throws
    /// when there is none. False: start from scratch.
    public var resume: Bool = false
    public var outputDirectory: URL

    /// Loads the model and its tokenizer from `modelDirectory` and opens the token files.
    ///
    /// - `tokens`: training tokens (.npy, or headerless .bin of `tokenElementType`; nil:
    ///   `TokenDataset.defaultBinaryElementType`).
    /// - `evalTokens`: tokens for the evaluation; nil: the last contexts of `tokens`.
    /// - `contextLength`: nil: `min(128, n_ctx)`.
    /// - `bos`: nil: `<|endoftext|>` in the folder's tokenizer.json, else 0.
    ///
    /// Throws for a hook the model lacks or without a `[token, width]` value, a context length
    /// outside `2...n_ctx`, a token file too short for one context, or ids outside the vocabulary.
    public init(modelDirectory: URL, tokens: URL, evalTokens: URL? = nil, tokenElementType: DType? = nil,
                hook: String = "blocks.0.mlp.hook_post", contextLength: Int? = nil, bos: Int32? = nil,
                outputDirectory: URL) throws {
        let model = try Transformer(contentsOf: modelDirectory)
        let length = contextLength ?? min(128, model.config.nCtx)
        guard length >= 2 && length <= model.config.nCtx else {
            throw TrainingError.invalidConfig("context length \(length) must be in 2...\(model.config.nCtx) (the model's n_ctx)")
        }
        guard let width = try model.hookWidth(hook) else {
            throw TrainingError.invalidConfig("hook \(hook) has no [token, width] activations to train on")
        }
        let tokenizer = try BPETokenizer.inModelFolder(modelDirectory)
        let bos = bos ?? tokenizer?.id(of: "<|endoftext|>") ?? 0
        let dataset = try TokenDataset.open(tokens, elementType: tokenElementType, vocabSize: model.config.dVocab)
        let contexts = try dataset.contexts(length: length, bos: bos)
        guard contexts.count > 0 else { throw TrainingError.invalidConfig("\(tokens.path) holds fewer than \(length) tokens") }
        if evalTokens == nil && contexts.count < 2 {
            throw TrainingError.invalidConfig("\(tokens.path) holds \(contexts.count) context of \(length) tokens: "
                                              + "too few to hold one out for the evaluation; give evaluation tokens of their own")
        }
        self.modelDirectory = modelDirectory
        self.model = model
        self.tokenizer = tokenizer
        self.bos = bos
        self.hook = hook
        self.dIn = width
        self.contextLength = length
        self.contexts = contexts
        self.heldOutContexts = try evalTokens.map {
            try TokenDataset.open($0, elementType: tokenElementType, vocabSize: model.config.dVocab).contexts(length: length, bos: bos)
        }
        var config = TrainingConfig()
        config.dSae = TrainingConfig.recommendedDSae(dIn: width)
        self.config = config
        self.outputDirectory = outputDirectory
    }

    /// `sae train`'s default job: the bundled model (`BundledModel`), its training tokens and
    /// its evaluation tokens, `blocks.0.mlp.hook_post`, the recommended config.
    public static func bundled(outputDirectory: URL) throws -> TrainingRun {
        try TrainingRun(modelDirectory: BundledModel.folder, tokens: BundledModel.trainTokens, evalTokens: BundledModel.evalTokens,
                        outputDirectory: outputDirectory)
    }

    /// The BOS id for a model folder: `<|endoftext|>` in its tokenizer.json, else 0.
    public static func defaultBOS(modelDirectory: URL) -> Int32 {
        let url = modelDirectory.appendingPathComponent("tokenizer.json")
        if let tok = try? BPETokenizer(contentsOf: url), let id = tok.id(of: "<|endoftext|>") { return id }
        return 0
    }

    /// What a run reports while it works.
    public enum Event {
        /// A phase starts ("training", "evaluating on 64 held-out contexts", ...).
        case phase(String)
        /// A training log record (every `config.logEverySteps` steps, the last step, a resampling).
        case log(TrainingLogRecord)
        /// The evaluation has run `done` of `total` context passes (`total` is twice the contexts:
        /// a clean pass over every context, then a spliced one).
        case evaluation(done: Int, total: Int)
        /// The analyses' progress ("pass 1: 12/64 contexts", ...).
        case analysis(String)
    }

    public struct Result {
        public var sae: SparseAutoencoder
        public var metrics: SAEMetrics
        public var lastLog: TrainingLogRecord?
        public var snapshots: FrequencySnapshots
        /// The contexts the evaluation and the analyses ran on.
        public var evalContexts: TokenContexts
        public var saeDirectory: URL
        public var logFile: URL
        public var snapshotsFile: URL
        public var metricsFile: URL
        /// `report.html`; nil when the run had no analyses.
        public var reportFile: URL?
    }

    /// The held-out contexts: `heldOutContexts`, else the last `min(evalContexts,
    /// max(1, count / 10))` of `contexts`; and how many of `contexts` are trained on.
    func split() throws -> (train: Int, eval: TokenContexts) {
        if let heldOutContexts { return (contexts.count, heldOutContexts) }
        let held = min(evalContexts, max(1, contexts.count / 10))
        let train = contexts.count - held
        return (train, try contexts.dataset.contexts(length: contextLength, bos: bos, startingAt: contexts.tokenOffset(ofContext: train)))
    }

    /// The config `run()` trains with: `config`, its `checkpointDirectory` defaulting to the
    /// run's `checkpointDirectory` when `checkpointTokens` asks for checkpoints.
    public var effectiveConfig: TrainingConfig {
        var c = config
        if c.checkpointTokens > 0 && c.checkpointDirectory == nil { c.checkpointDirectory = checkpointDirectory.path }
        return c
    }

    /// Checks `effectiveConfig` against `dIn` (`TrainingConfig.validate(dIn:)`), as `run()` does first.
    public func validate() throws { try effectiveConfig.validate(dIn: dIn) }

    /// Checks the config against `dIn`, trains, saves, evaluates, then runs the analyses and
    /// writes the report; `progress` sees every event. See the type's doc for the files.
    public func run(progress: (Event) -> Void = { _ in }) throws -> Result {
        // The evaluation and the analyses take optional (so escaping) callbacks; none outlives the call.
        try withoutActuallyEscaping(progress) { try run(reporting: $0) }
    }

    private func run(reporting progress: @escaping (Event) -> Void) throws -> Result {
        let config = effectiveConfig
        try config.validate(dIn: dIn)
        let (trainCount, evalContexts) = try split()
        // Cycles through the training contexts only: the held-out ones are never trained on.
        let source = try ModelActivationSource(model: model, contexts: contexts.prefix(trainCount), hook: hook, skipBOS: skipBOS,
                                               wrapAround: true, threads: config.threads)
        var metadata = SAEMetadata(hookName: hook, contextSize: contextLength, prependBos: true)
        metadata.extra["model"] = modelDirectory.lastPathComponent
        // The positions training skipped, so evaluation and the analyses leave them out too.
        metadata.extra[ExcludedPositions.metadataKey] = (skipBOS ? ExcludedPositions.bos : .none).rawValue
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let logURL = outputDirectory.appendingPathComponent("training_log.jsonl")
        let (trainer, log) = try startTraining(config: config, source: source, metadata: metadata, logURL: logURL,
                                               onPhase: { progress(.phase($0)) })
        progress(.phase("training"))
        let last = try trainer.train { record in
            log.append(record.jsonLine())
            progress(.log(record))
        }
        try log.finish()
        let sae = trainer.autoencoder()
        let saeDir = outputDirectory.appendingPathComponent("sae")
        try sae.save(to: saeDir)
        let snapshotsURL = outputDirectory.appendingPathComponent("feature_frequencies.safetensors")
        let snapshots = trainer.snapshots
        try snapshots.write(to: snapshotsURL)
        progress(.phase("saved the SAE to \(saeDir.path), the log to \(logURL.path)"))
        progress(.phase("evaluating on \(min(self.evalContexts, evalContexts.count)) held-out contexts"))
        let metrics = try SAEEvaluation.evaluate(sae: sae, model: model, contexts: evalContexts, hook: hook,
                                                 maxContexts: self.evalContexts, threads: config.threads,
                                                 progress: { done, total in progress(.evaluation(done: done, total: total)) })
        let metricsURL = outputDirectory.appendingPathComponent("metrics.json")
        try AtomicFile.write(to: metricsURL) { try $0.append(Array(metrics.json().utf8)) }
        var report: URL? = nil
        if let options = analysis {
            report = try FeatureAnalysis.writeReport(sae: sae, model: model, tokenizer: tokenizer, contexts: evalContexts,
                                                     hook: hook, snapshots: snapshots, threads: config.threads, options: options,
                                                     to: outputDirectory, progress: { progress(.analysis($0)) },
                                                     onPhase: { progress(.phase($0)) })
        }
        return Result(sae: sae, metrics: metrics, lastLog: last, snapshots: snapshots, evalContexts: evalContexts,
                      saeDirectory: saeDir, logFile: logURL, snapshotsFile: snapshotsURL, metricsFile: metricsURL, reportFile: report)
    }
}
