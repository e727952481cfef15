import Foundation

/// The checkpoints of a run: `step-<N>` folders in one directory (`checkpointDirectory`),
/// each written atomically by `SAETrainer.saveCheckpoint`.
package enum CheckpointDirectory {
    /// The folder name of the checkpoint taken after `step` steps.
    package static func name(step: Int) -> String { "step-\(step)" }

    /// The `step-<N>` folders in `directory`, newest (highest N) first; none when the
    /// directory is missing.
    package static func checkpoints(in directory: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (step: Int, url: URL)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)), step >= 0, name == Self.name(step: step) else { return nil }
            return (step, directory.appendingPathComponent(name))
        }.sorted { $0.step > $1.step }
    }

    /// A trainer resumed from a checkpoint, and which one.
    package struct Resumed<Source: ResumableActivationSource> {
        package var trainer: SAETrainer<Source>
        package var checkpoint: URL
        /// The log line of the checkpoint's step, when it was a log step.
        package var logLine: String?
    }

    /// Resumes from the newest checkpoint in `directory` written for `config` and `metadata`
    /// (see `SAETrainer.resume(from:source:config:metadata:)`). Newer checkpoints that are
    /// damaged or were written for another config are passed over, each reported to `onSkip`;
    /// leftovers of interrupted writes are cleaned up first. Throws when none fits, with
    /// the reason each was refused.
    package static func resumeNewest<Source: ResumableActivationSource>(
        in directory: URL, source: Source, config: TrainingConfig, metadata: SAEMetadata,
        onSkip: (String) -> Void = { _ in }
    ) throws -> Resumed<Source> {
        AtomicFolder.removeLeftovers(in: directory)
        let all = checkpoints(in: directory)
        guard !all.isEmpty else {
            throw TrainingError.checkpoint("no checkpoint in \(directory.path) to resume from (checkpoints are written every `checkpointTokens` tokens)")
        }
        var refusals: [String] = []
        for (_, url) in all {
            do {
                let trainer = try SAETrainer.resume(from: url, source: source, config: config, metadata: metadata)
                let logLine = try CheckpointReader(directory: url).state.logLine
                return Resumed(trainer: trainer, checkpoint: url, logLine: logLine)
            } catch {
                let reason = "\(error)"
                refusals.append(reason)
                onSkip("not resuming from \(url.lastPathComponent): \(reason)")
            }
        }
        let shown = refusals.prefix(3).joined(separator: "; ")
        throw TrainingError.checkpoint("none of the \(all.count) checkpoints in \(directory.path) can resume this run: \(shown)"
                                       + (refusals.count > 3 ? "; ..." : ""))
    }
}
