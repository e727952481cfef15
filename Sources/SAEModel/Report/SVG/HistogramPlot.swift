/// A bar chart of a `Histogram`, optionally with a second histogram over the same bins drawn
/// as an outline (e.g. a random baseline), a separate bar left of the axis (e.g. features that
/// never fired) and vertical marker lines (thresholds, medians).
struct HistogramPlot {
    struct Marker {
        var x: Double
        var label: String
        var color: String = PlotColors.accent
    }

    var title: String
    var xLabel: String
    var yLabel: String = "features"
    var histogram: Histogram
    var seriesLabel: String? = nil
    var overlay: Histogram? = nil
    var overlayLabel: String? = nil
    /// A bar for values not on the axis (label, count), drawn left of it.
    var extraBar: (label: String, count: Int)? = nil
    var markers: [Marker] = []
    var logAxis = false
    var width: Double = 520
    var height: Double = 300
    /// Drop empty bins at both ends.
    var trimEmpty = false

    func render() -> String {
        var h = histogram
        if trimEmpty, let first = h.counts.firstIndex(where: { $0 > 0 }), let last = h.counts.lastIndex(where: { $0 > 0 }) {
            h = Histogram(edges: Array(h.edges[first...(last + 1)]), counts: Array(h.counts[first...last]))
        }
        let maxCount = max(1, (h.counts + (overlay?.counts ?? []) + [extraBar?.count ?? 0]).max() ?? 1)
        var margins = PlotFrame.defaultMargins
        if extraBar != nil { margins.left += 46 }
        let frame = PlotFrame(width: width, height: height, x: (h.lower, h.upper), y: (0, Double(maxCount) * 1.08),
                              margins: margins)
        var svg = SVGDocument(width: width, height: height, label: title)
        let xTicks = logAxis ? PlotFrame.integerTicks(h.lower, h.upper) : nil
        frame.drawAxes(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xTicks: xTicks,
                       yTicks: PlotFrame.niceTicks(0, Double(maxCount) * 1.08).filter { $0 == $0.rounded() },
                       xLabelFor: logAxis ? PlotFrame.powerOfTenLabel : PlotFrame.tickLabel)
        for b in 0..<h.bins where h.counts[b] > 0 {
            let x0 = frame.x(h.edges[b]), x1 = frame.x(h.edges[b + 1])
            let y = frame.y(Double(h.counts[b]))
            svg.rect(x: x0 + 0.5, y: y, width: max(0.5, x1 - x0 - 1), height: frame.plotBottom - y, fill: PlotColors.primary,
                     title: "[\(HTML.number(h.edges[b], digits: 3)), \(HTML.number(h.edges[b + 1], digits: 3))): \(h.counts[b])")
        }
        if let o = overlay, o.bins == histogram.bins {
            var points: [(Double, Double)] = []
            for b in 0..<o.bins where frame.contains(x: o.edges[b]) && frame.contains(x: o.edges[b + 1]) {
                let y = frame.y(Double(o.counts[b]))
                points.append((frame.x(o.edges[b]), y))
                points.append((frame.x(o.edges[b + 1]), y))
            }
            svg.polyline(points, stroke: PlotColors.secondary, width: 2)
        }
        if let extra = extraBar {
            let x0 = frame.plotLeft - 50, w = 26.0
            let y = frame.y(Double(extra.count))
            svg.rect(x: x0, y: y, width: w, height: frame.plotBottom - y, fill: PlotColors.muted,
                     title: "\(extra.label): \(extra.count)")
            svg.text(extra.label, x: x0 + w / 2, y: frame.plotBottom + 15, anchor: "middle", size: 10)
            svg.text(String(extra.count), x: x0 + w / 2, y: y - 3, anchor: "middle", size: 9)
        }
        for m in markers where frame.contains(x: m.x) {
            let px = frame.x(m.x)
            svg.line(x1: px, y1: frame.plotTop, x2: px, y2: frame.plotBottom, stroke: m.color, width: 1.5, dash: "4 3")
            svg.text(m.label, x: px + 3, y: frame.plotTop + 12, size: 10, fill: m.color)
        }
        // The legend goes in the top corner whose third of the bins is lower.
        let third = max(1, h.bins / 3)
        let tallest = { (r: Range<Int>) in
            max(h.counts[r].max() ?? 0, overlay.map { o in o.bins == h.bins ? (o.counts[r].max() ?? 0) : 0 } ?? 0)
        }
        let legendX = tallest((h.bins - third)..<h.bins) > tallest(0..<third) ? frame.plotLeft + 10 : frame.plotRight - 150
        var legendY = frame.plotTop + 14.0
        if let l = seriesLabel {
            svg.rect(x: legendX, y: legendY - 8, width: 10, height: 10, fill: PlotColors.primary)
            svg.text(l, x: legendX + 14, y: legendY + 1, size: 10)
            legendY += 15
        }
        if let l = overlayLabel, overlay != nil {
            svg.line(x1: legendX, y1: legendY - 3, x2: legendX + 10, y2: legendY - 3, stroke: PlotColors.secondary, width: 2)
            svg.text(l, x: legendX + 14, y: legendY + 1, size: 10)
        }
        return svg.render()
    }
}
