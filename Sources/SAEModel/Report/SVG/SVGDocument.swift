import Foundation

/// An inline `<svg>` element built as text: shapes and text in user units, numbers
/// written with at most two decimals, every text escaped. No external references.
struct SVGDocument {
    let width: Double
    let height: Double
    let label: String
    private(set) var body: [String] = []

    init(width: Double, height: Double, label: String) {
        self.width = width
        self.height = height
        self.label = label
    }

    static func n(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    mutating func raw(_ s: String) { body.append(s) }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                       opacity: Double? = nil, title: String? = nil) {
        var a = "x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(0, width)))\" height=\"\(Self.n(max(0, height)))\" fill=\"\(fill)\""
        if let stroke { a += " stroke=\"\(stroke)\"" }
        if let opacity { a += " fill-opacity=\"\(Self.n(opacity))\"" }
        if let title { body.append("<rect \(a)><title>\(HTML.escape(title))</title></rect>") } else { body.append("<rect \(a)/>") }
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                       dash: String? = nil) {
        var a = "x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\""
        if let dash { a += " stroke-dasharray=\"\(dash)\"" }
        body.append("<line \(a)/>")
    }

    mutating func circle(cx: Double, cy: Double, r: Double, fill: String, opacity: Double = 1) {
        body.append("<circle cx=\"\(Self.n(cx))\" cy=\"\(Self.n(cy))\" r=\"\(Self.n(r))\" fill=\"\(fill)\" fill-opacity=\"\(Self.n(opacity))\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5) {
        guard points.count > 1 else { return }
        let p = points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ")
        body.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\"/>")
    }

    /// Text; `anchor` is `start`, `middle` or `end`; `rotate` turns it about its anchor point.
    mutating func text(_ s: String, x: Double, y: Double, anchor: String = "start", size: Double = 11,
                       rotate: Double? = nil, fill: String = "#333", weight: String? = nil) {
        var a = "x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" text-anchor=\"\(anchor)\" font-size=\"\(Self.n(size))\" fill=\"\(fill)\""
        if let rotate { a += " transform=\"rotate(\(Self.n(rotate)) \(Self.n(x)) \(Self.n(y)))\"" }
        if let weight { a += " font-weight=\"\(weight)\"" }
        body.append("<text \(a)>\(HTML.escape(s))</text>")
    }

    /// The `<svg>` element.
    func render() -> String {
        "<svg class=\"plot\" viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" role=\"img\" aria-label=\"\(HTML.escape(label))\" font-family=\"sans-serif\">"
            + "<title>\(HTML.escape(label))</title>" + body.joined() + "</svg>"
    }
}
