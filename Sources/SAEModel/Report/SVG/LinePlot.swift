/// Line series over a shared x axis (e.g. a metric by token position), with optional
/// vertical markers (e.g. where the SAE's training context ends).
struct LinePlot {
    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var markers: [(x: Double, label: String)] = []
    var yRange: (Double, Double)? = nil
    var width: Double = 520
    var height: Double = 280

    func render() -> String {
        let pts = series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let xs = pts.map(\.x), ys = pts.map(\.y)
        let xr = (xs.min() ?? 0, xs.max() ?? 1)
        var yr = yRange ?? (ys.min() ?? 0, ys.max() ?? 1)
        if yRange == nil { let pad = yr.1 > yr.0 ? (yr.1 - yr.0) * 0.06 : 0.5; yr = (yr.0 - pad, yr.1 + pad) }
        let frame = PlotFrame(width: width, height: height, x: xr, y: yr)
        var svg = SVGDocument(width: width, height: height, label: title)
        frame.drawAxes(&svg, title: title, xLabel: xLabel, yLabel: yLabel)
        for m in markers where frame.contains(x: m.x) {
            let px = frame.x(m.x)
            svg.line(x1: px, y1: frame.plotTop, x2: px, y2: frame.plotBottom, stroke: PlotColors.accent, width: 1.5, dash: "4 3")
            svg.text(m.label, x: px + 3, y: frame.plotBottom - 6, size: 10, fill: PlotColors.accent)
        }
        for s in series {
            // Break the line at non-finite values.
            var run: [(Double, Double)] = []
            for p in s.points {
                if p.x.isFinite && p.y.isFinite && p.y >= yr.0 && p.y <= yr.1 {
                    run.append((frame.x(p.x), frame.y(p.y)))
                } else {
                    svg.polyline(run, stroke: s.color, width: 1.6); run = []
                }
            }
            svg.polyline(run, stroke: s.color, width: 1.6)
        }
        var ly = frame.plotTop + 14
        for s in series where series.count > 1 {
            svg.line(x1: frame.plotRight - 130, y1: ly - 3.5, x2: frame.plotRight - 118, y2: ly - 3.5, stroke: s.color, width: 2)
            svg.text(s.label, x: frame.plotRight - 114, y: ly, size: 10)
            ly += 14
        }
        return svg.render()
    }
}
