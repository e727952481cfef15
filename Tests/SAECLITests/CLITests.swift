import Foundation
import XCTest

/// Runs the built `sae` executable: help, option errors (one line, exit status 2), and small
/// real runs of each command on the bundled default and the test fixtures.
final class CLITests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repo.appendingPathComponent("Tests/Fixtures/tiny-gelu-1l")

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

    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary
        p.arguments = args
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
                     ["train", "--model", Self.fixtures.path]] {
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
        let a = try run(["activations", "--model", Self.fixtures.path, "--tokens", Self.fixtures.appendingPathComponent("tokens-eval.bin").path,
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
                let worst = zip(g, w).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4, "\(name) \(k)")
            }
        }
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
