import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// `sae train --resume`: a run killed with SIGKILL part-way, resumed, ends with bitwise the
/// weights (and frequency snapshots, metrics, and log but for its timing) of a run that was
/// never interrupted; a kill during a checkpoint write leaves only complete checkpoints.
extension CLITests {
    /// A small run: by default 120 steps of 256 tokens, a checkpoint every 40 steps.
    func resumableTrainArgs(out: URL, tokens: Int = 30720, checkpointEvery: Int = 10240, dSae: Int = 64, lr: String = "0.001",
                            _ extra: [String] = []) -> [String] {
        ["train", "--train-tokens", "\(tokens)", "--batch", "256", "--d-sae", "\(dSae)", "--lr", lr,
         "--checkpoint-every", "\(checkpointEvery)", "--log-every", "4", "--snapshot-every", "5120", "--eval-contexts", "2",
         "--no-analysis", "--threads", "1", "--seed", "3", "--out", out.path] + extra
    }

    func names(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    /// The log's records without their timing (`tokens_per_s`), in order.
    func logRecords(_ out: URL) throws -> [NSDictionary] {
        let text = try String(contentsOf: out.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return NSDictionary(dictionary: object.filter { $0.key != "tokens_per_s" })
        }
    }

    func testTrainKilledMidRunResumesToTheSameWeights() throws {
        let straight = temp("straight"), killed = temp("killed")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: killed) }
        let s = try run(resumableTrainArgs(out: straight))
        XCTAssertEqual(s.status, 0, s.err)

        // Started again, and killed once a checkpoint exists: while the next one is being
        // written (its temporary folder seen), or else as soon as that one is complete.
        let p = Process()
        p.executableURL = try binary
        p.arguments = resumableTrainArgs(out: killed)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let checkpoints = killed.appendingPathComponent("checkpoints")
        var killedMidWrite = false
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && Date() < deadline {
            let present = names(checkpoints)
            let complete = present.filter { $0.hasPrefix("step-") }.count
            let writing = present.contains { $0.hasPrefix(".step-") }
            if complete >= 2 || (complete == 1 && writing) {
                kill(p.processIdentifier, SIGKILL)
                killedMidWrite = writing
                break
            }
            usleep(200)
        }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the run ended before it could be killed: make it longer")
        XCTAssertEqual(p.terminationStatus, SIGKILL)
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("sae").path), "the killed run got to the end")
        let left = names(checkpoints)
        print("killed \(killedMidWrite ? "during a checkpoint write" : "between checkpoints"); checkpoints: \(left)")
        XCTAssertFalse(left.filter { $0.hasPrefix("step-") }.isEmpty, "no checkpoint to resume from: \(left)")
        // Only complete checkpoints under their final names.
        for name in left where !name.hasPrefix(".") {
            XCTAssertEqual(names(checkpoints.appendingPathComponent(name)), ["state.json", "state.safetensors"], name)
        }

        let r = try run(resumableTrainArgs(out: killed, ["--resume"]))
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("resuming from \(checkpoints.path)/step-"), r.err)
        XCTAssertFalse(names(checkpoints).contains { $0.hasPrefix(".") }, "leftovers of the killed write remain: \(names(checkpoints))")
        for file in ["sae/sae_weights.safetensors", "sae/cfg.json", "feature_frequencies.safetensors", "metrics.json"] {
            let a = try Data(contentsOf: straight.appendingPathComponent(file)), b = try Data(contentsOf: killed.appendingPathComponent(file))
            XCTAssertGreaterThan(a.count, 0, file)
            XCTAssertTrue(a == b, "\(file) differs between the uninterrupted and the resumed run")
        }
        XCTAssertEqual(r.out, s.out, "the metrics printed differ")
        // The log: every step once, in order, the same values but the timing.
        let straightLog = try logRecords(straight), resumedLog = try logRecords(killed)
        XCTAssertEqual(straightLog.count, 30)
        XCTAssertEqual(resumedLog.map { $0["step"] as? Int }, straightLog.map { $0["step"] as? Int })
        XCTAssertEqual(resumedLog, straightLog)
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("training_log.jsonl.partial").path))
    }

    func testTrainResumeRefusesWithoutACheckpointOrForAnotherConfig() throws {
        let out = temp("resume-refused")
        defer { try? FileManager.default.removeItem(at: out) }
        let none = try run(resumableTrainArgs(out: out, ["--resume"]))
        XCTAssertEqual(none.status, 1, none.err)
        XCTAssertTrue(none.err.contains("no checkpoint in \(out.path)/checkpoints"), none.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("sae").path))

        // A finished short run leaves checkpoints; another --d-sae and --lr cannot resume from them.
        let first = try run(resumableTrainArgs(out: out, tokens: 2048, checkpointEvery: 1024))
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertEqual(names(out.appendingPathComponent("checkpoints")), ["step-4", "step-8"])
        let other = try run(resumableTrainArgs(out: out, tokens: 2048, checkpointEvery: 1024, dSae: 32, lr: "0.002", ["--resume"]))
        XCTAssertEqual(other.status, 1, other.err)
        for text in ["step-8/state.json", "another config", "dSae: 64 vs 32", "learningRate: 0.001 vs 0.002"] {
            XCTAssertTrue(other.err.contains(text), "'\(text)' missing from: \(other.err)")
        }
        XCTAssertEqual(other.err.split(separator: "\n").last.map { $0.hasPrefix("sae train: error:") }, true, other.err)
    }
}
