import Foundation
import SAEKernels
import SAEModel

/// `sae analyze`: the feature analyses of the published SAE studies, as `analysis.json` and a
/// self-contained `report.html`.
enum AnalyzeCommand {
    static let command = Command(
        name: "analyze",
        summary: """
        Runs the feature analyses on a token budget (density and its clusters, loss when firing, decoder
        sparsity, kurtosis, encoder/decoder cosines, null space of W_out, top contexts, logit weights,
        neuron correlation, downstream effects, quality by position, density over training, pruning the
        high-frequency spike) and writes OUT/analysis.json and OUT/report.html.
        """,
        usage: "--sae DIR [--model DIR --tokens FILE] --out DIR [options]",
        options: [
            OptionSpec(name: "sae", value: "DIR", defaultValue: nil, help: "SAELens SAE folder; required"),
            OptionSpec(name: "model", value: "DIR", defaultValue: "the bundled tiny-gelu-1l", help: "model folder"),
            OptionSpec(name: "tokens", value: "FILE", defaultValue: "the bundled eval tokens", help: "token file"),
            OptionSpec.tokenDType,
            OptionSpec(name: "hook", value: "NAME", defaultValue: "the SAE's hook_name", help: "hook the SAE reads"),
            OptionSpec(name: "context", value: "N", defaultValue: "the SAE's context_size", help: "tokens per context"),
            OptionSpec(name: "contexts", value: "N", defaultValue: "64", help: "contexts in the token budget"),
            OptionSpec(name: "snapshots", value: "FILE", defaultValue: "feature_frequencies.safetensors beside the SAE folder", help: "frequency snapshots for density over training"),
            OptionSpec(name: "compare", value: "DIR", defaultValue: nil, help: "a second SAE on the same hook, for cross-run matching"),
            OptionSpec(name: "prompt", value: "TEXT", defaultValue: nil, help: "a text for the prompt view"),
            OptionSpec(name: "features", value: "N", defaultValue: "8", help: "feature cards in the report"),
            OptionSpec(name: "high-frequency", value: "D", defaultValue: "0.038", help: "density above which a feature is in the high-frequency spike"),
            OptionSpec(name: "ultra-low", value: "D", defaultValue: "1e-4", help: "density below which a feature is in the ultra-low cluster"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
            OptionSpec(name: "out", value: "DIR", defaultValue: nil, help: "output folder; required"),
        ],
        run: run)

    static func run(_ p: ParsedOptions) throws {
        let out = URL(fileURLWithPath: try p.required("out"))
        let s = try EvalCommand.setup(p)
        let saeDir = URL(fileURLWithPath: try p.required("sae"))
        var snapshots: FrequencySnapshots? = nil
        if let url = try p.existingPath("snapshots") {
            snapshots = try FrequencySnapshots.read(from: url)
        } else {
            let beside = saeDir.deletingLastPathComponent().appendingPathComponent("feature_frequencies.safetensors")
            if FileManager.default.fileExists(atPath: beside.path) { snapshots = try FrequencySnapshots.read(from: beside) }
        }
        var o = FeatureAnalysisOptions()
        o.contexts = try p.int("contexts", min: 1) ?? 64
        o.cardCount = try p.int("features", min: 0) ?? 8
        o.highFrequencyThreshold = try p.double("high-frequency", min: 0, exclusiveMin: true) ?? o.highFrequencyThreshold
        o.ultraLowThreshold = try p.double("ultra-low", min: 0, exclusiveMin: true) ?? o.ultraLowThreshold
        o.promptText = p.string("prompt")
        if let other = try p.existingPath("compare") { o.comparison = try SparseAutoencoder.load(from: other) }
        let tokenizer = try BPETokenizer.inModelFolder(s.modelDirectory)
        let progress = Progress()
        let url = try FeatureAnalysis.writeReport(sae: s.sae, model: s.model, tokenizer: tokenizer, contexts: s.contexts, hook: s.hook,
                                                  snapshots: snapshots, threads: s.threads, options: o, to: out,
                                                  progress: { progress.update("analysis: \($0)") }, onPhase: { progress.phase($0) })
        progress.endLine()
        try JSONOutput.print(["report": url.path, "analysis": out.appendingPathComponent("analysis.json").path])
    }
}
