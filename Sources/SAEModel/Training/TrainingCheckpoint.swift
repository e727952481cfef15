import Foundation
import SAEKernels

/// Checkpoints: everything a trainer needs to continue exactly where it was (weights, Adam
/// moments, step, RNG states, the shuffled buffer's rows and order, the firing counters, the
/// frequency snapshots and the source's position). A resumed run follows the same trajectory
/// bit for bit as one that never stopped.
///
/// Layout: a folder with `state.safetensors` (the arrays) and `state.json` (the rest),
/// written under a temporary name and renamed into place (`AtomicFolder`). Resuming
/// (`SAETrainer.resume`) checks every value against the config before using any of it.
///
/// Arrays in `state.safetensors` (F32 unless said):
/// - `wEncT`, `wDec`, `mEncT`, `vEncT`, `mDec`, `vDec`: `[d_sae, d_in]`;
/// - `bEnc`, `mBEnc`, `vBEnc`: `[d_sae]`; `bDec`, `mBDec`, `vBDec`: `[d_in]`;
/// - `buffer.rows`: `[batch * buffer_batches, d_in]`; `buffer.order` (I32): `[buffer_filled]`;
/// - `freq.window`, `freq.sinceFired`, `freq.snapshot`, `freq.resample` (I64): `[d_sae]`;
/// - `snapshots`: `[snapshot_count, d_sae]`.
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
    /// The log line of the checkpoint's step, when it is a log step: a run resumed after a
    /// kill that came between the checkpoint and the log's write still logs that step.
    var logLine: String?
}

extension SAETrainer {
    /// Writes a checkpoint folder at `directory` (replacing one that is there), atomically.
    public func saveCheckpoint(to directory: URL) throws { try saveCheckpoint(to: directory, logRecord: nil) }

    func saveCheckpoint(to directory: URL, logRecord: TrainingLogRecord?) throws {
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
        try w.add("snapshots", shape: [snapshots.count, dSae], floats: snapshots.frequencies.flatMap { $0 })
        let state = CheckpointState(
            config: config, dIn: dIn, step: step, tokensSeen: tokensSeen, inputScale: inputScale, threshold: threshold,
            useDensePath: useDensePath, initialized: initialized, rngState: rng.state, bufferPosition: buffer.position,
            bufferFilled: buffer.filled, bufferRNGState: buffer.rng.state, bufferSourceExhausted: buffer.sourceExhausted,
            windowSeen: frequencies.windowSeen, snapshotSeen: frequencies.snapshotSeen, resampleSeen: frequencies.resampleSeen,
            lastWindow: frequencies.lastWindow, snapshotTokens: snapshots.tokens,
            sourceState: (source as? any ResumableActivationSource)?.checkpointState(),
            hookName: metadata.hookName, contextSize: metadata.contextSize, prependBos: metadata.prependBos,
            logLine: logRecord?.jsonLine())
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try enc.encode(state)
        try AtomicFolder.write(to: directory) { tmp in
            try w.write(to: tmp.appendingPathComponent(CheckpointFiles.arrays))
            try AtomicFile.write(to: tmp.appendingPathComponent(CheckpointFiles.state)) { try $0.append(Array(json)) }
        }
    }
}

/// The file names inside a checkpoint folder.
enum CheckpointFiles {
    static let state = "state.json"
    static let arrays = "state.safetensors"
}
