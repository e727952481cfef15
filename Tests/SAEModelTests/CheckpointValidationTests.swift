import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Hostile checkpoints: each damaged array or value is refused with a `TrainingError` naming
/// the file and the array or field, before anything is written through the trainer's pointers.
final class CheckpointValidationTests: XCTestCase {
    let dIn = 16

    func source() -> ArrayActivationSource { ArrayActivationSource(rows: activationRows(2000, dIn, seed: 1), dIn: dIn, cycle: true) }

    func config() -> TrainingConfig {
        var c = smallConfig(.batchtopk)
        c.frequencySnapshotTokens = 96
        c.normalizeInput = true
        return c
    }

    /// A valid checkpoint after 7 steps, in a fresh folder (removed by the caller).
    func checkpoint() throws -> (scratch: ScratchDirectory, dir: URL) {
        let t = try SAETrainer(config: config(), source: source())
        for _ in 0..<7 { try t.trainStep() }
        let scratch = ScratchDirectory("saekit-ckpt-hostile")
        let dir = scratch.file("step-7")
        try t.saveCheckpoint(to: dir)
        return (scratch, dir)
    }

    struct Tensor {
        var dtype: DType
        var shape: [Int]
        var bytes: [UInt8]
        var floats: [Float] {
            get { bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
            set { bytes = newValue.withUnsafeBytes { Array($0) } }
        }
        var ints: [Int64] {
            get { bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } }
            set { bytes = newValue.withUnsafeBytes { Array($0) } }
        }
    }

    /// Rewrites `state.safetensors` after `edit` changes its tensors (by name).
    func editArrays(_ dir: URL, _ edit: (inout [String: Tensor]) -> Void) throws {
        let url = dir.appendingPathComponent("state.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        var tensors: [String: Tensor] = [:]
        for name in file.names {
            let info = try file.info(name)
            tensors[name] = Tensor(dtype: info.dtype, shape: info.shape, bytes: try file.withRawBytes(of: name) { Array($0) })
        }
        edit(&tensors)
        var w = SafetensorsWriter()
        for (name, t) in tensors { try w.add(name, dtype: t.dtype, shape: t.shape, rawBytes: t.bytes) }
        try w.write(to: url)
    }

    /// Rewrites `state.json` after `edit` changes its top-level fields.
    func editState(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("state.json")
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    /// Resuming from a fresh copy of the checkpoint, damaged by `damage`, throws a
    /// `TrainingError` whose message holds every string of `mentions`.
    func assertRefused(mentions: [String], config expected: TrainingConfig? = nil, file: StaticString = #filePath, line: UInt = #line,
                       _ damage: (URL) throws -> Void) throws {
        let (scratch, dir) = try checkpoint()
        defer { scratch.remove() }
        try damage(dir)
        XCTAssertThrowsError(try SAETrainer.resume(from: dir, source: source(), config: expected, metadata: nil), file: file, line: line) { e in
            XCTAssertTrue(e is TrainingError, "not a TrainingError: \(e)", file: file, line: line)
            for m in mentions { XCTAssertTrue("\(e)".contains(m), "'\(m)' missing from: \(e)", file: file, line: line) }
        }
    }

    /// The helpers themselves: an undamaged checkpoint, rewritten by both editors without a
    /// change, resumes (so each refusal below is the damage's doing).
    func testAnUndamagedRewrittenCheckpointResumes() throws {
        let (scratch, dir) = try checkpoint()
        defer { scratch.remove() }
        try editArrays(dir) { _ in }
        try editState(dir) { _ in }
        let t = try SAETrainer.resume(from: dir, source: source(), config: config(), metadata: nil)
        XCTAssertEqual(t.step, 7)
        try t.train()
        XCTAssertTrue(t.parameters.allFinite)
    }

    func testTruncatedArraysAreRefused() throws {
        let dSae = config().dSae
        for name in ["mEncT", "vDec", "wDec"] {
            try assertRefused(mentions: ["state.safetensors", "'\(name)'", "shape"]) { dir in
                try editArrays(dir) { t in
                    t[name]!.shape = [dSae - 1, dIn]
                    t[name]!.bytes.removeLast(dIn * 4)
                }
            }
        }
        try assertRefused(mentions: ["state.safetensors", "'buffer.rows'"]) { dir in
            try editArrays(dir) { t in
                let rows = t["buffer.rows"]!.shape[0]
                t["buffer.rows"]!.shape = [rows / 2, dIn]
                t["buffer.rows"]!.bytes.removeLast(rows / 2 * dIn * 4)
            }
        }
        try assertRefused(mentions: ["state.safetensors", "'freq.sinceFired'"]) { dir in
            try editArrays(dir) { t in t["freq.sinceFired"]!.shape = [3]; t["freq.sinceFired"]!.bytes = Array(t["freq.sinceFired"]!.bytes.prefix(24)) }
        }
        // The file itself cut short.
        try assertRefused(mentions: ["state.safetensors"]) { dir in
            let url = dir.appendingPathComponent("state.safetensors")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count / 2).write(to: url)
        }
        try assertRefused(mentions: ["state.safetensors", "'freq.resample'"]) { dir in
            try editArrays(dir) { t in t["freq.resample"] = nil }
        }
    }

    func testWrongShapesAreRefused() throws {
        let dSae = config().dSae
        // Same element count, transposed.
        try assertRefused(mentions: ["'wEncT'", "[\(dIn), \(dSae)]"]) { dir in
            try editArrays(dir) { t in t["wEncT"]!.shape = [dIn, dSae] }
        }
        try assertRefused(mentions: ["'bEnc'"]) { dir in
            try editArrays(dir) { t in t["bEnc"]!.shape = [1, dSae] }
        }
        try assertRefused(mentions: ["'snapshots'"]) { dir in
            try editArrays(dir) { t in
                let n = t["snapshots"]!.shape[0]
                t["snapshots"]!.shape = [n + 1, dSae]
                t["snapshots"]!.bytes += [UInt8](repeating: 0, count: dSae * 4)
            }
        }
        // The buffer's order longer than its filled slots.
        try assertRefused(mentions: ["'buffer.order'"]) { dir in
            try editArrays(dir) { t in t["buffer.order"]!.shape[0] += 1; t["buffer.order"]!.bytes += [0, 0, 0, 0] }
        }
    }

    func testWrongDTypesAreRefused() throws {
        try assertRefused(mentions: ["'vDec'", "F16", "F32"]) { dir in
            try editArrays(dir) { t in t["vDec"]!.dtype = .f16; t["vDec"]!.bytes = Array(t["vDec"]!.bytes.prefix(t["vDec"]!.bytes.count / 2)) }
        }
        try assertRefused(mentions: ["'bDec'", "F64"]) { dir in
            try editArrays(dir) { t in t["bDec"]!.dtype = .f64; t["bDec"]!.bytes += t["bDec"]!.bytes }
        }
        try assertRefused(mentions: ["'buffer.order'", "F32", "I32"]) { dir in
            try editArrays(dir) { t in t["buffer.order"]!.dtype = .f32 }
        }
        try assertRefused(mentions: ["'freq.window'", "I32", "I64"]) { dir in
            try editArrays(dir) { t in t["freq.window"]!.dtype = .i32; t["freq.window"]!.bytes = Array(t["freq.window"]!.bytes.prefix(t["freq.window"]!.bytes.count / 2)) }
        }
    }

    func testNonFiniteAndOutOfRangeValuesAreRefused() throws {
        for (name, value) in [("mBEnc", Float.nan), ("vEncT", .infinity), ("wDec", -.infinity), ("buffer.rows", .nan), ("snapshots", .nan)] {
            try assertRefused(mentions: ["state.safetensors", "'\(name)'", "\(value)"]) { dir in
                try editArrays(dir) { t in var f = t[name]!.floats; f[f.count / 2] = value; t[name]!.floats = f }
            }
        }
        try assertRefused(mentions: ["'vDec'", "negative"]) { dir in
            try editArrays(dir) { t in var f = t["vDec"]!.floats; f[5] = -1e-3; t["vDec"]!.floats = f }
        }
        try assertRefused(mentions: ["'snapshots'", "above"]) { dir in
            try editArrays(dir) { t in var f = t["snapshots"]!.floats; f[0] = 2; t["snapshots"]!.floats = f }
        }
        // Buffer slots outside the buffer, or one slot twice.
        try assertRefused(mentions: ["'buffer.order'", "outside"]) { dir in
            try editArrays(dir) { t in
                let capacity = t["buffer.rows"]!.shape[0]
                t["buffer.order"]!.bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: Int32(capacity + 5)) { Array($0) })
            }
        }
        try assertRefused(mentions: ["'buffer.order'", "twice"]) { dir in
            try editArrays(dir) { t in t["buffer.order"]!.bytes.replaceSubrange(4..<8, with: t["buffer.order"]!.bytes[0..<4]) }
        }
        for name in ["freq.window", "freq.sinceFired", "freq.snapshot", "freq.resample"] {
            try assertRefused(mentions: ["'\(name)'", "-3"]) { dir in
                try editArrays(dir) { t in var v = t[name]!.ints; v[2] = -3; t[name]!.ints = v }
            }
            try assertRefused(mentions: ["'\(name)'", "outside"]) { dir in
                try editArrays(dir) { t in var v = t[name]!.ints; v[2] = 1 << 40; t[name]!.ints = v }
            }
        }
    }

    func testInconsistentStateValuesAreRefused() throws {
        let cases: [(String, [String], (inout [String: Any]) -> Void)] = [
            ("bufferPosition", ["bufferPosition"], { $0["bufferPosition"] = ($0["bufferFilled"] as! Int) + 1 }),
            ("negative bufferPosition", ["bufferPosition"], { $0["bufferPosition"] = -1 }),
            ("bufferFilled", ["bufferFilled"], { $0["bufferFilled"] = 1 << 40 }),
            ("step", ["step"], { $0["step"] = 10_000 }),
            ("tokensSeen", ["tokensSeen"], { $0["tokensSeen"] = ($0["tokensSeen"] as! Int) + 1 }),
            ("windowSeen", ["windowSeen"], { $0["windowSeen"] = 1 << 40 }),
            ("snapshotSeen", ["snapshotSeen"], { $0["snapshotSeen"] = -5 }),
            ("inputScale", ["input scale"], { $0["inputScale"] = 0 }),
            ("snapshotTokens", ["snapshotTokens"], { $0["snapshotTokens"] = [192, 96] }),
            ("dIn", ["d_in"], { $0["dIn"] = 17 }),
            ("formatVersion", ["format version"], { $0["formatVersion"] = 2 }),
            ("sourceState missing", ["source"], { $0["sourceState"] = nil }),
            ("sourceState outside", ["source", "next_row"], { $0["sourceState"] = ["next_row": "999999"] }),
            ("lastWindow", ["lastWindow"], { $0["lastWindow"] = ["tokens": 64, "dead": 3.0, "below1e5": 0.0, "below1e4": 0.0] }),
            // The checkpoint's own config disagrees with its arrays.
            ("config dSae", ["state.safetensors", "shape"], { var c = $0["config"] as! [String: Any]; c["dSae"] = 64; $0["config"] = c }),
            ("config batch", ["state.safetensors", "'buffer.rows'"], { var c = $0["config"] as! [String: Any]; c["bufferBatches"] = 8; $0["config"] = c }),
            ("invalid config", ["not valid", "batch"], { var c = $0["config"] as! [String: Any]; c["batchSize"] = 0; $0["config"] = c }),
        ]
        for (label, mentions, edit) in cases {
            try assertRefused(mentions: mentions) { dir in try editState(dir, edit) }
            _ = label
        }
        // A threshold on an SAE that has none.
        try assertRefused(mentions: ["threshold"]) { dir in
            try editState(dir) { s in var c = s["config"] as! [String: Any]; c["architecture"] = "topk"; s["config"] = c }
        }
    }

    func testACheckpointOfAnotherConfigIsRefusedNamingTheFields() throws {
        var other = config()
        other.dSae = 64
        other.learningRate = 2e-3
        try assertRefused(mentions: ["state.json", "another config", "dSae: 48 vs 64", "learningRate: 0.001 vs 0.002"], config: other) { _ in }
        other = config()
        other.architecture = .topk
        try assertRefused(mentions: ["architecture: batchtopk vs topk"], config: other) { _ in }
        other = config()
        other.resampling = .anthropic(everyTokens: 100, sampleRows: 10)
        try assertRefused(mentions: ["resampling"], config: other) { _ in }
        // Threads, checkpoint cadence and log cadence do not change the weights: accepted, and used.
        let (scratch, dir) = try checkpoint()
        defer { scratch.remove() }
        var same = config()
        same.threads = 1
        same.logEverySteps = 3
        same.checkpointTokens = 1000
        same.checkpointDirectory = scratch.url.path
        let t = try SAETrainer.resume(from: dir, source: source(), config: same, metadata: nil)
        XCTAssertEqual(t.config.threads, 1)
        XCTAssertEqual(t.config.logEverySteps, 3)
    }

    func testACheckpointOfOtherActivationsIsRefused() throws {
        let (scratch, dir) = try checkpoint()
        defer { scratch.remove() }
        var meta = SAEMetadata()
        meta.hookName = "blocks.0.hook_resid_pre"
        XCTAssertThrowsError(try SAETrainer.resume(from: dir, source: source(), config: config(), metadata: meta)) { e in
            XCTAssertTrue("\(e)".contains("hook: blocks.0.mlp.hook_post vs blocks.0.hook_resid_pre"), "\(e)")
        }
    }
}
