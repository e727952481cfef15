import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Shared pieces of the analysis and report tests: the tiny fixture model, its SAEs and
/// tokens, hand-built SAEs with known answers, and one full analysis run shared by the
/// report tests.
enum AnalysisFixture {
    static let hookPost = "blocks.0.mlp.hook_post"
    static let bos: Int32 = 0

    static let model: Transformer = try! Transformer(contentsOf: Fixtures.model)
    static let tokenizer: BPETokenizer = try! BPETokenizer(contentsOf: Fixtures.url("tiny-gelu-1l/tokenizer.json"))
    static let dataset: TokenDataset = try! TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"))
    static let standardSAE: SparseAutoencoder = try! SparseAutoencoder.load(from: Fixtures.url("tiny-gelu-1l/saelens-standard"))
    static let topkSAE: SparseAutoencoder = try! SparseAutoencoder.load(from: Fixtures.url("tiny-gelu-1l/saelens-topk"))

    /// Contexts of `length` tokens from the eval tokens, BOS first.
    static func contexts(length: Int) -> TokenContexts { try! dataset.contexts(length: length, bos: bos) }

    /// The first `count` contexts of `length` tokens.
    static func sequences(_ count: Int, length: Int) -> [[Int32]] {
        let c = contexts(length: length)
        return (0..<count).map { try! c.context($0) }
    }

    /// `embed.W_E`, `[d_vocab, d_model]`.
    static let embedding: Matrix = {
        let f = try! SafetensorsFile(contentsOf: Fixtures.url("tiny-gelu-1l/model.safetensors"))
        return try! f.matrix("embed.W_E")
    }()

    static func weight(_ name: String) -> Matrix {
        let f = try! SafetensorsFile(contentsOf: Fixtures.url("tiny-gelu-1l/model.safetensors"))
        return try! f.matrix(name)
    }

    /// A standard SAE on `hook_embed` whose feature `i` (for `i < tokens.count`) fires on
    /// exactly the token `tokens[i]`: its encoder column is `u = W_E[T] / ||W_E[T]||` and its
    /// bias `-(s_T + m) / 2`, with `s_T = ||W_E[T]||` and `m` the largest `W_E[t] · u` over the
    /// other tokens (so `pre > 0` only for `x = W_E[T]`, provided `s_T > m`). Its decoder row
    /// is `u`. The other `dSae - tokens.count` features never fire (zero column, bias -1).
    static func plantedEmbeddingSAE(tokens: [Int32], dSae: Int = 8) -> SparseAutoencoder {
        let e = embedding
        let d = e.cols
        var wEnc = Matrix(rows: d, cols: dSae)
        var wDec = Matrix(rows: dSae, cols: d)
        var bEnc = [Float](repeating: -1, count: dSae)
        for (j, t) in tokens.enumerated() {
            let (u, bias) = plantedDirection(token: t)
            for i in 0..<d { wEnc[i, j] = u[i]; wDec[j, i] = u[i] }
            bEnc[j] = bias
        }
        return SparseAutoencoder(architecture: .standard, dIn: d, dSae: dSae, wEnc: wEnc, bEnc: bEnc, wDec: wDec,
                                 metadata: SAEMetadata(hookName: "hook_embed", contextSize: 64))
    }

    /// `(u, bias)` of a feature firing on token `t` only; precondition: `t` is separable.
    static func plantedDirection(token t: Int32) -> ([Float], Float) {
        let (u, sT, m) = separation(token: t)
        precondition(sT > m, "token \(t) is not separable by its own direction")
        return (u, Float(-(sT + m) / 2))
    }

    /// `u`, `s_T`, and the largest projection of another token's embedding on `u`.
    static func separation(token t: Int32) -> ([Float], Double, Double) {
        let e = embedding
        let row = e.row(Int(t))
        let norm = row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let u = row.map { Float(Double($0) / norm) }
        var m = -Double.infinity
        for v in 0..<e.rows where v != Int(t) {
            var s = 0.0
            for i in 0..<e.cols { s += Double(e[v, i]) * Double(u[i]) }
            m = max(m, s)
        }
        var sT = 0.0
        for i in 0..<e.cols { sT += Double(row[i]) * Double(u[i]) }
        return (u, sT, m)
    }

    /// The most frequent tokens (positions >= 1) of `sequences` that a planted feature can
    /// separate with a margin, most frequent first.
    static func separableFrequentTokens(_ sequences: [[Int32]], count: Int, excluding: Set<Int32> = [0]) -> [Int32] {
        var freq: [Int32: Int] = [:]
        for s in sequences { for t in s.dropFirst() { freq[t, default: 0] += 1 } }
        let ordered = freq.keys.filter { !excluding.contains($0) }.sorted { freq[$0]! > freq[$1]! || (freq[$0]! == freq[$1]! && $0 < $1) }
        var out: [Int32] = []
        for t in ordered where out.count < count {
            let (_, sT, m) = separation(token: t)
            if sT - m > 0.05 * sT { out.append(t) }
        }
        return out
    }

    /// A hand-built SAE with the given decoder rows (`[dSae][dIn]`) and `W_enc = W_dec^T`.
    static func handBuilt(decoderRows: [[Float]], hook: String = AnalysisFixture.hookPost) -> SparseAutoencoder {
        let dSae = decoderRows.count, dIn = decoderRows[0].count
        let wDec = Matrix(rows: dSae, cols: dIn, values: decoderRows.flatMap { $0 })
        return SparseAutoencoder(architecture: .standard, dIn: dIn, dSae: dSae, wEnc: wDec.transposed(), wDec: wDec,
                                 metadata: SAEMetadata(hookName: hook))
    }

    /// Modest options for a full run on the fixture: 64 contexts of 128 tokens.
    static func fullRunOptions() -> FeatureAnalysisOptions {
        var o = FeatureAnalysisOptions()
        o.contexts = 64
        o.cardCount = 6
        o.downstreamContexts = 6
        o.promptText = "def parse(self, text):\n    \"\"\"Return <tokens> & \"quotes\".\"\"\"\n    return text.split()\n"
        o.comparison = topkSAE
        // Frequencies of six made-up periods, for the density-over-training heat map.
        var rng = SeededRandom(seed: 7)
        o.trainingSnapshots = FrequencySnapshots((1...6).map { s in
            (tokens: s * 100_000, frequencies: (0..<standardSAE.dSae).map { _ in
                rng.uniform() < 0.1 / Float(s) ? 0 : Float(pow(10, Double(rng.uniform(-5, -0.8 - 0.2 * Float(s)))))
            })
        })
        return o
    }

    /// One full analysis of the standard fixture SAE (computed once per test process).
    static let fullRun: AnalysisResult = {
        try! FeatureAnalysis.run(sae: standardSAE, model: model, tokenizer: tokenizer, tokens: dataset, options: fullRunOptions())
    }()
}
