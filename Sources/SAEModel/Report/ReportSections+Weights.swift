import Foundation

/// The report's sections about the SAE's weights.
extension ReportSections {
    static func decoderSparsity(_ r: AnalysisResult) -> String {
        let s = r.decoderSparsity
        var one: [(x: Double, y: Double)] = [], dense: [(x: Double, y: Double)] = [], rest: [(x: Double, y: Double)] = []
        for j in s.fveTop1.indices {
            let p = (x: s.fveTop1[j], y: s.fveNext9[j])
            switch s.groups[j] { case .oneSparse: one.append(p); case .dense: dense.append(p); case .rest: rest.append(p) }
        }
        let plot = ScatterPlot(
            title: "Decoder rows in the neuron basis", xLabel: "fve_top_1 (largest squared entry / squared norm)",
            yLabel: "fve_next_9", groups: [.init(label: "1-sparse", color: PlotColors.accent, points: one),
                                            .init(label: "dense", color: PlotColors.primary, points: dense),
                                            .init(label: "rest", color: PlotColors.muted, points: rest)],
            vertical: [.init(value: DecoderSparsity.oneSparseTop1, label: "0.35")],
            xRange: (0, 1), yRange: (0, 1), width: 560, height: 360)
        return ReportWriter.section("decoder-sparsity", "<div class=\"plots\">\(plot.render())</div>"
            + table(["group", "rule", "features"], [
                ["1-sparse", "fve_top_1 > 0.35 and fve_next_9 < 0.1", HTML.percent(s.oneSparsePercent)],
                ["dense", "fve_top_1 + fve_next_9 < 0.35", HTML.percent(s.densePercent)],
                ["rest", "otherwise", HTML.percent(s.restPercent)]], leftColumns: 2))
    }

    static func kurtosis(_ r: AnalysisResult) -> String {
        let k = r.kurtosis
        let plot = HistogramPlot(title: "Excess kurtosis of decoder rows", xLabel: "excess kurtosis", histogram: k.histogram,
                                 seriesLabel: "SAE decoder rows", overlay: k.baselineHistogram,
                                 overlayLabel: "Gaussian rows (seed \(k.seed))",
                                 markers: [.init(x: k.median, label: "median \(HTML.number(k.median, digits: 3))")], width: 620)
        let above = k.histogram.above
        return ReportWriter.section("kurtosis", "<div class=\"plots\">\(plot.render())</div>"
            + note("kurtosis = m4 / m2² − 3 over each row's entries (0 for Gaussian rows; large for basis-aligned rows). Median \(HTML.number(k.median, digits: 3)) vs \(HTML.number(k.baselineMedian, digits: 3)) for \(k.baseline.count) Gaussian rows. \(above) rows lie beyond the plotted range."))
    }

    static func encoderDecoderCosine(_ r: AnalysisResult) -> String {
        let c = r.encoderDecoderCosine
        let plot = HistogramPlot(title: "Cosine(encoder column, decoder row)", xLabel: "cosine", histogram: c.histogram,
                                 markers: [.init(x: c.median, label: "median \(HTML.number(c.median, digits: 3))")], width: 620)
        return ReportWriter.section("encoder-decoder-cosine", "<div class=\"plots\">\(plot.render())</div>"
            + note("cos_j = W_enc[:, j] · W_dec[j] / (‖W_enc[:, j]‖ ‖W_dec[j]‖); median \(HTML.number(c.median, digits: 4))."))
    }

    static func nullSpace(_ n: NullSpaceResult) -> String {
        let plot = HistogramPlot(title: "Decoder norm in the null space of W_out", xLabel: "fraction of ‖d_j‖² with d W_out = 0",
                                 histogram: n.histogram, markers: [.init(x: n.median, label: "median \(HTML.number(n.median, digits: 3))")],
                                 width: 620)
        return ReportWriter.section("null-space", "<div class=\"plots\">\(plot.render())</div>"
            + note("W_out of \(n.hook) has rank \(n.rank) in \(n.dimension) dimensions, so a random direction has \(HTML.number(1 - Double(n.rank) / Double(max(1, n.dimension)), digits: 3)) of its norm in the null space. Mean \(HTML.number(n.mean, digits: 3)), median \(HTML.number(n.median, digits: 3))."))
    }

    static func crossRun(_ c: CrossRunMatchingResult) -> String {
        let dec = HistogramPlot(title: "Decoder: best cosine in the other SAE", xLabel: "max cosine",
                                histogram: c.decoder.histogramInB, seriesLabel: "this → other",
                                overlay: c.decoder.histogramInA, overlayLabel: "other → this")
        let enc = HistogramPlot(title: "Encoder: best cosine in the other SAE", xLabel: "max cosine",
                                histogram: c.encoder.histogramInB, seriesLabel: "this → other",
                                overlay: c.encoder.histogramInA, overlayLabel: "other → this")
        return ReportWriter.section("cross-run", "<div class=\"plots\">\(dec.render())\(enc.render())</div>"
            + table(["", "median this → other", "median other → this"], [
                ["decoder rows", HTML.number(c.decoder.medianInB), HTML.number(c.decoder.medianInA)],
                ["encoder columns", HTML.number(c.encoder.medianInB), HTML.number(c.encoder.medianInA)]]))
    }
}
