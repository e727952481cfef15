import Foundation

/// A linear map from a data interval to a pixel interval (`range` may be decreasing, as
/// for a y axis).
struct LinearScale {
    var domain: (Double, Double)
    var range: (Double, Double)

    func callAsFunction(_ v: Double) -> Double {
        let span = domain.1 - domain.0
        let t = span == 0 ? 0.5 : (v - domain.0) / span
        return range.0 + t * (range.1 - range.0)
    }
}

/// The plotting area of a chart, its two scales, and axes drawn with ticks, tick labels,
/// axis labels and a title.
struct PlotFrame {
    static let defaultMargins = (left: 62.0, right: 18.0, top: 30.0, bottom: 46.0)

    var width: Double
    var height: Double
    var left: Double, right: Double, top: Double, bottom: Double
    var x: LinearScale
    var y: LinearScale

    init(width: Double = 520, height: Double = 300, x: (Double, Double), y: (Double, Double),
         margins: (left: Double, right: Double, top: Double, bottom: Double) = PlotFrame.defaultMargins) {
        self.width = width
        self.height = height
        (left, right, top, bottom) = (margins.left, margins.right, margins.top, margins.bottom)
        let xd = x.0 < x.1 ? x : (x.0 - 0.5, x.0 + 0.5)
        let yd = y.0 < y.1 ? y : (y.0 - 0.5, y.0 + 0.5)
        self.x = LinearScale(domain: xd, range: (margins.left, width - margins.right))
        self.y = LinearScale(domain: yd, range: (height - margins.bottom, margins.top))
    }

    var plotLeft: Double { left }
    var plotRight: Double { width - right }
    var plotTop: Double { top }
    var plotBottom: Double { height - bottom }

    func contains(x v: Double) -> Bool { v >= x.domain.0 && v <= x.domain.1 }

    /// Draws the frame, gridlines, ticks and labels. `xLabelFor` / `yLabelFor` format tick
    /// values (e.g. `1e-3` for a log10 axis).
    func drawAxes(_ svg: inout SVGDocument, title: String, xLabel: String, yLabel: String,
                  xTicks: [Double]? = nil, yTicks: [Double]? = nil,
                  xLabelFor: (Double) -> String = PlotFrame.tickLabel, yLabelFor: (Double) -> String = PlotFrame.tickLabel) {
        svg.rect(x: plotLeft, y: plotTop, width: plotRight - plotLeft, height: plotBottom - plotTop, fill: "#fbfbfb", stroke: "#bbb")
        for t in yTicks ?? Self.niceTicks(y.domain.0, y.domain.1) {
            let py = y(t)
            svg.line(x1: plotLeft, y1: py, x2: plotRight, y2: py, stroke: "#e6e6e6")
            svg.line(x1: plotLeft - 4, y1: py, x2: plotLeft, y2: py, stroke: "#555")
            svg.text(yLabelFor(t), x: plotLeft - 6, y: py + 3.5, anchor: "end", size: 10)
        }
        for t in xTicks ?? Self.niceTicks(x.domain.0, x.domain.1) {
            let px = x(t)
            svg.line(x1: px, y1: plotBottom, x2: px, y2: plotBottom + 4, stroke: "#555")
            svg.text(xLabelFor(t), x: px, y: plotBottom + 15, anchor: "middle", size: 10)
        }
        svg.text(title, x: (plotLeft + plotRight) / 2, y: 18, anchor: "middle", size: 13, fill: "#111", weight: "bold")
        svg.text(xLabel, x: (plotLeft + plotRight) / 2, y: height - 10, anchor: "middle", size: 11)
        svg.text(yLabel, x: 14, y: (plotTop + plotBottom) / 2, anchor: "middle", size: 11, rotate: -90)
    }

    /// About `count` round tick values (steps of 1, 2 or 5 times a power of ten) in `[lo, hi]`.
    static func niceTicks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return lo.isFinite ? [lo] : [] }
        let raw = (hi - lo) / Double(max(1, count))
        let exponent = Int(floor(log10(raw)))
        let power = pow(10, Double(exponent))
        let mantissa = [1, 2, 5, 10].first { Double($0) * power >= raw } ?? 10
        let step = Double(mantissa) * power
        // Tick k is k * mantissa * 10^exponent, computed with one rounding (0.6, not 0.6000000000000001).
        let value = { (k: Int) -> Double in
            exponent < 0 ? Double(k * mantissa) / pow(10, Double(-exponent)) : Double(k * mantissa) * power
        }
        var ticks: [Double] = []
        var k = Int((lo / step).rounded(.up))
        while value(k) <= hi + step * 1e-9 {
            ticks.append(value(k) == 0 ? 0 : value(k))
            k += 1
        }
        return ticks
    }

    /// Whole numbers below a million as integers, others `%g` with 3 significant digits.
    static func tickLabel(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%.3g", v)
    }

    /// A tick label for a log10 axis: `1e-3`, `1` for 0.
    static func powerOfTenLabel(_ v: Double) -> String {
        if v == 0 { return "1" }
        if v == v.rounded() { return "1e\(Int(v))" }
        return String(format: "%.2g", pow(10, v))
    }

    /// Integer ticks for a log10 axis over `[lo, hi]` (every integer, or every other one
    /// when there are more than `max`).
    static func integerTicks(_ lo: Double, _ hi: Double, max: Int = 10) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi >= lo else { return [] }
        let first = Int(lo.rounded(.up)), last = Int(hi.rounded(.down))
        guard first <= last else { return [] }
        let step = Swift.max(1, (last - first + max) / max)
        return stride(from: first, through: last, by: step).map(Double.init)
    }
}

/// The report's colors.
enum PlotColors {
    static let primary = "#4c78a8"
    static let secondary = "#f58518"
    static let tertiary = "#54a24b"
    static let muted = "#9d9d9d"
    static let accent = "#e45756"
}
