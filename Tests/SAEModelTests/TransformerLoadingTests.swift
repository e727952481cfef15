import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Loading folders: config parsing, tensor checks with every problem named, QKV stacking.
final class TransformerLoadingTests: XCTestCase {
    /// Writes a random TransformerLens state dict for `config` (minus `drop`, with
    /// `reshape` overriding shapes) and its config.json to a fresh folder.
    func writeFolder(_ config: TransformerConfig, drop: Set<String> = [], reshape: [String: [Int]] = [:],
                     configJSON: String? = nil) throws -> (ScratchDirectory, [String: [Float]]) {
        let dir = ScratchDirectory("saekit-transformer")
        var writer = SafetensorsWriter()
        var rng = SeededRandom(seed: 42)
        var tensors: [String: [Float]] = [:]
        for (name, shape) in TransformerWeights.expectedTensors(config) where !drop.contains(name) {
            let s = reshape[name] ?? shape
            let values = (0..<s.reduce(1, *)).map { _ in rng.uniform(-0.17, 0.17) }
            tensors[name] = values
            try writer.add(name, shape: s, floats: values)
        }
        try writer.write(to: dir.file("model.safetensors"))
        let json = configJSON ?? """
        {"n_layers": \(config.nLayers), "d_model": \(config.dModel), "n_heads": \(config.nHeads),
         "d_head": \(config.dHead), "d_mlp": \(config.dMLP), "d_vocab": \(config.dVocab), "n_ctx": \(config.nCtx),
         "act_fn": "\(config.activation.rawValue)", "normalization_type": "\(config.normalization.rawValue)",
         "some_unknown_key": [1, 2, {"x": null}], "original_architecture": null, "positional_embedding_type": "standard"}
        """
        dir.write("config.json", Array(json.utf8))
        return (dir, tensors)
    }

    func testLoadsAFolderAndStacksQKV() throws {
        let config = TransformerFixture.smallConfig(layers: 2, activation: .geluNew, normalization: .layerNormPre)
        let (dir, tensors) = try writeFolder(config)
        defer { dir.remove() }
        let model = try Transformer(contentsOf: dir.url)
        XCTAssertEqual(model.config, config)  // eps defaults to 1e-5
        XCTAssertNil(model.weights.blocks[0].ln1Weight)
        let (H, D, E) = (config.nHeads, config.dModel, config.dHead)
        for l in 0..<2 {
            let qkv = model.weights.blocks[l].qkvWeight
            XCTAssertEqual([qkv.rows, qkv.cols], [D, 3 * H * E])
            for (part, m) in ["Q", "K", "V"].enumerated() {
                let w = tensors["blocks.\(l).attn.W_\(m)"]!, b = tensors["blocks.\(l).attn.b_\(m)"]!
                for h in 0..<H {
                    for e in 0..<E {
                        XCTAssertEqual(model.weights.blocks[l].qkvBias[0, part * H * E + h * E + e], b[h * E + e])
                        for d in [0, D - 1] {
                            XCTAssertEqual(qkv[d, part * H * E + h * E + e], w[(h * D + d) * E + e])
                        }
                    }
                }
            }
        }
        _ = try model.lossPerToken(TokenBatch([[1, 2, 3, 4]]))
    }

    func testMissingAndMisshapedTensorsAreAllNamed() throws {
        let config = TransformerFixture.smallConfig(layers: 2)
        let (dir, _) = try writeFolder(config, drop: ["blocks.1.attn.W_K", "unembed.b_U"],
                                       reshape: ["blocks.0.mlp.W_in": [96, 48], "pos_embed.W_pos": [41, 48]])
        defer { dir.remove() }
        XCTAssertThrowsError(try Transformer(contentsOf: dir.url)) { error in
            guard case let TransformerError.invalidWeights(file, missing, misshaped) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, dir.file("model.safetensors").path)
            XCTAssertEqual(missing, ["blocks.1.attn.W_K", "unembed.b_U"])
            XCTAssertEqual(misshaped, [
                .init(tensor: "pos_embed.W_pos", expected: [40, 48], found: [41, 48]),
                .init(tensor: "blocks.0.mlp.W_in", expected: [48, 96], found: [96, 48]),
            ])
            let text = "\(error)"
            for part in ["model.safetensors", "blocks.1.attn.W_K", "unembed.b_U",
                         "blocks.0.mlp.W_in expected [48, 96] got [96, 48]"] {
                XCTAssertTrue(text.contains(part), "\(part) not in: \(text)")
            }
        }
    }

    func testLNWeightsAreRequiredForLN() throws {
        let config = TransformerFixture.smallConfig(layers: 1)
        let (dir, _) = try writeFolder(config, drop: ["ln_final.w", "blocks.0.ln2.b"])
        defer { dir.remove() }
        XCTAssertThrowsError(try Transformer(contentsOf: dir.url)) {
            XCTAssertTrue("\($0)".contains("blocks.0.ln2.b, ln_final.w"), "\($0)")
        }
    }

    func testConfigValuesThatAreNotSupportedAreRejected() throws {
        let base = #""n_layers": 1, "d_model": 48, "n_heads": 3, "d_head": 16, "d_mlp": 96, "d_vocab": 97, "n_ctx": 40"#
        let cases: [(String, String)] = [
            (#"{\#(base), "act_fn": "relu"}"#, "act_fn 'relu' is not supported (supported: gelu, gelu_new)"),
            (#"{\#(base), "act_fn": "gelu", "normalization_type": "RMS"}"#, "normalization_type 'RMS'"),
            (#"{\#(base), "act_fn": "gelu", "normalization_type": null}"#, "normalization_type null"),
            (#"{\#(base), "act_fn": "gelu", "positional_embedding_type": "rotary"}"#, "positional_embedding_type 'rotary'"),
            (#"{\#(base), "act_fn": "gelu", "attn_only": true}"#, "'attn_only': true"),
            (#"{\#(base), "act_fn": "gelu", "n_key_value_heads": 1}"#, "n_key_value_heads"),
            (#"{\#(base)}"#, "missing 'act_fn'"),
            (#"{"n_layers": 1, "act_fn": "gelu"}"#, "missing 'd_model'"),
            (#"{\#(base), "act_fn": "gelu", "n_layers": 0}"#, "positive integer"),
            ("[1]", "not an object"),
            ("{", "not valid JSON"),
            // Values that used to trap later: eps beyond Float, size products beyond Int.
            (#"{\#(base), "act_fn": "gelu", "eps": 1e300}"#, "'eps' 1e+300 is beyond Float range"),
            (#"{\#(base), "act_fn": "gelu", "n_heads": 4611686018427387904}"#, "sizes too large: W_Q | W_K | W_V"),
            (#"{\#(base), "act_fn": "gelu", "d_vocab": 4611686018427387904}"#, "sizes too large: embed.W_E"),
            (#"{\#(base), "act_fn": "gelu", "n_layers": 4611686018427387904}"#, "sizes too large: all layers' mlp.W_in"),
        ]
        let dir = ScratchDirectory("saekit-transformer")
        defer { dir.remove() }
        for (json, expected) in cases {
            let url = dir.write("config.json", Array(json.utf8))
            XCTAssertThrowsError(try TransformerConfig(contentsOf: url), json) { error in
                XCTAssertTrue("\(error)".contains(expected), "'\(expected)' not in: \(error)")
                XCTAssertTrue("\(error)".contains(url.path))
            }
        }
        let ok = dir.write("config.json", Array(#"{\#(base), "act_fn": "gelu_new", "eps": 1e-6, "normalization_type": "LNPre"}"#.utf8))
        let config = try TransformerConfig(contentsOf: ok)
        XCTAssertEqual(config.eps, 1e-6)
        XCTAssertEqual(config.activation, .geluNew)
        XCTAssertEqual(config.normalization, .layerNormPre)
        XCTAssertThrowsError(try TransformerConfig(contentsOf: dir.file("absent.json"))) {
            XCTAssertTrue("\($0)".contains("absent.json"))
        }
    }

    /// A config whose n_layers the weights file cannot hold is refused at once (listing
    /// every missing tensor of a huge n_layers would not end).
    func testMoreLayersThanTheFileHoldsIsOneError() throws {
        let config = TransformerFixture.smallConfig(layers: 1, activation: .gelu, normalization: .layerNorm)
        let json = """
        {"n_layers": 1000000000000, "d_model": \(config.dModel), "n_heads": \(config.nHeads), "d_head": \(config.dHead),
         "d_mlp": \(config.dMLP), "d_vocab": \(config.dVocab), "n_ctx": \(config.nCtx), "act_fn": "gelu"}
        """
        let (dir, tensors) = try writeFolder(config, configJSON: json)
        defer { dir.remove() }
        XCTAssertThrowsError(try Transformer(contentsOf: dir.url)) { error in
            XCTAssertEqual(error as? TransformerError, .invalidWeights(
                file: dir.file("model.safetensors").path,
                missing: ["blocks.*: the config says n_layers 1000000000000 but the file holds only \(tensors.count) tensors"],
                misshaped: []))
        }
    }
}
