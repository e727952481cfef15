import SAEKernels
import SAEModel

/// The transformer at gelu-1l's shapes (1 layer, d_model 512, 8 heads of 64, d_mlp 2048,
/// vocabulary 48262) with random weights, 32 contexts of 128 tokens: harvesting
/// `blocks.0.mlp.hook_post` (the run stops there), and a full forward with per-token loss.
/// Work is counted in tokens; `tokens_per_s` is reported.
enum TransformerCases {
    static func all() -> [BenchCase] {
        let batch = 32, seq = 128
        return [
            make("harvest", batch: batch, seq: seq) { model, tokens, threads in
                _ = try! model.run(tokens, capture: ["blocks.0.mlp.hook_post"], stopAfter: "blocks.0.mlp.hook_post", threads: threads)
            },
            make("forward_loss", batch: batch, seq: seq) { model, tokens, threads in
                _ = try! model.lossPerToken(tokens, threads: threads)
            },
        ]
    }

    final class State {
        let model = Transformer(randomWeightsFor: .gelu1l, seed: 1)
        var tokensPerSecond = 0.0
    }

    static func make(_ name: String, batch: Int, seq: Int, _ body: @escaping (Transformer, TokenBatch, Int) -> Void) -> BenchCase {
        let tokens = batch * seq
        return BenchCase(kernel: name, shape: "gelu-1l b\(batch)x\(seq)", work: .tokens(Double(tokens))) { threads in
            let state = State()
            var s: UInt64 = 99
            let ids: [Int32] = (0..<tokens).map { _ in s = s &* 6364136223846793005 &+ 1442695040888963407; return Int32((s >> 33) % 48262) }
            let batchTokens = TokenBatch(ids: ids, batch: batch, seq: seq)
            return Runner(fast: { body(state.model, batchTokens, threads) }, keepAlive: [state])
        }
    }
}
