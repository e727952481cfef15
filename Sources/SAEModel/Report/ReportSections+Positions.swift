import Foundation

/// The report's sections over positions and training, pruning and the prompt view.
extension ReportSections {
    static func positions(_ p: PositionQualityResult) -> String {
        let markers = p.beyondTrainingContextFrom.map { [(x: Double($0), label: "SAE context ends")] } ?? []
        let xs = (0..<p.contextLength).map(Double.init)
        let mse = LinePlot(title: "MSE by position", xLabel: "token position", yLabel: "MSE",
                           series: [.init(label: "MSE", color: PlotColors.primary, points: Array(zip(xs, p.mse)).map { (x: $0.0, y: $0.1) })],
                           markers: markers)
        let evValues = p.explainedVariance.map { $0.isFinite ? $0 : Double.nan }
        let ev = LinePlot(title: "Explained variance by position", xLabel: "token position", yLabel: "explained variance",
                          series: [.init(label: "EV", color: PlotColors.tertiary, points: Array(zip(xs, evValues)).map { (x: $0.0, y: $0.1) })],
                          markers: markers, yRange: clampedRange(evValues, lower: -1, upper: 1))
        let lxs = (0..<p.lossRecovered.count).map(Double.init)
        let lr = LinePlot(title: "Loss recovered by position", xLabel: "position of the prediction", yLabel: "loss recovered",
                          series: [.init(label: "loss recovered", color: PlotColors.secondary,
                                         points: Array(zip(lxs, p.lossRecovered)).map { (x: $0.0, y: $0.1) })],
                          markers: markers, yRange: clampedRange(p.lossRecovered, lower: -1, upper: 1.2))
        var text = "\(p.contexts) contexts of \(p.contextLength) tokens; the SAE was trained on contexts of \(p.saeContextSize)."
        if let b = p.beyondTrainingContextFrom { text += " Positions from \(b) on are beyond its training context." }
        return ReportWriter.section("positions", "<div class=\"plots\">\(mse.render())\(ev.render())\(lr.render())</div>" + note(text))
    }

    /// The finite values' range clipped to `[lower, upper]`.
    static func clampedRange(_ values: [Double], lower: Double, upper: Double) -> (Double, Double) {
        let f = values.filter(\.isFinite)
        guard let lo = f.min(), let hi = f.max() else { return (0, 1) }
        let a = max(lower, lo), b = min(upper, hi)
        let pad = b > a ? (b - a) * 0.06 : 0.05
        return (a - pad, b + pad)
    }

    static func densityOverTraining(_ t: DensityOverTrainingResult) -> String {
        let edges = t.binLowerEdges + [(t.binLowerEdges.last ?? -t.binWidth) + t.binWidth]
        let plot = HeatMapPlot(title: "Feature density over training", xLabel: "density (log10)", yLabel: "tokens trained",
                               counts: t.counts, columnEdges: edges, rowLabels: t.tokens.map(Self.tokenCount), logX: true,
                               width: 680, height: max(260, min(560, 80 + 14 * Double(t.tokens.count))))
        let rows = t.tokens.indices.map { i in
            [Self.tokenCount(t.tokens[i]), "\(t.neverFired[i])", "\(t.ultraLow[i])", "\(t.highFrequency[i])"]
        }
        return ReportWriter.section("density-over-training", "<div class=\"plots\">\(plot.render())</div>"
            + note("One row per frequency snapshot of the trainer: how many features fall in each log10-density bin over that period (features that never fired in the period are not drawn).")
            + table(["tokens", "never fired", "ultra-low", "high frequency"], rows))
    }

    static func tokenCount(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%.3gM", Double(n) / 1e6) }
        if n >= 1000 { return String(format: "%.3gk", Double(n) / 1e3) }
        return String(n)
    }

    static func pruning(_ p: PruningResult) -> String {
        let rows: [[String]] = [
            ["L0", HTML.number(p.baseline.l0), HTML.number(p.pruned.l0)],
            ["MSE", HTML.number(p.baseline.mse), HTML.number(p.pruned.mse)],
            ["explained variance", HTML.number(p.baseline.explainedVariance), HTML.number(p.pruned.explainedVariance)],
            ["loss recovered", HTML.number(p.baseline.lossRecovered), HTML.number(p.pruned.lossRecovered)],
            ["spliced loss", HTML.number(p.baseline.splicedLoss), HTML.number(p.pruned.splicedLoss)],
        ]
        let removed = p.removed.isEmpty ? "No feature has density above \(HTML.number(p.threshold, digits: 3)): nothing to prune."
            : "Removed \(p.removed.count) features with density above \(HTML.number(p.threshold, digits: 3)): " +
              p.removed.prefix(40).map(String.init).joined(separator: ", ") + (p.removed.count > 40 ? ", …" : "") + "."
        return ReportWriter.section("pruning", note(removed) + table(["measure", "all features", "pruned"], rows))
    }

    static func promptView(_ p: PromptViewResult) -> String {
        var body = "<div class=\"prompt\">"
        let maxAct = p.tokens.flatMap { $0.features.map { Double($0.activation) } }.max() ?? 1
        for t in p.tokens {
            let top = t.features.first
            let alpha = top.map { min(1, Double($0.activation) / max(1e-9, maxAct)) * 0.8 } ?? 0
            let title = t.features.map { "#\($0.feature): \(HTML.number($0.activation, digits: 3))" }.joined(separator: "\n")
            body += "<span class=\"tok\" style=\"background: rgba(255,159,28,\(String(format: "%.2f", alpha)))\" title=\"\(HTML.escape(title))\">"
                + HTML.token(t.text)
                + "<span class=\"feats\">\(HTML.escape(top.map { "#\($0.feature) \(HTML.number($0.activation, digits: 2))" } ?? "–")) (\(t.active))</span></span>"
        }
        body += "</div>"
        return ReportWriter.section("prompt-view", note("Each token with its strongest feature and the number of active features; hover for the full list.") + body)
    }
}
