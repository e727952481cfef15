import Foundation

/// Writes an `AnalysisResult` as a report a researcher can open in any browser.
///
/// `report.html` is self-contained: inline CSS and inline SVG plots, no script and no
/// reference to any other file or address. `analysis.json` holds every result (see
/// `AnalysisJSON`: NaN-safe, sorted keys). Both are written atomically (temporary file in
/// the directory, then rename).
public enum ReportWriter {
    public static let htmlFileName = "report.html"
    public static let jsonFileName = "analysis.json"

    /// The ids of the report's sections, in order (conditional ones only when present).
    public static func sectionIDs(_ r: AnalysisResult) -> [String] {
        var ids = ["summary", "density", "ultra-low-cluster", "loss-when-firing", "decoder-sparsity", "kurtosis",
                   "encoder-decoder-cosine"]
        if r.nullSpace != nil { ids.append("null-space") }
        if r.crossRun != nil { ids.append("cross-run") }
        ids.append("positions")
        if r.densityOverTraining != nil { ids.append("density-over-training") }
        if r.pruning != nil { ids.append("pruning") }
        if r.promptView != nil { ids.append("prompt-view") }
        ids.append("features")
        return ids
    }

    /// Writes `report.html` and `analysis.json` into `directory` (created if needed) and
    /// returns the report's URL.
    @discardableResult
    public static func write(_ result: AnalysisResult, to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AnalysisJSON.write(result, to: directory.appendingPathComponent(jsonFileName))
        let url = directory.appendingPathComponent(htmlFileName)
        let bytes = Array(html(result).utf8)
        try AtomicFile.write(to: url) { out in try out.append(bytes) }
        return url
    }

    /// The report's HTML.
    public static func html(_ r: AnalysisResult) -> String {
        let s = r.subject
        var parts: [String] = []
        parts.append("<!DOCTYPE html>")
        parts.append("<html lang=\"en\"><head><meta charset=\"utf-8\"/>")
        parts.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
        parts.append("<title>\(HTML.escape("SAE analysis: \(s.hook), \(s.architecture) \(s.dSae)"))</title>")
        parts.append("<style>\(ReportStyle.css)</style></head><body>")
        parts.append("<header><h1>\(HTML.escape("SAE feature analysis — \(s.hook)"))</h1>")
        var info = "\(s.architecture) SAE, d_in \(s.dIn), d_sae \(s.dSae)"
        if let k = s.k { info += ", k \(k)" }
        if let m = s.modelName { info += ", model \(m)" }
        info += " · \(s.contexts) contexts of \(s.contextLength) tokens, \(s.tokens) tokens counted"
        if s.excludedFirstPosition { info += " (position 0, BOS, left out and not spliced: training skipped it)" }
        parts.append("<p>\(HTML.escape(info))</p></header>")
        parts.append("<nav>" + sectionIDs(r).map { "<a href=\"#\($0)\">\(HTML.escape(title(of: $0)))</a>" }.joined() + "</nav>")
        parts.append("<main>")
        parts.append(ReportSections.summary(r))
        parts.append(ReportSections.density(r))
        parts.append(ReportSections.ultraLowCluster(r))
        parts.append(ReportSections.lossWhenFiring(r))
        parts.append(ReportSections.decoderSparsity(r))
        parts.append(ReportSections.kurtosis(r))
        parts.append(ReportSections.encoderDecoderCosine(r))
        if let n = r.nullSpace { parts.append(ReportSections.nullSpace(n)) }
        if let c = r.crossRun { parts.append(ReportSections.crossRun(c)) }
        parts.append(ReportSections.positions(r.positions))
        if let t = r.densityOverTraining { parts.append(ReportSections.densityOverTraining(t)) }
        if let p = r.pruning { parts.append(ReportSections.pruning(p)) }
        if let p = r.promptView { parts.append(ReportSections.promptView(p)) }
        parts.append(ReportFeatureCards.section(r))
        if !r.skipped.isEmpty {
            parts.append("<p class=\"note\">Not measured: " + r.skipped.sorted { $0.key < $1.key }
                .map { "\(HTML.escape($0.key)) (\(HTML.escape($0.value)))" }.joined(separator: "; ") + "</p>")
        }
        parts.append("</main></body></html>")
        return parts.joined(separator: "\n")
    }

    static func title(of id: String) -> String {
        switch id {
        case "summary": return "Summary"
        case "density": return "Density"
        case "ultra-low-cluster": return "Ultra-low cluster"
        case "loss-when-firing": return "Loss when firing"
        case "decoder-sparsity": return "Decoder sparsity"
        case "kurtosis": return "Kurtosis"
        case "encoder-decoder-cosine": return "Encoder–decoder cosine"
        case "null-space": return "W_out null space"
        case "cross-run": return "Cross-run matching"
        case "positions": return "By position"
        case "density-over-training": return "Density over training"
        case "pruning": return "Pruning"
        case "prompt-view": return "Prompt"
        case "features": return "Features"
        default: return id
        }
    }

    /// `<section id=...><h2>...</h2>` + body + `</section>`.
    static func section(_ id: String, _ body: String) -> String {
        "<section id=\"\(id)\"><h2>\(HTML.escape(title(of: id)))</h2>\(body)</section>"
    }
}
