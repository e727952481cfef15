import Foundation
import SAEKernels

/// Writes a model's activations at named hooks for consecutive token contexts to a
/// safetensors file: `tokens` (I32 `[n, context]`), each hook's values under its hook name
/// (F32 `[n, context, width]`, or `[n, heads, context, context]` for `attn.hook_pattern`),
/// and `loss_per_token` (F32 `[n, context - 1]`). The file is written atomically.
public enum ActivationExport {
    public static func write(
        model: Transformer, contexts: TokenContexts, hooks: [String], count: Int, to url: URL,
        batchSize: Int = 16, threads: Int = Parallel.defaultThreads,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws {
        guard !hooks.isEmpty else { throw TransformerError.invalidRequest(reason: "no hooks given") }
        guard count >= 1 else { throw TransformerError.invalidRequest(reason: "the number of sequences must be at least 1") }
        guard count <= contexts.count else {
            throw TransformerError.invalidRequest(reason: "\(count) sequences asked, the token file holds \(contexts.count) of \(contexts.length) tokens from that offset")
        }
        for h in hooks { _ = try model.hookWidth(h) }  // validates the names
        let length = contexts.length
        var tokens: [Int] = []
        var values: [String: [Float]] = [:]
        var losses: [Float] = []
        var done = 0
        while done < count {
            let n = min(batchSize, count - done)
            let seqs = try (0..<n).map { try contexts.context(done + $0) }
            let run = try model.run(TokenBatch(seqs), capture: Set(hooks), outputs: .lossPerToken, threads: threads)
            tokens += seqs.flatMap { $0.map(Int.init) }
            for h in hooks { values[h, default: []] += run.activations[h]!.values }
            losses += run.lossPerToken!.values
            done += n
            progress?(done, count)
        }
        var w = SafetensorsWriter(metadata: ["format": "saekit-activations", "context_length": "\(length)"])
        try w.add("tokens", shape: [count, length], ints: tokens, as: .i32)
        for h in hooks {
            let width = try model.hookWidth(h)
            let shape = width.map { [count, length, $0] } ?? [count, model.config.nHeads, length, length]
            try w.add(h, shape: shape, floats: values[h]!)
        }
        try w.add("loss_per_token", shape: [count, length - 1], floats: losses)
        try w.write(to: url)
    }
}
