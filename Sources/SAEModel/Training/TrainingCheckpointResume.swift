import Foundation
import SAEKernels

extension SAETrainer where Source: ResumableActivationSource {
    /// A trainer that continues from the checkpoint at `directory` with the config it was
    /// written with, `source` moved back to where the checkpointed run's source stood.
    public static func resume(from directory: URL, source: Source) throws -> SAETrainer<Source> {
        try resume(from: directory, source: source, config: nil, metadata: nil)
    }

    /// A trainer that continues from the checkpoint at `directory`.
    ///
    /// - `config`: this run's config. The checkpoint must have been written for the same
    ///   one, but for `TrainingConfig.fieldsOutsideTheTrajectory` (this run's values are used);
    ///   otherwise the error names the file and each differing field. Nil: the checkpoint's.
    /// - `metadata`: this run's hook and context; a checkpoint of another hook, context size
    ///   or BOS rule is refused. The trainer takes this metadata (nil: the checkpoint's).
    ///
    /// Every array and value is checked (dtype, shape, finite, in range, consistent with the
    /// config) before any is used; the source is moved only once all are.
    public static func resume(from directory: URL, source: Source, config: TrainingConfig?,
                              metadata: SAEMetadata?) throws -> SAETrainer<Source> {
        let reader = try CheckpointReader(directory: directory)
        let s = reader.state
        var runConfig = s.config
        if let config {
            let differing = s.config.differences(from: config, ignoring: TrainingConfig.fieldsOutsideTheTrajectory)
            guard differing.isEmpty else {
                throw reader.stateError("written for another config (checkpoint vs this run): " + differing.joined(separator: "; "))
            }
            runConfig = config
        }
        if let metadata {
            var differing: [String] = []
            if s.hookName != metadata.hookName { differing.append("hook: \(s.hookName) vs \(metadata.hookName)") }
            if s.contextSize != metadata.contextSize { differing.append("context size: \(s.contextSize) vs \(metadata.contextSize)") }
            if s.prependBos != metadata.prependBos { differing.append("prepend BOS: \(s.prependBos) vs \(metadata.prependBos)") }
            guard differing.isEmpty else {
                throw reader.stateError("written for other activations (checkpoint vs this run): " + differing.joined(separator: "; "))
            }
        }
        let c = try reader.contents(config: runConfig, dIn: source.dIn)
        var source = source
        do { try source.restore(checkpointState: s.sourceState ?? [:]) } catch {
            throw reader.stateError("the activation source cannot resume from its recorded position: \(error)")
        }
        let meta = metadata ?? SAEMetadata(hookName: s.hookName, contextSize: s.contextSize, prependBos: s.prependBos)
        let t = try SAETrainer(config: runConfig, source: source, metadata: meta)
        var p = t.parameters
        p.wEncT = c.wEncT; p.wDec = c.wDec; p.bEnc = c.bEnc; p.bDec = c.bDec
        p.moments = c.moments
        t.parameters = p
        t.step = s.step
        t.tokensSeen = s.tokensSeen
        t.inputScale = s.inputScale
        t.threshold = s.threshold
        t.useDensePath = s.useDensePath
        t.initialized = s.initialized
        t.rng.state = s.rngState
        t.buffer.rows = c.bufferRows
        t.buffer.order = c.bufferOrder
        t.buffer.position = s.bufferPosition
        t.buffer.filled = s.bufferFilled
        t.buffer.rng.state = s.bufferRNGState
        t.buffer.sourceExhausted = s.bufferSourceExhausted
        t.frequencies.windowCounts = c.windowCounts
        t.frequencies.tokensSinceFired = c.tokensSinceFired
        t.frequencies.snapshotCounts = c.snapshotCounts
        t.frequencies.resampleCounts = c.resampleCounts
        t.frequencies.windowSeen = s.windowSeen
        t.frequencies.snapshotSeen = s.snapshotSeen
        t.frequencies.resampleSeen = s.resampleSeen
        t.frequencies.restoreLastWindow(s.lastWindow)
        t.snapshots = c.snapshots
        t.lastLogTokens = s.tokensSeen
        t.lastLogTime = DispatchTime.now().uptimeNanoseconds
        return t
    }
}
