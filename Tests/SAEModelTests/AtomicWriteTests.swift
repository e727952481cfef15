import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Writes interrupted in the middle leave the previous file or folder intact, and nothing
/// partial under the final name. (A process killed during a checkpoint write is tested with
/// the `sae` executable in `CLITests`.)
final class AtomicWriteTests: XCTestCase {
    struct Injected: Error {}

    func testAFileWriteFailingMidwayLeavesThePreviousFile() throws {
        let scratch = ScratchDirectory("saekit-atomic")
        defer { scratch.remove() }
        let url = scratch.write("weights.safetensors", Array("previous".utf8))
        XCTAssertThrowsError(try AtomicFile.write(to: url) { out in
            // More than the 1 MiB buffer: the first bytes have reached the temporary file.
            try out.append([UInt8](repeating: 7, count: 3 << 20))
            throw Injected()
        }) { XCTAssertTrue($0 is Injected, "\($0)") }
        XCTAssertEqual(try Data(contentsOf: url), Data("previous".utf8))
        XCTAssertEqual(scratch.contents(), ["weights.safetensors"], "a temporary file was left behind")
        // The same write, completed, replaces the file.
        try AtomicFile.write(to: url) { try $0.append(Array("next".utf8)) }
        XCTAssertEqual(try Data(contentsOf: url), Data("next".utf8))
        XCTAssertEqual(scratch.contents(), ["weights.safetensors"])
    }

    func testAFolderWriteFailingMidwayLeavesThePreviousFolder() throws {
        let scratch = ScratchDirectory("saekit-atomic")
        defer { scratch.remove() }
        let folder = scratch.file("step-5")
        try AtomicFolder.write(to: folder) { tmp in try Data("old state".utf8).write(to: tmp.appendingPathComponent("state.json")) }
        XCTAssertThrowsError(try AtomicFolder.write(to: folder) { tmp in
            try Data("new state".utf8).write(to: tmp.appendingPathComponent("state.json"))
            try Data(count: 1 << 20).write(to: tmp.appendingPathComponent("state.safetensors"))
            throw Injected()
        }) { XCTAssertTrue($0 is Injected, "\($0)") }
        XCTAssertEqual(scratch.contents(), ["step-5"], "a temporary folder was left behind")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["state.json"])
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("state.json")), Data("old state".utf8))
        // Completed, it replaces the folder as a whole.
        try AtomicFolder.write(to: folder) { tmp in try Data("new".utf8).write(to: tmp.appendingPathComponent("other.json")) }
        XCTAssertEqual(scratch.contents(), ["step-5"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["other.json"])
    }

    /// What a writer killed part-way leaves (its temporary folder; a folder set aside for
    /// replacement) is cleaned up before resuming, and the newest complete checkpoint is used.
    func testLeftoversOfAKilledCheckpointWriteAreCleanedUpAndSkipped() throws {
        let scratch = ScratchDirectory("saekit-atomic")
        defer { scratch.remove() }
        let c = smallConfig(.topk)
        let source = ArrayActivationSource(rows: activationRows(2000, 16, seed: 1), dIn: 16, cycle: true)
        let t = try SAETrainer(config: c, source: source)
        for _ in 0..<4 { try t.trainStep() }
        try t.saveCheckpoint(to: scratch.file("step-4"))
        for _ in 0..<2 { try t.trainStep() }
        try t.saveCheckpoint(to: scratch.file("step-6"))
        // Killed while replacing step-6: set aside, the new one not yet renamed in.
        try FileManager.default.moveItem(at: scratch.file("step-6"), to: scratch.file(".step-6.old-77-1"))
        // Killed while writing step-8: a half-written temporary folder.
        let partial = scratch.file(".step-8.tmp-77-2")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        try Data("{\"step\":".utf8).write(to: partial.appendingPathComponent("state.json"))
        let resumed = try CheckpointDirectory.resumeNewest(in: scratch.url, source: source, config: c, metadata: SAEMetadata())
        XCTAssertEqual(resumed.trainer.step, 6)
        XCTAssertEqual(resumed.checkpoint.lastPathComponent, "step-6")
        XCTAssertEqual(scratch.contents(), ["step-4", "step-6"])
    }

    /// A damaged newest checkpoint is passed over (and reported) for the previous one; with
    /// none that fits, the error gives each one's reason.
    func testResumeFallsBackPastADamagedCheckpointAndExplainsWhenNoneFits() throws {
        let scratch = ScratchDirectory("saekit-atomic")
        defer { scratch.remove() }
        let c = smallConfig(.topk)
        let source = ArrayActivationSource(rows: activationRows(2000, 16, seed: 1), dIn: 16, cycle: true)
        XCTAssertThrowsError(try CheckpointDirectory.resumeNewest(in: scratch.url, source: source, config: c, metadata: SAEMetadata())) {
            XCTAssertTrue("\($0)".contains("no checkpoint in \(scratch.url.path)"), "\($0)")
        }
        let t = try SAETrainer(config: c, source: source)
        for _ in 0..<3 { try t.trainStep() }
        try t.saveCheckpoint(to: scratch.file("step-3"))
        for _ in 0..<3 { try t.trainStep() }
        try t.saveCheckpoint(to: scratch.file("step-6"))
        let arrays = scratch.file("step-6/state.safetensors")
        try Data(try Data(contentsOf: arrays).prefix(100)).write(to: arrays)
        var skipped: [String] = []
        let resumed = try CheckpointDirectory.resumeNewest(in: scratch.url, source: source, config: c, metadata: SAEMetadata()) {
            skipped.append($0)
        }
        XCTAssertEqual(resumed.trainer.step, 3)
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue(skipped.first?.contains("step-6") ?? false, "\(skipped)")
        var other = c
        other.dSae = 32
        XCTAssertThrowsError(try CheckpointDirectory.resumeNewest(in: scratch.url, source: source, config: other, metadata: SAEMetadata())) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("none of the 2 checkpoints"), s)
            XCTAssertTrue(s.contains("step-6/state.json") && s.contains("step-3/state.json") && s.contains("dSae: 48 vs 32"), s)
        }
    }
}
