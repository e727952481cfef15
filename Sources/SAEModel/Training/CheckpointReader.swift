import Foundation
import SAEKernels

/// A checkpoint folder opened for resuming, every value checked before it is used.
///
/// A checkpoint is input like any file: truncated, edited, or written for another run. Its
/// arrays index Adam's moments and the activation buffer through raw pointers, so each is
/// checked against the config it was written for (dtype, shape, finite values, ranges and the
/// invariants the trainer keeps) before a trainer is built; a problem throws
/// `TrainingError.checkpoint` naming the file and the array or field.
struct CheckpointReader {
    let directory: URL
    let state: CheckpointState
    let stateURL: URL
    let arraysURL: URL

    /// Decodes `state.json`; the arrays are opened by `contents(config:)`.
    init(directory: URL) throws {
        self.directory = directory
        stateURL = directory.appendingPathComponent(CheckpointFiles.state)
        arraysURL = directory.appendingPathComponent(CheckpointFiles.arrays)
        guard let data = try? Data(contentsOf: stateURL) else {
            throw TrainingError.checkpoint("\(stateURL.path): no readable \(CheckpointFiles.state)")
        }
        do { state = try JSONDecoder().decode(CheckpointState.self, from: data) } catch {
            throw TrainingError.checkpoint("\(stateURL.path): \(CheckpointFiles.state) is malformed: \(error)")
        }
    }

    func stateError(_ s: String) -> TrainingError { .checkpoint("\(stateURL.path): \(s)") }
    func arraysError(_ s: String) -> TrainingError { .checkpoint("\(arraysURL.path): \(s)") }

    /// Everything a trainer takes from a checkpoint, checked.
    struct Contents {
        var wEncT, bEnc, wDec, bDec: [Float]
        var moments: TrainingParameters.Moments
        var bufferRows: [Float]
        var bufferOrder: [Int32]
        var windowCounts, tokensSinceFired, snapshotCounts, resampleCounts: [Int]
        var snapshots: FrequencySnapshots
    }

    /// The checkpoint's values, checked against `config` (the checkpoint's own, or the run's
    /// when they agree on the trajectory) and a source of width `dIn`.
    func contents(config: TrainingConfig, dIn: Int) throws -> Contents {
        try checkScalars(config: config, dIn: dIn)
        let s = state
        let dSae = config.dSae
        // The buffer's capacity, as the trainer computes it (checked: the product may overflow).
        let (capacity, overflow) = config.batchSize.multipliedReportingOverflow(by: config.bufferBatches)
        guard !overflow else { throw stateError("batch size \(config.batchSize) x buffer batches \(config.bufferBatches) overflows") }
        guard s.bufferFilled >= 0 && s.bufferFilled <= capacity else {
            throw stateError("bufferFilled \(s.bufferFilled) outside 0...\(capacity) (the buffer's capacity)")
        }

        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: arraysURL) } catch { throw arraysError("\(error)") }
        // Shapes first: they bound every size by the file's, before anything is allocated.
        var expected: [(String, [Int], DType)] = []
        for n in ["wEncT", "wDec", "mEncT", "vEncT", "mDec", "vDec"] { expected.append((n, [dSae, dIn], .f32)) }
        for n in ["bEnc", "mBEnc", "vBEnc"] { expected.append((n, [dSae], .f32)) }
        for n in ["bDec", "mBDec", "vBDec"] { expected.append((n, [dIn], .f32)) }
        expected.append(("buffer.rows", [capacity, dIn], .f32))
        expected.append(("buffer.order", [s.bufferFilled], .i32))
        for n in ["freq.window", "freq.sinceFired", "freq.snapshot", "freq.resample"] { expected.append((n, [dSae], .i64)) }
        expected.append(("snapshots", [s.snapshotTokens.count, dSae], .f32))
        for (name, shape, dtype) in expected {
            guard file.contains(name) else { throw arraysError("no array '\(name)'") }
            let info = try file.info(name)
            guard info.dtype == dtype else { throw arraysError("'\(name)' is \(info.dtype.rawValue), expected \(dtype.rawValue)") }
            guard info.shape == shape else {
                throw arraysError("'\(name)' has shape \(info.shape), expected \(shape) for d_sae \(dSae), d_in \(dIn), "
                                  + "a buffer of \(capacity) rows (\(s.bufferFilled) filled) and \(s.snapshotTokens.count) snapshots")
            }
        }

        func floats(_ name: String, nonNegative: Bool = false, atMost limit: Float? = nil) throws -> [Float] {
            let v = try file.floats(name)
            if let i = v.firstIndex(where: { !$0.isFinite }) { throw arraysError("'\(name)' holds \(v[i]) at element \(i)") }
            if nonNegative, let i = v.firstIndex(where: { $0 < 0 }) {
                throw arraysError("'\(name)' holds the negative value \(v[i]) at element \(i)")
            }
            if let limit, let i = v.firstIndex(where: { $0 > limit }) {
                throw arraysError("'\(name)' holds \(v[i]) at element \(i), above \(limit)")
            }
            return v
        }
        func ints(_ name: String, in range: ClosedRange<Int>, _ what: String) throws -> [Int] {
            let v = try file.ints(name)
            if let i = v.firstIndex(where: { !range.contains($0) }) {
                throw arraysError("'\(name)' holds \(v[i]) at element \(i), outside \(range.lowerBound)...\(range.upperBound) (\(what))")
            }
            return v
        }

        var m = TrainingParameters.Moments(dIn: 0, dSae: 0)
        m.mEncT = try floats("mEncT"); m.vEncT = try floats("vEncT", nonNegative: true)
        m.mDec = try floats("mDec"); m.vDec = try floats("vDec", nonNegative: true)
        m.mBEnc = try floats("mBEnc"); m.vBEnc = try floats("vBEnc", nonNegative: true)
        m.mBDec = try floats("mBDec"); m.vBDec = try floats("vBDec", nonNegative: true)

        let rows = try floats("buffer.rows")
        let order = try ints("buffer.order", in: 0...(capacity - 1), "a slot of the buffer's \(capacity)")
        var seen = [Bool](repeating: false, count: capacity)
        for (i, slot) in order.enumerated() {
            guard !seen[slot] else { throw arraysError("'buffer.order' names slot \(slot) twice (again at element \(i))") }
            seen[slot] = true
        }
        let window = try ints("freq.window", in: 0...s.windowSeen, "the window's \(s.windowSeen) tokens")
        let sinceFired = try ints("freq.sinceFired", in: 0...s.tokensSeen, "the \(s.tokensSeen) tokens seen")
        let snapshotCounts = try ints("freq.snapshot", in: 0...s.snapshotSeen, "the \(s.snapshotSeen) tokens since the last snapshot")
        let resampleCounts = try ints("freq.resample", in: 0...s.resampleSeen, "the \(s.resampleSeen) tokens since the last resampling check")
        let flat = try floats("snapshots", nonNegative: true, atMost: 1)
        let snapshots = FrequencySnapshots(tokens: s.snapshotTokens,
                                           frequencies: s.snapshotTokens.indices.map { i in Array(flat[(i * dSae)..<((i + 1) * dSae)]) })
        return Contents(wEncT: try floats("wEncT"), bEnc: try floats("bEnc"), wDec: try floats("wDec"), bDec: try floats("bDec"),
                        moments: m, bufferRows: rows, bufferOrder: order.map { Int32($0) }, windowCounts: window,
                        tokensSinceFired: sinceFired, snapshotCounts: snapshotCounts, resampleCounts: resampleCounts,
                        snapshots: snapshots)
    }

    /// The values of `state.json` against the config and the trainer's invariants.
    func checkScalars(config: TrainingConfig, dIn: Int) throws {
        let s = state
        guard s.formatVersion == 1 else { throw stateError("format version \(s.formatVersion); this SAEKit reads version 1") }
        guard s.dIn == dIn else { throw stateError("written for d_in \(s.dIn), but the activation source gives \(dIn)") }
        do { try config.validate(dIn: dIn) } catch { throw stateError("its config is not valid: \(error)") }
        let totalSteps = config.trainTokens / config.batchSize
        guard s.step >= 0 && s.step <= totalSteps else { throw stateError("step \(s.step) outside 0...\(totalSteps) (the run's steps)") }
        guard s.tokensSeen == s.step * config.batchSize else {
            throw stateError("tokensSeen \(s.tokensSeen) is not step \(s.step) x batch \(config.batchSize)")
        }
        guard s.inputScale.isFinite && s.inputScale > 0 else { throw stateError("input scale \(s.inputScale) is not a positive number") }
        guard config.normalizeInput || s.inputScale == 1 else {
            throw stateError("input scale \(s.inputScale) for a run that does not normalise its inputs")
        }
        if let t = s.threshold {
            guard config.architecture == .batchtopk else { throw stateError("a threshold (\(t)) for a \(config.architecture.rawValue) SAE") }
            guard t.isFinite else { throw stateError("threshold \(t) is not finite") }
        }
        guard s.initialized || s.step == 0 else { throw stateError("step \(s.step) but not initialised") }
        guard s.bufferPosition >= 0 && s.bufferPosition <= s.bufferFilled else {
            throw stateError("bufferPosition \(s.bufferPosition) outside 0...\(s.bufferFilled) (the filled slots)")
        }
        let windowTokens = max(1, config.effectiveFrequencyWindowTokens)
        guard s.windowSeen >= 0 && s.windowSeen < windowTokens && s.windowSeen <= s.tokensSeen else {
            throw stateError("windowSeen \(s.windowSeen) outside 0..<\(min(windowTokens, s.tokensSeen + 1))")
        }
        for (name, v) in [("snapshotSeen", s.snapshotSeen), ("resampleSeen", s.resampleSeen)] where v < 0 || v > s.tokensSeen {
            throw stateError("\(name) \(v) outside 0...\(s.tokensSeen) (the tokens seen)")
        }
        if let w = s.lastWindow {
            guard w.tokens >= 0 && w.tokens <= s.tokensSeen else { throw stateError("lastWindow.tokens \(w.tokens) outside 0...\(s.tokensSeen)") }
            for (name, f) in [("dead", w.dead), ("below1e5", w.below1e5), ("below1e4", w.below1e4)] where !(f >= 0 && f <= 1) {
                throw stateError("lastWindow.\(name) \(f) is not a fraction")
            }
        }
        var previous = 0
        for (i, t) in s.snapshotTokens.enumerated() {
            guard t > previous && t <= s.tokensSeen else {
                throw stateError("snapshotTokens[\(i)] = \(t): snapshots must be at increasing token counts up to \(s.tokensSeen)")
            }
            previous = t
        }
        guard s.contextSize > 0 else { throw stateError("context size \(s.contextSize) is not positive") }
        guard s.sourceState != nil else { throw stateError("no activation-source position (the source it was written with cannot resume)") }
    }
}
