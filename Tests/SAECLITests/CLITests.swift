import Foundation
import SAETestAssertions
import SAETestSupport
import XCTest

/// Runs the built `sae` executable: help, option errors (one line, exit status 2), and small
/// real runs of each command on the bundled default and the test fixtures.
final class CLITests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The reference SAEs (`saelens-standard`, `saelens-topk`) and TransformerLens references.
    static let fixtures = repo.appendingPathComponent("Tests/Fixtures/tiny-gelu-1l")
    /// The bundled model (SAEModel's resource `BundledModel`): config, weights, tokenizer, tokens.
    static let model = repo.appendingPathComponent("Sources/SAEModel/Resources/tiny-gelu-1l")

    struct MissingBinary: Error, CustomStringConvertible { var description: String }

    /// The `sae` binary in the build products folder (the test target depends on it).
    var binary: URL {
        get throws {
            let bundle = Bundle(for: CLITests.self).bundleURL
            for dir in [bundle, bundle.deletingLastPathComponent()] {
                let url = dir.appendingPathComponent("sae")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw MissingBinary(description: "no sae executable beside \(bundle.path)")
        }
    }

    /// Runs `sae args`; `environment` entries are added to this process's environment.
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func temp(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("saekit-cli-\(UUID().uuidString)-\(name)")
    }

    func testHelpListsCommandsAndEveryOptionWithDefaults() throws {
        let main = try run(["--help"])
        XCTAssertEqual(main.status, 0)
        for c in ["train", "eval", "analyze", "activations", "encode"] { XCTAssertTrue(main.out.contains("  \(c)"), "missing \(c)") }
        let train = try run(["train", "--help"])
        XCTAssertEqual(train.status, 0)
        for o in ["--model DIR", "--tokens FILE", "--hook NAME", "--arch", "--d-sae N", "--expansion X", "--k N", "--l1 C", "--lr R",
                  "--batch N", "--train-tokens N", "--resample", "--seed S", "--threads N", "--out DIR"] {
            XCTAssertTrue(train.out.contains(o), "train --help lacks \(o)")
        }
        XCTAssertTrue(train.out.contains("(default: blocks.0.mlp.hook_post)"))
        XCTAssertTrue(train.out.contains("(default: ./sae-output)"))
        for c in ["eval", "analyze", "activations", "encode"] {
            let h = try run([c, "--help"])
            XCTAssertEqual(h.status, 0, c)
            XCTAssertTrue(h.out.contains("usage: sae \(c)"), c)
        }
    }

    func testWrongOptionsAndValuesExitWithStatus2AndOneLine() throws {
        for args in [["train", "--batch", "x"], ["train", "--frobnicate"], ["train", "--arch", "gated"], ["eval"],
                     ["encode", "--sae", "/nonexistent", "--in", "x", "--out", "y"], ["nosuchcommand"],
                     ["train", "--model", Self.model.path]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(args): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("sae"), r.err)
        }
    }

    func testTrainEvalActivationsEncodeOnTheBundledModel() throws {
        let out = temp("train")
        defer { try? FileManager.default.removeItem(at: out) }
        let t = try run(["train", "--train-tokens", "8192", "--batch", "1024", "--d-sae", "256", "--eval-contexts", "2",
                         "--no-analysis", "--threads", "2", "--out", out.path])
        XCTAssertEqual(t.status, 0, t.err)
        for f in ["sae/cfg.json", "sae/sae_weights.safetensors", "training_log.jsonl", "feature_frequencies.safetensors", "metrics.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "missing \(f)")
        }
        let log = try String(contentsOf: out.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 1)  // 8 steps, logged every 10 and at the end
        let metrics = try JSONSerialization.jsonObject(with: Data(t.out.utf8)) as? [String: Any]
        XCTAssertNotNil(metrics?["loss_recovered"], t.out)

        let e = try run(["eval", "--sae", out.appendingPathComponent("sae").path, "--contexts", "2", "--threads", "1"])
        XCTAssertEqual(e.status, 0, e.err)
        let m = try JSONSerialization.jsonObject(with: Data(e.out.utf8)) as? [String: Any]
        for k in ["mse", "explained_variance", "l0", "dead_fraction", "ce_clean", "ce_spliced", "ce_zero_ablation",
                  "ce_mean_ablation", "loss_recovered", "kl_divergence"] { XCTAssertNotNil(m?[k], "eval lacks \(k)") }

        let acts = temp("acts.safetensors")
        defer { try? FileManager.default.removeItem(at: acts) }
        let a = try run(["activations", "--model", Self.model.path, "--tokens", Self.model.appendingPathComponent("tokens-eval.bin").path,
                         "--hooks", "blocks.0.mlp.hook_post,blocks.0.hook_resid_pre", "--sequences", "3", "--context", "12", "--out", acts.path])
        XCTAssertEqual(a.status, 0, a.err)
        let header = try safetensorsHeader(acts)
        XCTAssertEqual(header["tokens"]?.shape, [3, 12])
        XCTAssertEqual(header["tokens"]?.dtype, "I32")
        XCTAssertEqual(header["blocks.0.mlp.hook_post"]?.shape, [3, 12, 512])
        XCTAssertEqual(header["blocks.0.hook_resid_pre"]?.shape, [3, 12, 128])
        XCTAssertEqual(header["loss_per_token"]?.shape, [3, 11])

        let enc = temp("enc.safetensors")
        defer { try? FileManager.default.removeItem(at: enc) }
        let c = try run(["encode", "--sae", out.appendingPathComponent("sae").path, "--in", acts.path, "--tensor", "blocks.0.mlp.hook_post", "--out", enc.path])
        XCTAssertEqual(c.status, 0, c.err)
        let eh = try safetensorsHeader(enc)
        XCTAssertEqual(eh["feature_acts"]?.shape, [3, 12, 256])
        XCTAssertEqual(eh["sae_out"]?.shape, [3, 12, 512])
    }

    /// `sae encode` on SAELens's own SAE gives SAELens's outputs.
    func testEncodeMatchesSAELensReference() throws {
        for name in ["saelens-standard", "saelens-topk"] {
            let dir = Self.fixtures.appendingPathComponent(name)
            let out = temp("\(name).safetensors")
            defer { try? FileManager.default.removeItem(at: out) }
            let r = try run(["encode", "--sae", dir.path, "--in", dir.appendingPathComponent("encode-reference.safetensors").path,
                             "--tensor", "sae_in", "--out", out.path])
            XCTAssertEqual(r.status, 0, r.err)
            let got = try floats(out), want = try floats(dir.appendingPathComponent("encode-reference.safetensors"))
            for k in ["feature_acts", "sae_out"] {
                let g = try XCTUnwrap(got[k]), w = try XCTUnwrap(want[k])
                XCTAssertEqual(g.count, w.count)
                assertClose(g, w, atol: 1e-4, rtol: 1e-4, "\(name) \(k)")
            }
        }
    }

    /// Absurd numbers and files that cannot work: one line naming the flag or file and the
    /// problem, status 2 (usage) or 1 (run), never a trap (status 132).
    func testAbsurdValuesAndTooSmallFilesGetAMessageNotATrap() throws {
        let dir = temp("absurd")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let huge = "4611686018427387904"
        // A token file of 150 tokens: one context of 128, none left to hold out.
        let eval = try Data(contentsOf: Self.model.appendingPathComponent("tokens-eval.bin"))
        let oneContext = dir.appendingPathComponent("one-context.bin")
        try eval.prefix(300).write(to: oneContext)
        // An SAE whose cfg.json says it ran on one-token contexts without BOS.
        let shortSAE = dir.appendingPathComponent("short-sae")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("saelens-standard"), to: shortSAE)
        let cfgURL = shortSAE.appendingPathComponent("cfg.json")
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: cfgURL)) as? [String: Any])
        var meta = cfg["metadata"] as? [String: Any] ?? [:]
        meta["context_size"] = 1
        meta["prepend_bos"] = false
        meta["hook_name"] = "blocks.0.mlp.hook_post"
        cfg["metadata"] = meta
        try JSONSerialization.data(withJSONObject: cfg).write(to: cfgURL)

        let model = Self.model.path
        let cases: [(args: [String], status: Int32, says: String)] = [
            (["train", "--expansion", "1e300", "--out", out], 2, "--expansion"),
            (["train", "--d-sae", huge, "--out", out], 2, "GiB"),
            (["train", "--batch", huge, "--out", out], 2, "batch"),
            (["train", "--batch", huge, "--train-tokens", huge, "--out", out], 2, "GiB"),
            (["train", "--threads", "100000000", "--out", out], 2, "--threads"),
            (["train", "--l1", "1e300", "--out", out], 2, "--l1"),
            (["train", "--lr", "1e300", "--out", out], 2, "--lr"),
            (["train", "--out", ""], 2, "--out needs a value"),
            (["train", "--model", model, "--tokens", oneContext.path, "--out", out, "--no-analysis"], 1, "hold one out"),
            (["activations", "--bos", "5000000000", "--hooks", "blocks.0.hook_resid_pre", "--out", out], 2, "--bos"),
            (["analyze", "--sae", shortSAE.path, "--out", out], 2, "context_size 1"),
            (["eval", "--sae", shortSAE.path], 2, "context_size 1"),
        ]
        for c in cases {
            let r = try run(c.args)
            XCTAssertEqual(r.status, c.status, "\(c.args): \(r.err)")
            // Progress lines may come first; the error is one line, the last.
            let last = r.err.split(separator: "\n").last.map(String.init) ?? ""
            XCTAssertTrue(last.hasPrefix("sae \(c.args[0]): "), "\(c.args): \(r.err)")
            XCTAssertTrue(last.contains(c.says), "\(c.args) should say '\(c.says)': \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/sae"), "nothing trained")
    }

    /// A token file of a few contexts and no evaluation file: one context is held out, the
    /// rest train.
    func testTrainOnAFewContextsHoldsOneOut() throws {
        let dir = temp("few")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokens = dir.appendingPathComponent("few.bin")
        try Data(contentsOf: Self.model.appendingPathComponent("tokens-eval.bin")).prefix(2 * 5 * 127).write(to: tokens)
        let out = dir.appendingPathComponent("out")
        let r = try run(["train", "--model", Self.model.path, "--tokens", tokens.path, "--train-tokens", "2048", "--batch", "512",
                         "--d-sae", "64", "--no-analysis", "--threads", "1", "--out", out.path])
        XCTAssertEqual(r.status, 0, r.err)
        let m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let tokensEvaluated = try XCTUnwrap(m["tokens"] as? Int)
        XCTAssertGreaterThan(tokensEvaluated, 0)
        XCTAssertLessThanOrEqual(tokensEvaluated, 128, "one held-out context")
        let ev = try XCTUnwrap(m["explained_variance"] as? Double)
        XCTAssertTrue(ev.isFinite, "explained variance \(ev)")
    }

    /// Headerless 32-bit token files: refused with a message when read as 16-bit (the default
    /// for a small vocabulary), read exactly with `--token-dtype uint32`; the commands print
    /// their results as JSON on stdout.
    func testUInt32TokenFilesAndJSONOnStdout() throws {
        let dir = temp("u32")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let u16 = dir.appendingPathComponent("tokens16.bin"), u32 = dir.appendingPathComponent("tokens32.bin")
        let ids = try Data(contentsOf: Self.model.appendingPathComponent("tokens-eval.bin")).prefix(2 * 2048)
        try ids.write(to: u16)
        var wide = Data()
        for i in stride(from: 0, to: ids.count, by: 2) {
            let v = UInt32(ids[ids.startIndex + i]) | UInt32(ids[ids.startIndex + i + 1]) << 8
            withUnsafeBytes(of: v.littleEndian) { wide.append(contentsOf: $0) }
        }
        try wide.write(to: u32)
        func activations(_ tokens: URL, _ extra: [String], out: URL) throws -> (status: Int32, out: String, err: String) {
            try run(["activations", "--model", Self.model.path, "--tokens", tokens.path, "--hooks", "blocks.0.hook_resid_pre",
                     "--sequences", "2", "--context", "16", "--out", out.path] + extra)
        }
        let refused = try activations(u32, [], out: dir.appendingPathComponent("a.safetensors"))
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertTrue(refused.err.contains("32-bit"), refused.err)
        let a16 = dir.appendingPathComponent("a16.safetensors"), a32 = dir.appendingPathComponent("a32.safetensors")
        let r16 = try activations(u16, [], out: a16), r32 = try activations(u32, ["--token-dtype", "uint32"], out: a32)
        XCTAssertEqual(r16.status, 0, r16.err)
        XCTAssertEqual(r32.status, 0, r32.err)
        XCTAssertEqual(try tokenIDs(a16), try tokenIDs(a32))
        XCTAssertEqual(try tokenIDs(a16).count, 32)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r32.out.utf8)) as? [String: Any], r32.out)
        XCTAssertEqual(json["out"] as? String, a32.path)
        XCTAssertEqual(json["sequences"] as? Int, 2)

        let enc = dir.appendingPathComponent("enc.safetensors")
        let e = try run(["encode", "--sae", Self.fixtures.appendingPathComponent("saelens-standard").path, "--in",
                         Self.fixtures.appendingPathComponent("saelens-standard/encode-reference.safetensors").path,
                         "--tensor", "sae_in", "--out", enc.path])
        XCTAssertEqual(e.status, 0, e.err)
        let ej = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.out.utf8)) as? [String: Any], e.out)
        XCTAssertEqual(ej["out"] as? String, enc.path)
    }

    func tokenIDs(_ url: URL) throws -> [Int32] {
        let data = try Data(contentsOf: url)
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let e = try XCTUnwrap(try safetensorsHeader(url)["tokens"])
        XCTAssertEqual(e.dtype, "I32")
        return data.subdata(in: (8 + n + e.offsets[0])..<(8 + n + e.offsets[1])).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
    }

    // MARK: - A minimal safetensors reader, independent of the library under test.

    struct Entry { var dtype: String; var shape: [Int]; var offsets: [Int] }

    func safetensorsHeader(_ url: URL) throws -> [String: Entry] {
        let data = try Data(contentsOf: url)
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        var out: [String: Entry] = [:]
        for (k, v) in json where k != "__metadata__" {
            let d = v as! [String: Any]
            out[k] = Entry(dtype: d["dtype"] as! String, shape: d["shape"] as! [Int], offsets: d["data_offsets"] as! [Int])
        }
        return out
    }

    func floats(_ url: URL) throws -> [String: [Float]] {
        let data = try Data(contentsOf: url)
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var out: [String: [Float]] = [:]
        for (k, e) in try safetensorsHeader(url) where e.dtype == "F32" {
            let bytes = data.subdata(in: (8 + n + e.offsets[0])..<(8 + n + e.offsets[1]))
            out[k] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return out
    }
}
