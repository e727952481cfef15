import Foundation
import SAEKernels
import SAEModel

/// `sae activations`: a model's hook values for consecutive contexts, to safetensors.
enum ActivationsCommand {
    static let command = Command(
        name: "activations",
        summary: """
        Runs the model on N consecutive contexts from the token file and writes `tokens` (int32 [N, context]),
        each hook's values under its hook name, and `loss_per_token` ([N, context-1]) to a safetensors file.
        Each context starts with BOS (a context that already starts with BOS gets no second one).
        """,
        usage: "--model DIR --tokens FILE --hooks NAME[,NAME...] --out FILE.safetensors [options]",
        options: [
            OptionSpec(name: "model", value: "DIR", defaultValue: "the bundled tiny-gelu-1l", help: "model folder"),
            OptionSpec(name: "tokens", value: "FILE", defaultValue: "the bundled eval tokens", help: "token file"),
            OptionSpec.tokenDType,
            OptionSpec(name: "hooks", value: "NAME[,NAME...]", defaultValue: nil, help: "hook names (TransformerLens); required"),
            OptionSpec(name: "sequences", value: "N", defaultValue: "16", help: "number of contexts"),
            OptionSpec(name: "context", value: "N", defaultValue: "128 (at most n_ctx)", help: "tokens per context"),
            OptionSpec(name: "offset", value: "N", defaultValue: "0", help: "token offset in the file to start from"),
            OptionSpec(name: "bos", value: "ID", defaultValue: "<|endoftext|> or 0", help: "BOS token id"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
            OptionSpec(name: "out", value: "FILE", defaultValue: nil, help: "output .safetensors file; required"),
        ],
        run: run)

    static func run(_ p: ParsedOptions) throws {
        if p.has("model") != p.has("tokens") { throw UsageError(message: "--model and --tokens go together (neither: the bundled default)") }
        let hooks = try p.required("hooks").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !hooks.isEmpty else { throw UsageError(message: "--hooks names no hook") }
        let out = URL(fileURLWithPath: try p.required("out"))
        let modelDir = try p.existingPath("model") ?? DefaultAssets.model
        let tokens = try p.existingPath("tokens") ?? DefaultAssets.evalTokens
        let model = try Transformer(contentsOf: modelDir)
        let length = try p.int("context", min: 2) ?? min(128, model.config.nCtx)
        guard length <= model.config.nCtx else { throw UsageError(message: "--context \(length) exceeds the model's n_ctx \(model.config.nCtx)") }
        let bos = try p.int("bos", min: 0, max: min(model.config.dVocab, Int(Int32.max)) - 1).map { Int32($0) } ?? TrainingRun.defaultBOS(modelDirectory: modelDir)
        let dataset = try TokenDataset.open(tokens, elementType: p.tokenElementType(), vocabSize: model.config.dVocab)
        let offset = try p.int("offset", min: 0) ?? 0
        guard offset < dataset.count else { throw UsageError(message: "--offset \(offset) is past the end of \(tokens.path) (\(dataset.count) tokens)") }
        let contexts = try dataset.contexts(length: length, bos: bos, startingAt: offset)
        let n = try p.int("sequences", min: 1) ?? 16
        let progress = Progress()
        try ActivationExport.write(model: model, contexts: contexts, hooks: hooks, count: n, to: out,
                                   threads: try p.threads()) { done, total in
            progress.update("contexts \(done)/\(total)", force: done == total)
        }
        progress.endLine()
        progress.phase("wrote \(n) contexts of \(length) tokens, hooks \(hooks.joined(separator: ", ")), to \(out.path)")
        try JSONOutput.print(["out": out.path, "sequences": n, "context": length, "offset": offset, "bos": Int(bos),
                          "tensors": ["tokens"] + hooks + ["loss_per_token"]])
    }
}
