import Foundation

extension FeatureAnalysis {
    /// The analysis step of a run, shared by `TrainingRun` and `sae analyze`: runs every
    /// analysis on `contexts` with `options` (its `hook` and `threads` replaced by these, its
    /// `trainingSnapshots` by `snapshots` when given), then writes `analysis.json` and
    /// `report.html` into `directory` (`ReportWriter`). Returns the report's URL.
    ///
    /// `onPhase` hears "analysing N contexts" once; `progress` each analysis step.
    @discardableResult
    public static func writeReport(
        sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, contexts: TokenContexts, hook: String,
        snapshots: FrequencySnapshots?, threads: Int, options: FeatureAnalysisOptions = FeatureAnalysisOptions(),
        to directory: URL, progress: ((String) -> Void)? = nil, onPhase: (String) -> Void = { _ in }
    ) throws -> URL {
        var o = options
        o.hook = hook
        o.threads = threads
        if let snapshots { o.trainingSnapshots = snapshots }
        onPhase("analysing \(min(o.contexts, contexts.count)) contexts")
        let result = try run(sae: sae, model: model, tokenizer: tokenizer, contexts: contexts, options: o, progress: progress)
        return try ReportWriter.write(result, to: directory)
    }
}
