import Foundation

/// A heat map of a `rows x cols` grid of counts: x is the column's value range
/// (`columnEdges`, `cols + 1` entries), each row one band labelled by `rowLabels`; a cell's
/// color runs from white to dark blue with `sqrt(count / max)`, so small counts stay visible.
/// A color bar shows the scale.
struct HeatMapPlot {
    var title: String
    var xLabel: String
    var yLabel: String
    var counts: [[Int]]
    var columnEdges: [Double]
    var rowLabels: [String]
    var logX = false
    var width: Double = 620
    var height: Double = 340

    static func color(_ t: Double) -> String {
        // White -> #08306b.
        let t = min(1, max(0, t))
        let r = Int((255 * (1 - t) + 8 * t).rounded()), g = Int((255 * (1 - t) + 48 * t).rounded())
        let b = Int((255 * (1 - t) + 107 * t).rounded())
        return String(format: "#%02x%02x%02x", r, g, b)
    }

    func render() -> String {
        let rows = counts.count
        let cols = max(1, columnEdges.count - 1)
        var margins = PlotFrame.defaultMargins
        margins.right = 70
        margins.left = 82
        let frame = PlotFrame(width: width, height: height, x: (columnEdges.first ?? 0, columnEdges.last ?? 1),
                              y: (0, Double(max(1, rows))), margins: margins)
        var svg = SVGDocument(width: width, height: height, label: title)
        let maxCount = max(1, counts.flatMap { $0 }.max() ?? 1)
        let step = max(1, (rows + 9) / 10)
        let rowTicks = stride(from: 0, to: rows, by: step).map { Double($0) + 0.5 }
        frame.drawAxes(&svg, title: title, xLabel: xLabel, yLabel: yLabel,
                       xTicks: logX ? PlotFrame.integerTicks(frame.x.domain.0, frame.x.domain.1) : nil, yTicks: rowTicks,
                       xLabelFor: logX ? PlotFrame.powerOfTenLabel : PlotFrame.tickLabel,
                       yLabelFor: { v in let i = Int(v); return i < rowLabels.count ? rowLabels[i] : "" })
        for (r, row) in counts.enumerated() {
            let y0 = frame.y(Double(r + 1)), y1 = frame.y(Double(r))
            for c in 0..<min(cols, row.count) where row[c] > 0 {
                let x0 = frame.x(columnEdges[c]), x1 = frame.x(columnEdges[c + 1])
                svg.rect(x: x0, y: y0, width: x1 - x0 + 0.3, height: y1 - y0 + 0.3,
                         fill: Self.color((Double(row[c]) / Double(maxCount)).squareRoot()),
                         title: "\(rowLabels.indices.contains(r) ? rowLabels[r] : String(r)), [\(HTML.number(columnEdges[c], digits: 3)), \(HTML.number(columnEdges[c + 1], digits: 3))): \(row[c])")
            }
        }
        // Color bar.
        let bx = frame.plotRight + 18, bw = 12.0
        let steps = 24
        for i in 0..<steps {
            let t0 = Double(i) / Double(steps)
            let y = frame.plotBottom - (frame.plotBottom - frame.plotTop) * Double(i + 1) / Double(steps)
            svg.rect(x: bx, y: y, width: bw, height: (frame.plotBottom - frame.plotTop) / Double(steps) + 0.3,
                     fill: Self.color((t0 + 0.5 / Double(steps)).squareRoot()))
        }
        svg.rect(x: bx, y: frame.plotTop, width: bw, height: frame.plotBottom - frame.plotTop, fill: "none", stroke: "#888")
        svg.text(String(maxCount), x: bx + bw + 3, y: frame.plotTop + 8, size: 9)
        svg.text("0", x: bx + bw + 3, y: frame.plotBottom, size: 9)
        svg.text("features", x: bx + bw / 2, y: frame.plotTop - 6, anchor: "middle", size: 9)
        return svg.render()
    }
}
