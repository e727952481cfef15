import Foundation

/// The report's feature cards: per chosen feature, its numbers, top-activating contexts
/// (firing token marked, other tokens shaded by the feature's activation), examples from
/// lower quantiles, the activation histogram, logit weights and downstream effect.
enum ReportFeatureCards {
    static func section(_ r: AnalysisResult) -> String {
        guard !r.features.isEmpty else {
            return ReportWriter.section("features", ReportSections.note("No feature fired over this budget: no cards."))
        }
        let cards = r.features.map(card).joined()
        return ReportWriter.section("features", ReportSections.note(
            "Features chosen across the density range. In each context the firing token is marked; other tokens are shaded by the feature's activation on them (relative to its maximum in the budget).")
            + "<div class=\"cards\">\(cards)</div>")
    }

    static func card(_ c: FeatureCard) -> String {
        var h = "<div class=\"card\" id=\"feature-\(c.feature)\"><h3>Feature \(c.feature)</h3>"
        var stats = "density \(HTML.number(c.density, digits: 3)) · mean activation \(HTML.number(c.meanActivation, digits: 3)) · max \(HTML.number(c.maxActivation, digits: 3)) · loss when firing \(HTML.number(c.meanLossWhenFiring, digits: 3))"
        stats += " · fve_top_1 \(HTML.number(c.fveTop1, digits: 2)) · kurtosis \(HTML.number(c.decoderKurtosis, digits: 3)) · cos(enc, dec) \(HTML.number(c.encoderDecoderCosine, digits: 3))"
        if let n = c.bestNeuron, let r = c.neuronCorrelation { stats += " · neuron \(n) (r = \(HTML.number(r, digits: 3)))" }
        h += "<div class=\"stats\">\(HTML.escape(stats))</div>"
        let scale = max(1e-9, Double(c.maxActivation))
        h += "<h4>Top activations</h4>"
        h += c.contexts.top.isEmpty ? "<div class=\"muted\">never fired</div>" : c.contexts.top.map { context($0, scale: scale) }.joined()
        for band in c.contexts.quantiles.reversed() where !band.examples.isEmpty {
            h += "<div class=\"band\">\(HTML.escape("quantiles \(Int(band.lowerQuantile * 100))–\(Int(band.upperQuantile * 100))% of firings, activations \(HTML.number(band.minActivation, digits: 3))–\(HTML.number(band.maxActivation, digits: 3))"))</div>"
            h += band.examples.map { context($0, scale: scale) }.joined()
        }
        let hist = HistogramPlot(title: "Activations of feature \(c.feature)", xLabel: "activation", yLabel: "tokens",
                                 histogram: c.activationHistogram, width: 300, height: 190, trimEmpty: true)
        h += "<div class=\"plots\">\(c.activationHistogram.inRange > 0 ? hist.render() : "")"
        if let l = c.logitWeights {
            h += "<div class=\"logits\">" + tokenTable("raises logits of", l.top, cls: "pos") + tokenTable("lowers logits of", l.bottom, cls: "neg") + "</div>"
        }
        h += "</div>"
        if let d = c.downstream, !d.examples.isEmpty {
            h += "<h4>\(HTML.escape("Removing the feature on its top \(d.examples.count) contexts: mean Δ log p(next token) = \(HTML.number(d.meanNextTokenDelta, digits: 3))"))</h4>"
            h += "<div class=\"logits\">" + tokenTable("less likely without it", d.mostDecreased, cls: "neg")
                + tokenTable("more likely without it", d.mostIncreased, cls: "pos") + "</div>"
        }
        return h + "</div>"
    }

    /// One context line: the activation, then the tokens.
    static func context(_ e: ContextExample, scale: Double) -> String {
        var s = "<div class=\"ctx\"><span class=\"act\">\(HTML.escape(HTML.number(e.activation, digits: 3)))</span>"
        for (i, t) in e.tokens.enumerated() {
            let text = HTML.token(t)
            if i == e.firingIndex {
                s += "<mark class=\"fire\" title=\"\(HTML.escape(HTML.number(e.activation, digits: 4)))\">\(text)</mark>"
            } else if let a = e.activations?[i], a > 0 {
                let alpha = min(1, Double(a) / scale) * 0.7
                s += "<span class=\"tok\" style=\"background: rgba(255,159,28,\(String(format: "%.2f", alpha)))\" title=\"\(HTML.escape(HTML.number(a, digits: 4)))\">\(text)</span>"
            } else {
                s += "<span class=\"tok\">\(text)</span>"
            }
        }
        return s + "</div>"
    }

    static func tokenTable(_ title: String, _ tokens: [TokenValue], cls: String) -> String {
        var t = "<table><tr><th colspan=\"2\">\(HTML.escape(title))</th></tr>"
        for v in tokens {
            t += "<tr><td class=\"l\"><span class=\"tok\">\(HTML.token(v.token))</span></td><td class=\"\(cls)\">\(HTML.escape(HTML.number(v.value, digits: 3)))</td></tr>"
        }
        return t + "</table>"
    }
}
