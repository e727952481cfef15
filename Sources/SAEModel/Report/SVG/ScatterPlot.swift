/// A scatter of points, optionally colored by group, with optional line series (e.g.
/// bucket means), horizontal and vertical reference lines. Points with a non-finite
/// coordinate are skipped; more than `maxPoints` are thinned by an even stride.
struct ScatterPlot {
    struct Group {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    struct Line {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    struct Reference {
        var value: Double
        var label: String
        var color: String = PlotColors.muted
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var groups: [Group]
    var lines: [Line] = []
    var horizontal: [Reference] = []
    var vertical: [Reference] = []
    var xRange: (Double, Double)? = nil
    var yRange: (Double, Double)? = nil
    var logX = false
    var maxPoints = 6000
    var width: Double = 520
    var height: Double = 320

    func render() -> String {
        let finite = { (p: (x: Double, y: Double)) in p.x.isFinite && p.y.isFinite }
        let all = groups.flatMap { $0.points.filter(finite) } + lines.flatMap { $0.points.filter(finite) }
        func span(_ values: [Double], _ extra: [Double]) -> (Double, Double) {
            let v = values + extra
            guard let lo = v.min(), let hi = v.max() else { return (0, 1) }
            let pad = hi > lo ? (hi - lo) * 0.04 : 0.5
            return (lo - pad, hi + pad)
        }
        let xr = xRange ?? span(all.map(\.x), vertical.map(\.value))
        let yr = yRange ?? span(all.map(\.y), horizontal.map(\.value))
        let frame = PlotFrame(width: width, height: height, x: xr, y: yr)
        var svg = SVGDocument(width: width, height: height, label: title)
        frame.drawAxes(&svg, title: title, xLabel: xLabel, yLabel: yLabel,
                       xTicks: logX ? PlotFrame.integerTicks(frame.x.domain.0, frame.x.domain.1) : nil,
                       xLabelFor: logX ? PlotFrame.powerOfTenLabel : PlotFrame.tickLabel)
        let total = groups.reduce(0) { $0 + $1.points.count }
        let stride = max(1, (total + maxPoints - 1) / maxPoints)
        for g in groups {
            for (i, p) in g.points.enumerated() where i % stride == 0 && finite(p) {
                let cx = frame.x(p.x), cy = frame.y(p.y)
                guard cx >= frame.plotLeft - 1, cx <= frame.plotRight + 1, cy >= frame.plotTop - 1, cy <= frame.plotBottom + 1 else { continue }
                svg.circle(cx: cx, cy: cy, r: 2.2, fill: g.color, opacity: 0.55)
            }
        }
        for r in horizontal where r.value.isFinite {
            let py = frame.y(r.value)
            guard py >= frame.plotTop, py <= frame.plotBottom else { continue }
            svg.line(x1: frame.plotLeft, y1: py, x2: frame.plotRight, y2: py, stroke: r.color, width: 1.2, dash: "5 3")
            svg.text(r.label, x: frame.plotRight - 4, y: py - 4, anchor: "end", size: 10, fill: r.color)
        }
        for r in vertical where r.value.isFinite && frame.contains(x: r.value) {
            let px = frame.x(r.value)
            svg.line(x1: px, y1: frame.plotTop, x2: px, y2: frame.plotBottom, stroke: r.color, width: 1.2, dash: "5 3")
            svg.text(r.label, x: px + 3, y: frame.plotBottom - 5, size: 10, fill: r.color)
        }
        for l in lines {
            let pts = l.points.filter(finite).map { (frame.x($0.x), frame.y($0.y)) }
            svg.polyline(pts, stroke: l.color, width: 2)
            for p in pts { svg.circle(cx: p.0, cy: p.1, r: 3, fill: l.color) }
        }
        // Legend.
        var ly = frame.plotTop + 14
        for g in groups where groups.count > 1 || !lines.isEmpty {
            svg.circle(cx: frame.plotLeft + 10, cy: ly - 3.5, r: 3.5, fill: g.color)
            svg.text("\(g.label) (\(g.points.count))", x: frame.plotLeft + 18, y: ly, size: 10)
            ly += 14
        }
        for l in lines {
            svg.line(x1: frame.plotLeft + 4, y1: ly - 3.5, x2: frame.plotLeft + 16, y2: ly - 3.5, stroke: l.color, width: 2)
            svg.text(l.label, x: frame.plotLeft + 20, y: ly, size: 10)
            ly += 14
        }
        return svg.render()
    }
}
