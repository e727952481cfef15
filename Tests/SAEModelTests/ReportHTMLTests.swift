import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// The report's HTML: well formed, self-contained, every section present, text escaped.
final class ReportHTMLTests: XCTestCase {
    func testReportIsWellFormedSelfContainedAndComplete() throws {
        var r = AnalysisFixture.fullRun
        // A hostile token must come out as text.
        r.features[0].contexts.top[0].tokens[0] = "<script>alert('x')</script>&"
        let html = ReportWriter.html(r)
        let problems = ReportHTMLCheck.problems(html)
        XCTAssertEqual(problems, [], problems.prefix(5).joined(separator: "\n"))
        for id in ["summary", "density", "ultra-low-cluster", "loss-when-firing", "decoder-sparsity", "kurtosis",
                   "encoder-decoder-cosine", "null-space", "cross-run", "positions", "density-over-training", "pruning",
                   "prompt-view", "features"] {
            XCTAssertTrue(html.contains("<section id=\"\(id)\">"), "section \(id)")
        }
        XCTAssertEqual(ReportWriter.sectionIDs(r).count, 14)
        XCTAssertFalse(html.lowercased().contains("<script"), "no script, and the hostile token is escaped")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"))
        for card in r.features { XCTAssertTrue(html.contains("id=\"feature-\(card.feature)\"")) }
        XCTAssertEqual(html.components(separatedBy: "<mark class=\"fire\"").count - 1,
                       r.features.reduce(0) { $0 + $1.contexts.top.count + $1.contexts.quantiles.reduce(0) { $0 + $1.examples.count } },
                       "one marked token per example")
        // Plots: one <svg> per plot, each with content.
        let svgs = html.components(separatedBy: "<svg ").count - 1
        XCTAssertGreaterThanOrEqual(svgs, 14)
        XCTAssertGreaterThan(html.components(separatedBy: "<circle ").count, 1000, "scatter points")
        XCTAssertGreaterThan(html.components(separatedBy: "<rect ").count, 300, "bars and heat map cells")
    }

    func testReportWithoutOptionalParts() {
        var r = AnalysisFixture.fullRun
        r.nullSpace = nil; r.crossRun = nil; r.densityOverTraining = nil; r.pruning = nil; r.promptView = nil
        r.features = []
        r.skipped = ["nullSpace": "hook <x> is not mlp.hook_post"]
        let html = ReportWriter.html(r)
        XCTAssertEqual(ReportHTMLCheck.problems(html), [])
        XCTAssertFalse(html.contains("id=\"cross-run\""))
        XCTAssertFalse(html.contains("id=\"density-over-training\""))
        XCTAssertTrue(html.contains("<section id=\"features\">"))
        XCTAssertTrue(html.contains("hook &lt;x&gt;"))
    }

    /// The reduced report (no optional parts, a skipped measurement) in headless Chromium:
    /// no console message, its sections laid out, every plot painted (skipped without
    /// chromium, a failure under CI=true; see `ReportScreenshotTests` for the full report).
    func testReportWithoutOptionalPartsInTheBrowser() throws {
        let browser = try HeadlessBrowser.find()
        var r = AnalysisFixture.fullRun
        r.nullSpace = nil; r.crossRun = nil; r.densityOverTraining = nil; r.pruning = nil; r.promptView = nil
        r.features = []
        r.skipped = ["nullSpace": "hook <x> is not mlp.hook_post"]
        let dir = ScratchDirectory("saekit-report-reduced")
        defer { dir.remove() }
        let html = ReportWriter.html(r)
        guard let end = html.range(of: "</body>", options: .backwards) else { return XCTFail("no </body>") }
        let page = dir.file("report.html")
        try (html[..<end.lowerBound] + ReportLayoutProbe.script + html[end.lowerBound...]).write(to: page, atomically: true, encoding: .utf8)
        let run = try browser.run(page, ["--dump-dom", "--virtual-time-budget=5000", "--window-size=1200,1000"], profile: dir.file("profile"))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.console, [], "console messages")
        let layout = try ReportLayoutProbe.layout(fromDOM: String(decoding: run.stdout, as: UTF8.self))
        XCTAssertEqual(layout.sections.compactMap(\.id), ReportWriter.sectionIDs(r))
        XCTAssertTrue(layout.sections.allSatisfy { $0.height > 20 }, "every section has a height")
        XCTAssertEqual(layout.svgs.count, html.components(separatedBy: "<svg ").count - 1)
        for p in layout.svgs { XCTAssertGreaterThanOrEqual(p.drawn ?? 0, 4, "a plot in \(p.section ?? "?") is not drawn") }
    }

    func testSVGHelpersOnEdgeCases() {
        // Empty and degenerate inputs still give valid SVG.
        let empty = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", groups: [.init(label: "g", color: "#000", points: [])]).render()
        let flat = LinePlot(title: "t", xLabel: "x", yLabel: "y",
                            series: [.init(label: "s", color: "#000", points: [(0, 1), (1, 1), (2, .nan)])]).render()
        let heat = HeatMapPlot(title: "t", xLabel: "x", yLabel: "y", counts: [], columnEdges: [0, 1], rowLabels: []).render()
        let hist = HistogramPlot(title: "t", xLabel: "x", histogram: Histogram(lower: 0, upper: 1, bins: 3), trimEmpty: true).render()
        for svg in [empty, flat, heat, hist] {
            XCTAssertEqual(ReportHTMLCheck.problems("<div>\(svg)</div>", requireDocument: false), [])
            XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), svg)
        }
        XCTAssertEqual(PlotFrame.niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(PlotFrame.niceTicks(-5.25, 0), [-4, -2, 0])
        XCTAssertEqual(PlotFrame.niceTicks(0.001, 0.0072), [0.002, 0.004, 0.006])
        XCTAssertEqual(PlotFrame.powerOfTenLabel(-3), "1e-3")
        XCTAssertEqual(HTML.escape("a<b>\"c\"&'d'"), "a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;")
    }
}

/// A small XML-ish checker for the report: balanced tags (void elements excepted), quoted
/// attributes, no reference to anything outside the file.
enum ReportHTMLCheck {
    static let voidElements: Set<String> = ["meta", "br", "hr", "img", "input", "link", "source", "wbr"]

    static func problems(_ html: String, requireDocument: Bool = true) -> [String] {
        var problems: [String] = []
        if requireDocument {
            if !html.hasPrefix("<!DOCTYPE html>") { problems.append("no doctype") }
            if !html.contains("<meta charset=\"utf-8\"/>") { problems.append("no charset") }
        }
        var stack: [String] = []
        let chars = Array(html.unicodeScalars)
        var i = 0
        while i < chars.count {
            guard chars[i] == "<" else {
                if chars[i] == ">" { problems.append("stray '>' in text at \(i)") }
                i += 1; continue
            }
            guard let end = chars[i...].firstIndex(of: ">") else { problems.append("unclosed tag at \(i)"); break }
            let tag = String(String.UnicodeScalarView(chars[(i + 1)..<end]))
            i = end + 1
            if tag.hasPrefix("!DOCTYPE") || tag.hasPrefix("!--") { continue }
            if tag.contains("<") { problems.append("'<' inside tag \(tag.prefix(40))") }
            let closing = tag.hasPrefix("/")
            let selfClosing = tag.hasSuffix("/")
            let body = closing ? String(tag.dropFirst()) : (selfClosing ? String(tag.dropLast()) : tag)
            let name = String(body.prefix { $0.isLetter || $0.isNumber }).lowercased()
            if name.isEmpty { problems.append("bad tag '\(tag.prefix(40))'"); continue }
            if closing {
                if stack.last == name { stack.removeLast() } else { problems.append("</\(name)> closes <\(stack.last ?? "nothing")>") }
                continue
            }
            // Attributes: name="value" pairs only.
            let attrs = body.dropFirst(name.count)
            if attrs.filter({ $0 == "\"" }).count % 2 != 0 { problems.append("unbalanced quotes in <\(name)>") }
            let lower = attrs.lowercased()
            for bad in ["src=", "url(", "@import", "javascript:", "on" + "load=", "onclick="] where lower.contains(bad) {
                problems.append("external or active reference '\(bad)' in <\(name)>")
            }
            if let r = lower.range(of: "href=\"") {
                if !lower[r.upperBound...].hasPrefix("#") { problems.append("href outside the page in <\(name)>") }
            }
            if name == "script" || name == "iframe" || name == "link" || name == "img" { problems.append("<\(name)> element") }
            if !selfClosing && !voidElements.contains(name) { stack.append(name) }
        }
        if !stack.isEmpty { problems.append("unclosed: \(stack.suffix(5))") }
        if html.contains("@import") { problems.append("@import") }
        return problems
    }
}
