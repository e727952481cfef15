import Foundation

extension TrainingRun {
    /// Where the run's checkpoints go: the config's `checkpointDirectory`, else
    /// `<outputDirectory>/checkpoints`.
    public var checkpointDirectory: URL {
        config.checkpointDirectory.map { URL(fileURLWithPath: $0) } ?? outputDirectory.appendingPathComponent("checkpoints")
    }

    /// The trainer and log a run starts with: fresh, or with `resume` the newest checkpoint
    /// written for this config and its log up to that checkpoint's step (later lines, logged
    /// after the checkpoint by the interrupted run, are dropped: the resumed run logs them again).
    func startTraining(
        config: TrainingConfig, source: ModelActivationSource, metadata: SAEMetadata, logURL: URL, onPhase: (String) -> Void
    ) throws -> (SAETrainer<ModelActivationSource>, TrainingLogWriter) {
        let checkpoints = checkpointDirectory
        guard resume else {
            if let newest = CheckpointDirectory.checkpoints(in: checkpoints).first {
                onPhase("note: \(checkpoints.path) holds checkpoints of an earlier run (newest \(newest.url.lastPathComponent)); "
                        + "this run starts from scratch (resume to continue from them)")
            }
            return (try SAETrainer(config: config, source: source, metadata: metadata), try TrainingLogWriter(url: logURL))
        }
        let resumed = try CheckpointDirectory.resumeNewest(in: checkpoints, source: source, config: config, metadata: metadata,
                                                           onSkip: onPhase)
        let step = resumed.trainer.step
        onPhase("resuming from \(resumed.checkpoint.path) (step \(step), \(resumed.trainer.tokensSeen) tokens)")
        var lines = Self.previousLogLines(logURL, throughStep: step)
        if let line = resumed.logLine, Self.stepOf(line) == step, lines.last.flatMap(Self.stepOf) != step { lines.append(line) }
        return (resumed.trainer, try TrainingLogWriter(url: logURL, startingWith: lines))
    }

    /// The lines of the interrupted run's log (its partial file, else the finished one) with
    /// a step of at most `step`, in order; a line cut short by the kill is dropped.
    static func previousLogLines(_ logURL: URL, throughStep step: Int) -> [String] {
        let partial = logURL.appendingPathExtension("partial")
        let url = FileManager.default.fileExists(atPath: partial.path) ? partial : logURL
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var kept: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
            guard let s = stepOf(line) else { continue }
            if s > step { break }
            kept.append(line)
        }
        return kept
    }

    /// The `step` of a JSON log line; nil when the line is not a complete JSON object.
    static func stepOf(_ line: String) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["step"] as? Int
    }
}
