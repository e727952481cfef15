import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

final class SAEFormatTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUp() { scratch = ScratchDirectory("saekit-sae") }
    override func tearDown() { scratch.remove() }

    func folder(_ name: String) -> URL { scratch.url.appendingPathComponent(name, isDirectory: true) }

    func cfgObject(_ url: URL) throws -> JSONObject {
        let json = try JSONValue.parse(Array(try Data(contentsOf: url.appendingPathComponent("cfg.json"))))
        return json.objectValue!
    }

    // MARK: - Round trips

    func testFixtureRoundTripIsBitwiseAndKeepsTheConfig() throws {
        for name in ["saelens-standard", "saelens-topk"] {
            let source = Fixtures.url("tiny-gelu-1l/\(name)")
            let loaded = try SparseAutoencoder.load(from: source)
            let out = folder(name)
            try loaded.save(to: out)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                           ["cfg.json", "sae_weights.safetensors"], "no temporaries left")
            let reloaded = try SparseAutoencoder.load(from: out)
            SAECheck.assertSameSAE(reloaded, loaded)
            XCTAssertEqual(reloaded.metadata.defaultedKeys, [])

            // Every key of the original cfg.json is written back with its value.
            let original = try cfgObject(source), saved = try cfgObject(out)
            for (key, value) in original.members where key != "metadata" {
                XCTAssertEqual(saved[key], value, "\(name) cfg key \(key)")
            }
            let originalMeta = original["metadata"]!.objectValue!, savedMeta = saved["metadata"]!.objectValue!
            for (key, value) in originalMeta.members {
                XCTAssertEqual(savedMeta[key], value, "\(name) metadata key \(key)")
            }
            // The defaults are now written out.
            XCTAssertEqual(savedMeta["hook_name"], .string("blocks.0.mlp.hook_post"))
            XCTAssertEqual(savedMeta["context_size"], .integer(128))
            XCTAssertEqual(savedMeta["prepend_bos"], .bool(true))

            // Weights bitwise equal to the fixture file's, and a second save is byte-identical.
            let a = try SafetensorsFile(contentsOf: source.appendingPathComponent("sae_weights.safetensors"))
            let b = try SafetensorsFile(contentsOf: out.appendingPathComponent("sae_weights.safetensors"))
            XCTAssertEqual(a.names, b.names)
            for t in a.names { assertBitwiseEqual(try b.floats(t), try a.floats(t), "\(name) \(t)") }
            let out2 = folder(name + "-again")
            try reloaded.save(to: out2)
            for f in ["cfg.json", "sae_weights.safetensors"] {
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(f)),
                               try Data(contentsOf: out2.appendingPathComponent(f)), "\(name) \(f) stable")
            }
        }
    }

    func testRoundTripEveryArchitecture() throws {
        for (arch, k) in [(SAEArchitecture.standard, nil as Int?), (.topk, 3), (.jumprelu, nil), (.batchtopk, 4)] {
            var sae = saeRandomFullSAE(arch, dIn: 6, dSae: 10, k: k, seed: 31, rescale: arch == .topk, applyBDec: arch != .standard)
            sae.metadata = SAEMetadata(hookName: "blocks.0.hook_resid_post", contextSize: 64, prependBos: false,
                                       modelName: "tiny-gelu-1l", extra: ["note": "round trip", "trainer": "saekit"],
                                       otherMetadata: ["details": .object(["lr": .double(4e-4), "steps": .integer(10)])],
                                       otherConfig: ["device": .string("cpu"), "custom": .array([.bool(true), .null])])
            let out = folder("\(arch)")
            try sae.save(to: out)
            let loaded = try SparseAutoencoder.load(from: out)
            var expected = sae
            // The saved metadata gains the format-version keys.
            expected.metadata.extra["sae_lens_version"] = SparseAutoencoder.saeLensFormatVersion
            expected.metadata.extra["sae_lens_training_version"] = SparseAutoencoder.saeLensFormatVersion
            if arch == .batchtopk {
                expected.metadata.otherMetadata["training_architecture_details"] = .object(["k": .integer(4)])
            }
            expected.metadata.otherConfig["reshape_activations"] = .string("none")
            SAECheck.assertSameSAE(loaded, expected)
            let cfg = try cfgObject(out)
            XCTAssertEqual(cfg["architecture"], .string(arch == .batchtopk ? "jumprelu" : arch.rawValue), "SAELens name")
            XCTAssertEqual(cfg["metadata"]?.objectValue?["training_architecture"], .string(arch.rawValue))
        }
    }

    func testBatchTopKWithRescaleIsSavedFolded() throws {
        let sae = saeRandomFullSAE(.batchtopk, dIn: 8, dSae: 20, k: 3, seed: 4, rescale: true)
        try sae.save(to: folder("b"))
        let loaded = try SparseAutoencoder.load(from: folder("b"))
        XCTAssertEqual(loaded.architecture, .batchtopk)
        XCTAssertFalse(loaded.rescaleActsByDecoderNorm)
        for n in loaded.decoderRowNorms() { XCTAssertEqual(n, 1, accuracy: 1e-5) }
        var rng = SeededRandom(seed: 1)
        let x = saeRandomMatrix(30, 8, &rng)
        assertClose(loaded.encode(x).values, sae.encode(x).values, atol: 1e-5, rtol: 1e-5, "acts")
        assertClose(loaded.reconstruct(x).reconstruction.values, sae.reconstruct(x).reconstruction.values,
                    atol: 1e-5, rtol: 1e-5, "x̂")
    }

    func testHalfPrecisionWeights() throws {
        for dtype in [DType.f16, .bf16] {
            var sae = saeRandomFullSAE(.jumprelu, dIn: 5, dSae: 9, seed: 2)
            sae.weightDType = dtype
            try sae.save(to: folder("\(dtype)"))
            let file = try SafetensorsFile(contentsOf: folder("\(dtype)").appendingPathComponent("sae_weights.safetensors"))
            XCTAssertEqual(try file.info("W_enc").dtype, dtype)
            XCTAssertEqual(try cfgObject(folder("\(dtype)"))["dtype"], .string(dtype == .f16 ? "float16" : "bfloat16"))
            let loaded = try SparseAutoencoder.load(from: folder("\(dtype)"))
            XCTAssertEqual(loaded.weightDType, dtype)
            let round: (Float) -> Float = dtype == .f16 ? { HalfFloat.float(fromHalfBits: HalfFloat.halfBits(from: $0)) }
                                                        : { HalfFloat.float(fromBFloat16Bits: HalfFloat.bfloat16Bits(from: $0)) }
            assertBitwiseEqual(loaded.wEnc.values, sae.wEnc.values.map(round), "\(dtype) W_enc")
            assertBitwiseEqual(loaded.threshold!, sae.threshold!.map(round), "\(dtype) threshold")
            // Re-saving what was loaded is exact.
            try loaded.save(to: folder("\(dtype)-2"))
            SAECheck.assertSameSAE(try SparseAutoencoder.load(from: folder("\(dtype)-2")), loaded)
        }
    }

    // MARK: - normalize_activations

    /// Writes `sae` as a folder whose cfg says expected_average_only_in.
    func writeNormalized(_ sae: SparseAutoencoder, _ name: String, cfgFactor: Double? = nil, scalerFactor: String? = nil) throws -> URL {
        let out = folder(name)
        try sae.save(to: out)
        var cfg = try cfgObject(out)
        cfg["normalize_activations"] = .string("expected_average_only_in")
        if let cfgFactor { cfg["norm_scaling_factor"] = .double(cfgFactor) }
        try Data(JSONValue.object(cfg).jsonText.utf8).write(to: out.appendingPathComponent("cfg.json"))
        if let scalerFactor {
            try Data("{\"scaling_factor\": \(scalerFactor)}".utf8).write(to: out.appendingPathComponent("activation_scaler.json"))
        }
        return out
    }

    func testExpectedAverageOnlyInFoldsAStoredFactor() throws {
        let sae = saeRandomFullSAE(.standard, dIn: 6, dSae: 12, seed: 9)
        var rng = SeededRandom(seed: 3)
        let x = saeRandomMatrix(10, 6, &rng)
        var scaled = x
        scaled.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= 2 } }
        for (name, cfgFactor, scaler) in [("scaler", nil as Double?, "2.0" as String?), ("cfg", 2.0, nil)] {
            let loaded = try SparseAutoencoder.load(from: try writeNormalized(sae, name, cfgFactor: cfgFactor, scalerFactor: scaler))
            XCTAssertEqual(loaded.normalizeActivations, .none, name)
            XCTAssertNil(loaded.metadata.otherConfig["norm_scaling_factor"], name)
            assertClose(loaded.encode(x).values, sae.encode(scaled).values, atol: 1e-5, rtol: 1e-5, "\(name) acts")
            assertClose(loaded.reconstruct(x).reconstruction.values,
                        sae.reconstruct(scaled).reconstruction.values.map { $0 / 2 }, atol: 1e-5, rtol: 1e-5, "\(name) x̂")
            try loaded.save(to: folder(name + "-saved"))
            XCTAssertEqual(try cfgObject(folder(name + "-saved"))["normalize_activations"], .string("none"))
        }
        // Without a stored factor the setting is kept (and, as in SAELens, not applied).
        let kept = try SparseAutoencoder.load(from: try writeNormalized(sae, "none-stored", scalerFactor: "null"))
        XCTAssertEqual(kept.normalizeActivations, .expectedAverageOnlyIn)
        assertBitwiseEqual(kept.encode(x).values, sae.encode(x).values, "no scaling applied")
        try kept.save(to: folder("kept-saved"))
        XCTAssertEqual(try cfgObject(folder("kept-saved"))["normalize_activations"], .string("expected_average_only_in"))
    }

    // MARK: - Errors

    /// A valid jumprelu folder (d_in 4, d_sae 6) written by hand, with `edit` applied to
    /// the cfg and `tensors` overriding or removing (nil) tensors.
    func writeFolder(_ name: String, cfg edit: (inout JSONObject) -> Void = { _ in },
                     tensors: [String: (shape: [Int], values: [Float])?] = [:],
                     rawTensors: [String: (DType, [Int], [UInt8])] = [:]) throws -> URL {
        let out = folder(name)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var cfg: JSONObject = ["d_in": .integer(4), "d_sae": .integer(6), "architecture": .string("jumprelu"),
                                    "dtype": .string("float32"), "apply_b_dec_to_input": .bool(true),
                                    "normalize_activations": .string("none"), "metadata": .object([:])]
        edit(&cfg)
        try Data(JSONValue.object(cfg).jsonText.utf8).write(to: out.appendingPathComponent("cfg.json"))
        var all: [String: (shape: [Int], values: [Float])] = [
            "W_enc": ([4, 6], (0..<24).map { Float($0) / 10 }), "b_enc": ([6], [Float](repeating: 0.1, count: 6)),
            "W_dec": ([6, 4], (0..<24).map { Float($0) / 20 }), "b_dec": ([4], [Float](repeating: -0.1, count: 4)),
            "threshold": ([6], [Float](repeating: 0.2, count: 6)),
        ]
        for (k, v) in tensors { all[k] = v }
        var writer = SafetensorsWriter()
        for (k, v) in all { try writer.add(k, shape: v.shape, floats: v.values) }
        for (k, (dtype, shape, bytes)) in rawTensors { try writer.add(k, dtype: dtype, shape: shape, rawBytes: bytes) }
        try writer.write(to: out.appendingPathComponent("sae_weights.safetensors"))
        return out
    }

    func assertLoadFails(_ url: URL, _ expected: SAEFormatError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SparseAutoencoder.load(from: url), file: file, line: line) { error in
            XCTAssertEqual(error as? SAEFormatError, expected, "got \(error)", file: file, line: line)
            // The message names the file.
            XCTAssertTrue("\(error)".contains(url.path), "\(error)", file: file, line: line)
        }
    }

    func testTheHandWrittenFolderLoads() throws {
        let sae = try SparseAutoencoder.load(from: try writeFolder("ok"))
        XCTAssertEqual(sae.architecture, .jumprelu)
        XCTAssertEqual(sae.threshold, [Float](repeating: 0.2, count: 6))
    }

    func testMissingFiles() throws {
        let url = try writeFolder("no-cfg")
        try FileManager.default.removeItem(at: url.appendingPathComponent("cfg.json"))
        assertLoadFails(url, .missingFile(path: url.appendingPathComponent("cfg.json").path))
        let url2 = try writeFolder("no-weights")
        try FileManager.default.removeItem(at: url2.appendingPathComponent("sae_weights.safetensors"))
        assertLoadFails(url2, .missingFile(path: url2.appendingPathComponent("sae_weights.safetensors").path))
        assertLoadFails(folder("nowhere"), .missingFile(path: folder("nowhere").appendingPathComponent("cfg.json").path))
    }

    func testBadConfigs() throws {
        let url = try writeFolder("not-json")
        let cfg = url.appendingPathComponent("cfg.json").path
        try Data("{\"d_in\": 4,".utf8).write(to: url.appendingPathComponent("cfg.json"))
        XCTAssertThrowsError(try SparseAutoencoder.load(from: url)) { error in
            guard case let .invalidConfig(file, reason)? = error as? SAEFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, cfg)
            XCTAssertTrue(reason.contains("not valid JSON"), reason)
        }
        let missing = try writeFolder("no-d-in", cfg: { $0.removeValue(forKey: "d_in") })
        assertLoadFails(missing, .invalidConfig(file: missing.appendingPathComponent("cfg.json").path, reason: "missing key 'd_in'"))
        let wrongType = try writeFolder("d-sae-string", cfg: { $0["d_sae"] = .string("6") })
        assertLoadFails(wrongType, .invalidConfig(file: wrongType.appendingPathComponent("cfg.json").path,
                                                  reason: "'d_sae' is \"6\", not an integer"))
        let badK = try writeFolder("k-too-big", cfg: { $0["architecture"] = .string("topk"); $0["k"] = .integer(7) })
        assertLoadFails(badK, .invalidConfig(file: badK.appendingPathComponent("cfg.json").path, reason: "'k' = 7 must be in 1...6 (d_sae)"))
    }

    /// Values that used to reach a trap: a non-positive context size (the analyses divide
    /// by it), and a norm scaling factor that is finite as a Double but not as a Float, or
    /// that folds a weight out of Float range (`foldActivationScale` preconditions).
    func testHostileConfigValuesThrow() throws {
        for size in [0, -5] {
            let url = try writeFolder("context-\(size)", cfg: { $0["metadata"] = .object(["context_size": .integer(size)]) })
            assertLoadFails(url, .invalidConfig(file: url.appendingPathComponent("cfg.json").path,
                                                reason: "metadata 'context_size' must be positive, found \(size)"))
        }
        for factor in [1e300, 1e-300] {
            let url = try writeFolder("factor-\(factor)", cfg: {
                $0["normalize_activations"] = .string("expected_average_only_in")
                $0["norm_scaling_factor"] = .double(factor)
            })
            assertLoadFails(url, .invalidConfig(file: url.appendingPathComponent("cfg.json").path,
                                                reason: "norm scaling factor \(factor) must be a positive number within Float range"))
        }
        // 3e38 is a Float, but W_enc element 12 (1.2) times it is beyond Float range
        // (element 11, 1.1 x 3e38, is still finite).
        let url = try writeFolder("factor-folds-to-inf", cfg: {
            $0["normalize_activations"] = .string("expected_average_only_in")
            $0["norm_scaling_factor"] = .double(3e38)
        })
        XCTAssertThrowsError(try SparseAutoencoder.load(from: url)) { error in
            guard case let .invalidConfig(file, reason)? = error as? SAEFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.appendingPathComponent("cfg.json").path)
            XCTAssertTrue(reason.contains("makes W_enc element 12 inf"), reason)
        }
    }

    func testUnknownArchitecture() throws {
        let url = try writeFolder("gated", cfg: { $0["architecture"] = .string("gated") })
        assertLoadFails(url, .unknownArchitecture(file: url.appendingPathComponent("cfg.json").path, architecture: "gated"))
    }

    func testUnsupportedNormalization() throws {
        for value in ["layer_norm", "constant_norm_rescale", "bogus"] {
            let url = try writeFolder("norm-\(value)", cfg: { $0["normalize_activations"] = .string(value) })
            assertLoadFails(url, .unsupportedNormalization(file: url.appendingPathComponent("cfg.json").path, value: value))
        }
    }

    func testMissingAndMisshapedTensors() throws {
        func weights(_ u: URL) -> String { u.appendingPathComponent("sae_weights.safetensors").path }
        let noBEnc = try writeFolder("no-b-enc", tensors: ["b_enc": nil])
        assertLoadFails(noBEnc, .missingTensor(file: weights(noBEnc), tensor: "b_enc",
                                               available: ["W_dec", "W_enc", "b_dec", "threshold"]))
        let noThreshold = try writeFolder("no-threshold", tensors: ["threshold": nil])
        assertLoadFails(noThreshold, .missingTensor(file: weights(noThreshold), tensor: "threshold",
                                                    available: ["W_dec", "W_enc", "b_dec", "b_enc"]))
        let shortBias = try writeFolder("short-b-dec", tensors: ["b_dec": ([3], [0, 0, 0])])
        assertLoadFails(shortBias, .tensorShape(file: weights(shortBias), tensor: "b_dec", shape: [3], expected: [4]))
        let flatEnc = try writeFolder("flat-w-enc", tensors: ["W_enc": ([24], [Float](repeating: 0, count: 24))])
        assertLoadFails(flatEnc, .tensorShape(file: weights(flatEnc), tensor: "W_enc", shape: [24], expected: [4, 6]))
        let intEnc = try writeFolder("int-w-enc", tensors: ["W_enc": nil],
                                     rawTensors: ["W_enc": (.i32, [4, 6], [UInt8](repeating: 0, count: 96))])
        assertLoadFails(intEnc, .unsupportedDType(file: weights(intEnc), tensor: "W_enc", dtype: .i32))
    }

    func testDimensionsDisagreeingWithTheConfig() throws {
        let url = try writeFolder("d-in-5", cfg: { $0["d_in"] = .integer(5) })
        assertLoadFails(url, .dimensionMismatch(file: url.appendingPathComponent("sae_weights.safetensors").path,
                                                tensor: "W_enc", shape: [4, 6], dIn: 5, dSae: 6))
        let url2 = try writeFolder("d-sae-8", cfg: { $0["d_sae"] = .integer(8) })
        assertLoadFails(url2, .dimensionMismatch(file: url2.appendingPathComponent("sae_weights.safetensors").path,
                                                 tensor: "W_enc", shape: [4, 6], dIn: 4, dSae: 8))
        // W_dec stored as W_enc's shape (a transposed decoder).
        let url3 = try writeFolder("w-dec-transposed", tensors: ["W_dec": ([4, 6], [Float](repeating: 0, count: 24))])
        assertLoadFails(url3, .dimensionMismatch(file: url3.appendingPathComponent("sae_weights.safetensors").path,
                                                 tensor: "W_dec", shape: [4, 6], dIn: 4, dSae: 6))
    }

    func testNonFiniteWeights() throws {
        var w = (0..<24).map { Float($0) }
        w[13] = .nan
        let url = try writeFolder("nan", tensors: ["W_dec": ([6, 4], w)])
        XCTAssertThrowsError(try SparseAutoencoder.load(from: url)) { error in
            guard case let .nonFiniteWeight(file, tensor, index, value)? = error as? SAEFormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.appendingPathComponent("sae_weights.safetensors").path)
            XCTAssertEqual(tensor, "W_dec")
            XCTAssertEqual(index, 13)
            XCTAssertTrue(value.isNaN)
        }
        let url2 = try writeFolder("inf", tensors: ["threshold": ([6], [0, 0, .infinity, 0, 0, 0])])
        assertLoadFails(url2, .nonFiniteWeight(file: url2.appendingPathComponent("sae_weights.safetensors").path,
                                               tensor: "threshold", index: 2, value: .infinity))
        // Saving refuses them too.
        var sae = SparseAutoencoder.random(architecture: .standard, dIn: 3, dSae: 4, seed: 1)
        sae.bEnc[1] = -.infinity
        XCTAssertThrowsError(try sae.save(to: folder("bad-save"))) { error in
            guard case .cannotWrite? = error as? SAEFormatError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder("bad-save").path))
    }

    func testSaveFailureLeavesNoTemporaries() throws {
        // The destination's parent is a regular file: nothing can be created.
        let blocker = scratch.write("blocker", [1, 2, 3])
        let sae = SparseAutoencoder.random(architecture: .standard, dIn: 3, dSae: 4, seed: 1)
        XCTAssertThrowsError(try sae.save(to: blocker.appendingPathComponent("sae"))) { error in
            guard case .cannotWrite? = error as? SAEFormatError else { return XCTFail("\(error)") }
        }
        // A weights file name taken by a directory: the rename fails after both temporaries
        // were written; they are removed and the folder keeps only what it had.
        let out = folder("blocked")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("sae_weights.safetensors/x"),
                                                withIntermediateDirectories: true)
        XCTAssertThrowsError(try sae.save(to: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["sae_weights.safetensors"])
    }

    func testBatchTopKTrainingCheckpointWithScalarThreshold() throws {
        let url = try writeFolder("btk", cfg: {
            $0["architecture"] = .string("batchtopk"); $0["k"] = .double(3); $0["rescale_acts_by_decoder_norm"] = .bool(true)
        }, tensors: ["threshold": nil], rawTensors: ["topk_threshold": (.f64, [], Array(withUnsafeBytes(of: 0.75) { Array($0) }))])
        let sae = try SparseAutoencoder.load(from: url)
        XCTAssertEqual(sae.architecture, .batchtopk)
        XCTAssertEqual(sae.k, 3)
        XCTAssertTrue(sae.rescaleActsByDecoderNorm)
        XCTAssertEqual(sae.threshold, [Float](repeating: 0.75, count: 6))
    }
}
