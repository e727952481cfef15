import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// A run stopped at a checkpoint and resumed from it ends bitwise where one that never stopped
/// does, for the parts of the state the standard and TopK test (`TrainerTests`) does not reach:
/// BatchTopK's threshold average, Anthropic resampling after the checkpoint, and a model source's
/// position in its token stream.
final class TrainerResumeTests: XCTestCase {
    func arraySource() -> ArrayActivationSource { ArrayActivationSource(rows: activationRows(2000, 16, seed: 1), dIn: 16, cycle: true) }

    /// Trains `steps` steps, saves a checkpoint, and returns the trainer resumed from it.
    func stopAndResume<S: ResumableActivationSource>(
        _ config: TrainingConfig, steps: Int, source: () throws -> S, prepare: (SAETrainer<S>) -> Void = { _ in },
        edit: ((URL) throws -> Void)? = nil
    ) throws -> (before: SAETrainer<S>, resumed: SAETrainer<S>) {
        let first = try SAETrainer(config: config, source: try source())
        prepare(first)
        for _ in 0..<steps { try first.trainStep() }
        let scratch = ScratchDirectory("saekit-resume")
        defer { scratch.remove() }
        let dir = scratch.file("step-\(steps)")
        try first.saveCheckpoint(to: dir)
        try edit?(dir)
        let resumed = try SAETrainer.resume(from: dir, source: try source(), config: config, metadata: nil)
        XCTAssertEqual(resumed.step, steps)
        return (first, resumed)
    }

    func testBatchTopKResumesItsThresholdAverage() throws {
        var c = smallConfig(.batchtopk)
        c.frequencySnapshotTokens = 96
        c.kAux = 4; c.deadTokens = 64
        let straight = try SAETrainer(config: c, source: arraySource())
        try straight.train()
        let (before, resumed) = try stopAndResume(c, steps: 7, source: arraySource)
        let atCheckpoint = try XCTUnwrap(before.threshold)
        XCTAssertEqual(resumed.threshold, atCheckpoint)
        try resumed.train()
        let final = try XCTUnwrap(straight.threshold)
        XCTAssertTrue(final.isFinite && final > 0, "threshold \(final)")
        XCTAssertNotEqual(final, atCheckpoint, "the threshold did not move after the checkpoint: the test cannot tell")
        XCTAssertEqual(resumed.threshold?.bitPattern, final.bitPattern, "threshold average diverged")
        XCTAssertEqual(resumed.parameters, straight.parameters, "resumed BatchTopK run diverged")
        XCTAssertEqual(resumed.autoencoder().threshold, straight.autoencoder().threshold)
        XCTAssertEqual(resumed.snapshots.frequencies, straight.snapshots.frequencies)
    }

    /// Resampling checks every 160 tokens (5 steps); latents 0-2 are dead from the start and
    /// latents 3-5 killed after step 10, so the checks at steps 5 (before the checkpoint at step 7)
    /// and 15 (after it) both resample, the second with the generator state the first left.
    func testAnthropicResamplingAfterTheCheckpointResumes() throws {
        var c = smallConfig(.standard)
        c.resampling = .anthropic(everyTokens: 160, sampleRows: 64)
        c.normalizeInput = true
        func kill(_ t: SAETrainer<ArrayActivationSource>, _ latents: Range<Int>) { for j in latents { t.parameters.bEnc[j] = -1e6 } }
        /// Trains to the end, killing latents 3-5 after step 10; returns the log records.
        func finish(_ t: SAETrainer<ArrayActivationSource>) throws -> [TrainingLogRecord] {
            var log: [TrainingLogRecord] = []
            while t.step < 10 { if let r = try t.trainStep() { log.append(r) } }
            kill(t, 3..<6)
            try t.train { log.append($0) }
            return log
        }
        let straight = try SAETrainer(config: c, source: arraySource())
        kill(straight, 0..<3)
        let straightLog = try finish(straight)
        let resamples = straightLog.filter { ($0.resampled ?? 0) > 0 }.map(\.step)
        XCTAssertTrue(resamples.contains(5) && resamples.contains(15), "resampled at steps \(resamples), not before and after step 7")
        let (_, resumed) = try stopAndResume(c, steps: 7, source: arraySource, prepare: { kill($0, 0..<3) })
        let resumedLog = try finish(resumed)
        XCTAssertEqual(resumed.parameters, straight.parameters, "resumed run with Anthropic resampling diverged")
        XCTAssertEqual(resumedLog.map(\.step), straightLog.filter { $0.step > 7 }.map(\.step))
        XCTAssertEqual(resumedLog.map(\.resampled), straightLog.filter { $0.step > 7 }.map(\.resampled))
        XCTAssertEqual(resumedLog.map(\.loss), straightLog.filter { $0.step > 7 }.map(\.loss))
    }

    func modelSetup() throws -> (model: Transformer, contexts: TokenContexts) {
        let model = try TransformerFixture.model()
        let dataset = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"), vocabSize: model.config.dVocab)
        return (model, try dataset.contexts(length: 16, bos: 0))
    }

    func testModelActivationSourceResumesItsPositionInTheTokenStream() throws {
        let (model, contexts) = try modelSetup()
        func source() throws -> ModelActivationSource {
            try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_pre", batchSize: 3, skipBOS: true,
                                      contextCount: contexts.count - 1, wrapAround: true, threads: 2)
        }
        var c = smallConfig(.topk, dSae: 64, tokens: 32 * 16)
        c.normalizeInput = true
        c.frequencySnapshotTokens = 128
        let straight = try SAETrainer(config: c, source: try source())
        try straight.train()
        let (before, resumed) = try stopAndResume(c, steps: 5, source: source)
        // The checkpoint stands mid-stream: rows after the first context, not at a context's start.
        let state = before.source.checkpointState()
        XCTAssertGreaterThan(Int(state["contextsRun"]!)!, 0, "\(state)")
        XCTAssertEqual(resumed.source.checkpointState(), state)
        try resumed.train()
        XCTAssertEqual(resumed.parameters, straight.parameters, "resumed run on model activations diverged")
        XCTAssertEqual(resumed.snapshots.frequencies, straight.snapshots.frequencies)

        // The position matters: resumed one context further on, the run ends elsewhere.
        let (_, shifted) = try stopAndResume(c, steps: 5, source: source) { dir in
            let url = dir.appendingPathComponent("state.json")
            var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            var s = try XCTUnwrap(object["sourceState"] as? [String: String])
            s["context"] = String((Int(s["context"]!)! + 1) % contexts.count)
            object["sourceState"] = s
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }
        try shifted.train()
        XCTAssertNotEqual(shifted.parameters, straight.parameters, "the source's position made no difference: the test cannot tell")
    }

    func testModelActivationSourceRefusesAnotherStream() throws {
        let (model, contexts) = try modelSetup()
        let a = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_pre", skipBOS: true)
        let state = a.checkpointState()
        let other = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_post", skipBOS: true)
        XCTAssertThrowsError(try other.restore(checkpointState: state)) { e in XCTAssertTrue("\(e)".contains("hook"), "\(e)") }
        let keepBOS = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_pre")
        XCTAssertThrowsError(try keepBOS.restore(checkpointState: state)) { e in XCTAssertTrue("\(e)".contains("skipBOS"), "\(e)") }
        let shorter = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"), vocabSize: model.config.dVocab)
            .contexts(length: 12, bos: 0)
        let short = try ModelActivationSource(model: model, contexts: shorter, hook: "blocks.0.hook_resid_pre", skipBOS: true)
        XCTAssertThrowsError(try short.restore(checkpointState: state)) { e in XCTAssertTrue("\(e)".contains("contextLength"), "\(e)") }
        try a.restore(checkpointState: state)  // its own state is accepted
    }
}
