import Foundation

/// The report's sections about the whole SAE: summary, density, the ultra-low cluster and
/// loss when firing.
enum ReportSections {
    static func note(_ s: String) -> String { "<p class=\"note\">\(HTML.escape(s))</p>" }

    static func table(_ header: [String], _ rows: [[String]], leftColumns: Int = 1) -> String {
        var t = "<table><tr>" + header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>"
        for row in rows {
            t += "<tr>" + row.enumerated().map { i, c in i < leftColumns ? "<td class=\"l\">\(HTML.escape(c))</td>" : "<td>\(HTML.escape(c))</td>" }.joined() + "</tr>"
        }
        return t + "</table>"
    }

    static func summary(_ r: AnalysisResult) -> String {
        let q = r.summary.quality, s = r.summary
        let rows: [[String]] = [
            ["L0 (mean active features per token)", HTML.number(q.l0)],
            ["MSE", HTML.number(q.mse)],
            ["Explained variance", HTML.number(q.explainedVariance)],
            ["Loss recovered (zero ablation)", HTML.number(q.lossRecovered)],
            ["Clean / spliced / zero-ablated loss",
             "\(HTML.number(q.cleanLoss)) / \(HTML.number(q.splicedLoss)) / \(HTML.number(q.zeroAblationLoss))"],
            ["Dead features (never fired)", "\(s.dead) (\(HTML.percent(100 * Double(s.dead) / Double(max(1, r.subject.dSae)))))"],
            ["Ultra-low density (< \(HTML.number(s.ultraLowThreshold, digits: 2)))", "\(s.ultraLow)"],
            ["High frequency (> \(HTML.number(s.highFrequencyThreshold, digits: 3)))", "\(s.highFrequency)"],
            ["Tokens counted / predicted", "\(q.tokens) / \(q.predictedTokens)"],
        ]
        return ReportWriter.section("summary", table(["measure", "value"], rows)
            + note("L0, MSE and explained variance over the counted tokens; losses over the predictions made at counted positions (the SAE is not spliced at a left-out position), loss recovered = (L_zero − L_spliced) / (L_zero − L_clean). The same rule and figures as sae eval."))
    }

    static func density(_ r: AnalysisResult) -> String {
        let d = r.density
        let plot = HistogramPlot(
            title: "Feature density (log10)", xLabel: "fraction of tokens on which the feature fires",
            histogram: d.histogram.histogram, extraBar: ("never", d.histogram.neverFired),
            markers: [.init(x: log10(d.ultraLowThreshold), label: "ultra-low", color: PlotColors.tertiary),
                      .init(x: log10(d.highFrequencyThreshold), label: "high freq.", color: PlotColors.accent)],
            logAxis: true, width: 620)
        return ReportWriter.section("density", "<div class=\"plots\">\(plot.render())</div>"
            + note("density_j = #{tokens where f_j ≠ 0} / \(d.tokens) tokens. Dead: \(d.dead); ultra-low (0 < density < \(HTML.number(d.ultraLowThreshold, digits: 2))): \(d.ultraLow); high frequency (> \(HTML.number(d.highFrequencyThreshold, digits: 3))): \(d.highFrequency)."))
    }

    static func ultraLowCluster(_ r: AnalysisResult) -> String {
        let c = r.ultraLowCluster
        guard !c.features.isEmpty else {
            return ReportWriter.section("ultra-low-cluster", note("No feature has 0 < density < \(HTML.number(r.density.ultraLowThreshold, digits: 2)) over this budget."))
        }
        var rows = [["features in the cluster", "\(c.features.count)"],
                    ["encoder columns with cosine > \(c.cosineThreshold) to the mean direction", HTML.percent(100 * c.encoderFractionAbove)],
                    ["decoder rows with cosine > \(c.cosineThreshold) to the mean direction", HTML.percent(100 * c.decoderFractionAbove)],
                    ["median encoder cosine", HTML.number(Quantiles.median(c.encoderCosines))],
                    ["median decoder cosine", HTML.number(Quantiles.median(c.decoderCosines))]]
        if let f = c.largestCoFiringFraction {
            rows.append(["largest fraction of the cluster firing on one token", HTML.percent(100 * f)])
        }
        var body = table(["measure", "value"], rows)
        if c.features.count > 1 {
            let plot = HistogramPlot(title: "Cluster: cosine with the mean direction", xLabel: "cosine", yLabel: "features",
                                     histogram: Histogram(c.encoderCosines.map { min(1, max(-1, $0)) }, lower: -1, upper: 1, bins: 40),
                                     seriesLabel: "encoder", overlay: Histogram(c.decoderCosines.map { min(1, max(-1, $0)) }, lower: -1, upper: 1, bins: 40),
                                     overlayLabel: "decoder")
            body += "<div class=\"plots\">\(plot.render())</div>"
        }
        return ReportWriter.section("ultra-low-cluster", body)
    }

    static func lossWhenFiring(_ r: AnalysisResult) -> String {
        let l = r.lossWhenFiring, d = r.density.densities
        var groups: [ScatterPlot.Group] = [.init(label: "features", color: PlotColors.primary, points: [])]
        for j in d.indices where d[j] > 0 && l.meanLoss[j].isFinite { groups[0].points.append((log10(d[j]), l.meanLoss[j])) }
        let means = l.buckets.filter { $0.features > 0 }.map { (x: ($0.lowerLog10Density + $0.upperLog10Density) / 2, y: $0.meanLoss) }
        let plot = ScatterPlot(
            title: "Mean loss when the feature fires", xLabel: "density (log10)", yLabel: "mean next-token loss (nats)",
            groups: groups, lines: [.init(label: "bucket mean", color: PlotColors.secondary, points: means)],
            horizontal: [.init(value: l.overallMeanLoss, label: "overall mean \(HTML.number(l.overallMeanLoss, digits: 3))")],
            vertical: [.init(value: log10(l.ultraLowThreshold), label: "ultra-low", color: PlotColors.tertiary)],
            logX: true, width: 620)
        var body = "<div class=\"plots\">\(plot.render())</div>"
        body += note("For each feature, the model's mean next-token loss over the tokens where it fires; buckets of log10 density. Candidates: ultra-low features whose mean loss is below \(l.lowLossRatio) × the overall mean.")
        if l.candidates.isEmpty {
            body += note("No candidates.")
        } else {
            body += table(["feature", "density", "mean loss when firing"],
                          l.candidates.prefix(30).map { ["\($0.feature)", HTML.number($0.density, digits: 3), HTML.number($0.meanLoss)] })
            if l.candidates.count > 30 { body += note("… and \(l.candidates.count - 30) more in analysis.json.") }
        }
        return ReportWriter.section("loss-when-firing", body)
    }
}
