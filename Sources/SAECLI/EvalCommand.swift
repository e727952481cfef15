import Foundation
import SAEKernels
import SAEModel

/// `sae eval`: the metrics of an SAE on its hook, as JSON on standard output.
enum EvalCommand {
    static let command = Command(
        name: "eval",
        summary: "Evaluates an SAE spliced into the model: MSE, explained variance, L0, dead fraction, CE loss clean /\nspliced / zero- and mean-ablated, loss recovered, KL. Prints JSON.",
        usage: "--sae DIR [--model DIR --tokens FILE] [options]",
        options: [
            OptionSpec(name: "sae", value: "DIR", defaultValue: nil, help: "SAELens SAE folder (cfg.json, sae_weights.safetensors); required"),
            OptionSpec(name: "model", value: "DIR", defaultValue: "the bundled tiny-gelu-1l", help: "model folder"),
            OptionSpec(name: "tokens", value: "FILE", defaultValue: "the bundled eval tokens", help: "token file"),
            OptionSpec.tokenDType,
            OptionSpec(name: "hook", value: "NAME", defaultValue: "the SAE's hook_name", help: "hook to splice the SAE into"),
            OptionSpec(name: "context", value: "N", defaultValue: "the SAE's context_size", help: "tokens per context"),
            OptionSpec(name: "contexts", value: "N", defaultValue: "64", help: "contexts to evaluate"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
        ],
        run: run)

    /// The model, contexts and hook an SAE command runs on (shared with `analyze`).
    struct Setup {
        var sae: SparseAutoencoder
        var model: Transformer
        var modelDirectory: URL
        var contexts: TokenContexts
        var hook: String
        var threads: Int
    }

    static func setup(_ p: ParsedOptions) throws -> Setup {
        if p.has("model") != p.has("tokens") { throw UsageError(message: "--model and --tokens go together (neither: the bundled default)") }
        let saeDir = try p.existingPath("sae") ?? { throw UsageError(message: "--sae is required") }()
        let sae = try SparseAutoencoder.load(from: saeDir)
        let modelDir = try p.existingPath("model") ?? DefaultAssets.model
        let tokens = try p.existingPath("tokens") ?? DefaultAssets.evalTokens
        let model = try Transformer(contentsOf: modelDir)
        let hook = p.string("hook") ?? sae.metadata.hookName
        let length = try p.int("context", min: 2) ?? min(sae.metadata.contextSize, model.config.nCtx)
        guard length >= 2 else {
            throw UsageError(message: "\(saeDir.path)/cfg.json says context_size \(sae.metadata.contextSize): too short to run the model on "
                             + "(the loss needs at least 2 tokens); pass --context N")
        }
        guard length <= model.config.nCtx else { throw UsageError(message: "--context \(length) exceeds the model's n_ctx \(model.config.nCtx)") }
        let bos = TrainingRun.defaultBOS(modelDirectory: modelDir)
        let contexts = try TokenDataset.open(tokens, elementType: p.tokenElementType(), vocabSize: model.config.dVocab).contexts(length: length, bos: sae.metadata.prependBos ? bos : nil)
        guard contexts.count > 0 else { throw RunError(message: "\(tokens.path) holds fewer than \(length) tokens") }
        return Setup(sae: sae, model: model, modelDirectory: modelDir, contexts: contexts, hook: hook,
                     threads: try p.threads())
    }

    static func run(_ p: ParsedOptions) throws {
        let s = try setup(p)
        let progress = Progress()
        let metrics = try SAEEvaluation.evaluate(sae: s.sae, model: s.model, contexts: s.contexts, hook: s.hook,
                                                 maxContexts: try p.int("contexts", min: 1) ?? 64, threads: s.threads) { done, total in
            progress.update("evaluating: \(done)/\(total) context passes (clean, then spliced)", force: done == total)
        }
        progress.endLine()
        print(metrics.json())
    }
}
