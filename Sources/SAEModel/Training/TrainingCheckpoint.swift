import Foundation
import SAEKernels

/// Checkpoints: everything a trainer needs to continue exactly where it was (weights, Adam
/// moments, step, RNG states, the shuffled buffer's rows and order, the firing counters, the
/// frequency snapshots and the source's position). A resumed run follows the same trajectory
/// bit for bit as one that never stopped.
///
/// Layout: a folder with `state.safetensors` (the arrays) and `state.json` (the rest),
/// written under a temporary name and renamed into place.
struct CheckpointState: Codable {
    var formatVersion = 1
    var config: TrainingConfig
    var dIn: Int
    var step: Int
    var tokensSeen: Int
    var inputScale: Float
    var threshold: Float?
    var useDensePath: Bool
    var initialized: Bool
    var rngState: UInt64
    var bufferPosition: Int
    var bufferFilled: Int
    var bufferRNGState: UInt64
    var bufferSourceExhausted: Bool
    var windowSeen: Int
    var snapshotSeen: Int
    var resampleSeen: Int
    var lastWindow: FeatureFrequencies.WindowSummary?
    var snapshotTokens: [Int]
    var sourceState: [String: String]?
    var hookName: String
    var contextSize: Int
    var prependBos: Bool
}

extension SAETrainer {
    /// Writes a checkpoint folder at `directory` (replacing one that is there).
    public func saveCheckpoint(to directory: URL) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tmp = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        let dSae = parameters.dSae
        var w = SafetensorsWriter(metadata: ["format": "saekit-checkpoint"])
        let p = parameters, m = parameters.moments
        for (name, values) in [("wEncT", p.wEncT), ("wDec", p.wDec), ("mEncT", m.mEncT), ("vEncT", m.vEncT),
                               ("mDec", m.mDec), ("vDec", m.vDec)] {
            try w.add(name, shape: [dSae, dIn], floats: values)
        }
        for (name, values) in [("bEnc", p.bEnc), ("mBEnc", m.mBEnc), ("vBEnc", m.vBEnc)] { try w.add(name, shape: [dSae], floats: values) }
        for (name, values) in [("bDec", p.bDec), ("mBDec", m.mBDec), ("vBDec", m.vBDec)] { try w.add(name, shape: [dIn], floats: values) }
        try w.add("buffer.rows", shape: [buffer.capacity, dIn], floats: buffer.rows)
        try w.add("buffer.order", shape: [buffer.order.count], ints: buffer.order.map(Int.init), as: .i32)
        try w.add("freq.window", shape: [dSae], ints: frequencies.windowCounts)
        try w.add("freq.sinceFired", shape: [dSae], ints: frequencies.tokensSinceFired)
        try w.add("freq.snapshot", shape: [dSae], ints: frequencies.snapshotCounts)
        try w.add("freq.resample", shape: [dSae], ints: frequencies.resampleCounts)
        try w.add("snapshots", shape: [snapshots.count, dSae], floats: snapshots.flatMap(\.frequencies))
        try w.write(to: tmp.appendingPathComponent("state.safetensors"))
        let state = CheckpointState(
            config: config, dIn: dIn, step: step, tokensSeen: tokensSeen, inputScale: inputScale, threshold: threshold,
            useDensePath: useDensePath, initialized: initialized, rngState: rng.state, bufferPosition: buffer.position,
            bufferFilled: buffer.filled, bufferRNGState: buffer.rng.state, bufferSourceExhausted: buffer.sourceExhausted,
            windowSeen: frequencies.windowSeen, snapshotSeen: frequencies.snapshotSeen, resampleSeen: frequencies.resampleSeen,
            lastWindow: frequencies.lastWindow, snapshotTokens: snapshots.map(\.tokens),
            sourceState: (source as? any ResumableActivationSource)?.checkpointState(),
            hookName: metadata.hookName, contextSize: metadata.contextSize, prependBos: metadata.prependBos)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(state).write(to: tmp.appendingPathComponent("state.json"))
        if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
        try fm.moveItem(at: tmp, to: directory)
    }
}

extension SAETrainer where Source: ResumableActivationSource {
    /// A trainer that continues from the checkpoint at `directory`, with `source` moved back
    /// to where the checkpointed run's source stood.
    public static func resume(from directory: URL, source: Source) throws -> SAETrainer<Source> {
        func fail(_ s: String) -> TrainingError { .checkpoint("\(directory.path): \(s)") }
        let jsonURL = directory.appendingPathComponent("state.json")
        guard let data = try? Data(contentsOf: jsonURL) else { throw fail("no readable state.json") }
        let state: CheckpointState
        do { state = try JSONDecoder().decode(CheckpointState.self, from: data) } catch { throw fail("state.json is malformed: \(error)") }
        guard state.dIn == source.dIn else { throw fail("checkpoint d_in \(state.dIn) but the source gives \(source.dIn)") }
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("state.safetensors"))
        var source = source
        if let s = state.sourceState { try source.restore(checkpointState: s) }
        let meta = SAEMetadata(hookName: state.hookName, contextSize: state.contextSize, prependBos: state.prependBos)
        let t = try SAETrainer(config: state.config, source: source, metadata: meta)
        var p = t.parameters
        p.wEncT = try file.floats("wEncT"); p.wDec = try file.floats("wDec")
        p.bEnc = try file.floats("bEnc"); p.bDec = try file.floats("bDec")
        p.moments.mEncT = try file.floats("mEncT"); p.moments.vEncT = try file.floats("vEncT")
        p.moments.mDec = try file.floats("mDec"); p.moments.vDec = try file.floats("vDec")
        p.moments.mBEnc = try file.floats("mBEnc"); p.moments.vBEnc = try file.floats("vBEnc")
        p.moments.mBDec = try file.floats("mBDec"); p.moments.vBDec = try file.floats("vBDec")
        guard p.wEncT.count == p.dSae * p.dIn, p.wDec.count == p.dSae * p.dIn, p.bEnc.count == p.dSae, p.bDec.count == p.dIn else {
            throw fail("state.safetensors shapes do not match the config")
        }
        t.parameters = p
        t.step = state.step
        t.tokensSeen = state.tokensSeen
        t.inputScale = state.inputScale
        t.threshold = state.threshold
        t.useDensePath = state.useDensePath
        t.initialized = state.initialized
        t.rng.state = state.rngState
        t.buffer.rows = try file.floats("buffer.rows")
        t.buffer.order = try file.ints("buffer.order").map(Int32.init)
        t.buffer.position = state.bufferPosition
        t.buffer.filled = state.bufferFilled
        t.buffer.rng.state = state.bufferRNGState
        t.buffer.sourceExhausted = state.bufferSourceExhausted
        t.frequencies.windowCounts = try file.ints("freq.window")
        t.frequencies.tokensSinceFired = try file.ints("freq.sinceFired")
        t.frequencies.snapshotCounts = try file.ints("freq.snapshot")
        t.frequencies.resampleCounts = try file.ints("freq.resample")
        t.frequencies.windowSeen = state.windowSeen
        t.frequencies.snapshotSeen = state.snapshotSeen
        t.frequencies.resampleSeen = state.resampleSeen
        t.frequencies.restoreLastWindow(state.lastWindow)
        let snaps = try file.floats("snapshots")
        let dSae = p.dSae
        t.snapshots = state.snapshotTokens.enumerated().map { (i, tok) in (tok, Array(snaps[i * dSae ..< (i + 1) * dSae])) }
        t.lastLogTokens = state.tokensSeen
        return t
    }
}
