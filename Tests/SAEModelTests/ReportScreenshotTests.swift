import Foundation
@testable import SAEModel
import XCTest

/// The report of the default job's analyses (`AnalysisFixture.fullRun`: `FeatureAnalysis.run`
/// on the fixture SAE over 64 eval contexts) in a real browser, headless Chromium:
/// - it loads with no console message (the report has no script, so any message is the
///   browser's: an SVG attribute it could not parse, a resource it could not load);
/// - after layout every section of `ReportWriter.sectionIDs` is there, in order, with a size,
///   and every SVG plot has a size and painted shapes with nonzero bounding boxes;
/// - a full-page screenshot, decoded, has ink in every section and every plot's rectangle
///   (the places the layout says they are), and is not blank.
/// Skipped when there is no `chromium` on PATH, except with `CI=true`, where it fails
/// (`.ci/install-browser` installs Chromium from Debian's packages).
/// `SAEKIT_REPORT_SCREENSHOT=/path/report.png` keeps the screenshot and the page beside it.
final class ReportScreenshotTests: XCTestCase {
    static let width = 1400

    func testChromiumRendersTheDefaultReport() throws {
        let browser = try HeadlessBrowser.find()
        let r = AnalysisFixture.fullRun
        let dir = ScratchDirectory("saekit-report")
        defer { dir.remove() }
        let report = try ReportWriter.write(r, to: dir.url)
        let html = try String(contentsOf: report, encoding: .utf8)
        let expectedSections = ReportWriter.sectionIDs(r)
        let expectedPlots = html.components(separatedBy: "<svg ").count - 1
        XCTAssertGreaterThanOrEqual(expectedPlots, 14)

        // 1. The page with the layout probe: console and structure after layout.
        let probed = dir.file("probed.html")
        guard let end = html.range(of: "</body>", options: .backwards) else { return XCTFail("no </body> in the report") }
        try (html[..<end.lowerBound] + ReportLayoutProbe.script + html[end.lowerBound...]).write(to: probed, atomically: true, encoding: .utf8)
        let domRun = try browser.run(probed, ["--dump-dom", "--virtual-time-budget=5000", "--window-size=\(Self.width),1000"],
                                     profile: dir.file("profile-dom"))
        XCTAssertEqual(domRun.status, 0, domRun.stderr)
        XCTAssertEqual(domRun.console, [], "console messages while loading the report")
        let layout = try ReportLayoutProbe.layout(fromDOM: String(decoding: domRun.stdout, as: UTF8.self))
        XCTAssertEqual(layout.sections.compactMap(\.id), expectedSections, "sections after layout")
        for s in layout.sections {
            XCTAssertGreaterThan(s.height, 20, "section \(s.id ?? "?") has no height")
            XCTAssertGreaterThan(s.width, 200, "section \(s.id ?? "?") has no width")
        }
        XCTAssertEqual(layout.svgs.count, expectedPlots, "every plot in the page")
        for (i, p) in layout.svgs.enumerated() {
            let name = "plot \(i) in \(p.section ?? "no section")"
            XCTAssertGreaterThan(p.width, 50, "\(name) has no width")
            XCTAssertGreaterThan(p.height, 30, "\(name) has no height")
            // Axes alone are a handful of shapes; a drawn plot has its data too.
            XCTAssertGreaterThanOrEqual(p.drawn ?? 0, 4, "\(name): \(p.drawn ?? 0) painted shapes of nonzero size (of \(p.shapes ?? 0))")
        }
        let pageHeight = Int(layout.height.rounded(.up))
        XCTAssertGreaterThan(pageHeight, 2000, "a page of \(expectedSections.count) sections")
        XCTAssertLessThan(pageHeight, 60_000)

        // 2. The report as written: console again, and a screenshot of the whole page.
        let png = dir.file("report.png")
        let shotRun = try browser.run(report, ["--screenshot=\(png.path)", "--window-size=\(Self.width),\(pageHeight)"],
                                      profile: dir.file("profile-shot"))
        XCTAssertEqual(shotRun.status, 0, shotRun.stderr)
        XCTAssertEqual(shotRun.console, [], "console messages while loading the report")
        let image = try PNGImage(data: Data(contentsOf: png))
        XCTAssertEqual(image.width, Self.width)
        XCTAssertEqual(image.height, pageHeight)
        let whole = image.ink(x: 0, y: 0, width: image.width, height: image.height)
        XCTAssertGreaterThan(Double(whole.pixels) / Double(whole.total), 0.02, "the screenshot looks blank")
        for s in layout.sections {
            let ink = image.ink(x: Int(s.x), y: Int(s.y), width: Int(s.width), height: Int(s.height))
            XCTAssertGreaterThan(ink.pixels, 500, "section \(s.id ?? "?") is blank in the screenshot")
        }
        var leastInk = 1.0, leastDrawn = Int.max, leastColoured = Int.max
        for (i, p) in layout.svgs.enumerated() {
            // Inside the plot's 1 px border: a blank plot is then one colour.
            let ink = image.ink(x: Int(p.x.rounded()) + 2, y: Int(p.y.rounded()) + 2, width: Int(p.width) - 4, height: Int(p.height) - 4)
            let fraction = Double(ink.pixels) / Double(max(1, ink.total))
            XCTAssertGreaterThan(fraction, 0.01, "plot \(i) in \(p.section ?? "?") is blank in the screenshot (\(ink.pixels) of \(ink.total) pixels)")
            XCTAssertGreaterThanOrEqual(ink.colours, 3, "plot \(i) in \(p.section ?? "?"): \(ink.colours) colours")
            // The data, not only the frame: coloured pixels (the frame is grey).
            let coloured = image.colouredPixels(x: Int(p.x.rounded()) + 2, y: Int(p.y.rounded()) + 2, width: Int(p.width) - 4, height: Int(p.height) - 4)
            XCTAssertGreaterThan(coloured, 500, "plot \(i) in \(p.section ?? "?"): only \(coloured) coloured pixels (no data drawn?)")
            leastColoured = min(leastColoured, coloured)
            leastInk = min(leastInk, fraction)
            leastDrawn = min(leastDrawn, p.drawn ?? 0)
        }
        print("report in Chromium: \(layout.sections.count) sections, \(layout.svgs.count) plots, page \(image.width)x\(image.height), "
              + "least drawn shapes in a plot \(leastDrawn), least ink in a plot \(String(format: "%.3f", leastInk)), least coloured pixels \(leastColoured), "
              + "page ink \(String(format: "%.3f", Double(whole.pixels) / Double(whole.total)))")

        if let keep = ProcessInfo.processInfo.environment["SAEKIT_REPORT_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: png, to: URL(fileURLWithPath: keep))
            let page = URL(fileURLWithPath: keep).deletingPathExtension().appendingPathExtension("html")
            try? FileManager.default.removeItem(at: page)
            try FileManager.default.copyItem(at: report, to: page)
        }
    }

    /// The checks above catch what they are meant to: a page with an SVG attribute the
    /// browser cannot parse and an empty plot gives a console message, a plot with no drawn
    /// shape, and a blank rectangle in the screenshot.
    func testTheBrowserChecksCatchABrokenPage() throws {
        let browser = try HeadlessBrowser.find()
        let dir = ScratchDirectory("saekit-report-broken")
        defer { dir.remove() }
        let body = """
            <section id="a"><h2>a</h2><svg width="300" height="200"><path d="M 0 0 L 10 zz" stroke="#000"/>\
            <rect x="10" y="10" width="100" height="80" fill="#c33"/><circle cx="200" cy="100" r="40" fill="#36c"/>\
            <line x1="0" y1="190" x2="300" y2="190" stroke="#000"/><rect x="150" y="20" width="30" height="30" fill="#3a3"/></svg></section>
            <section id="b"><h2>b</h2><svg width="300" height="200"><rect x="10" y="10" width="0" height="0" fill="#000"/></svg></section>
            """
        let html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/></head><body>\(body)</body></html>"
        let page = dir.file("broken.html"), probed = dir.file("probed.html")
        try html.write(to: page, atomically: true, encoding: .utf8)
        try html.replacingOccurrences(of: "</body>", with: ReportLayoutProbe.script + "</body>").write(to: probed, atomically: true, encoding: .utf8)
        let dom = try browser.run(probed, ["--dump-dom", "--virtual-time-budget=2000", "--window-size=800,600"], profile: dir.file("p1"))
        XCTAssertEqual(dom.console.count, 1, "the bad path attribute is reported: \(dom.console)")
        let layout = try ReportLayoutProbe.layout(fromDOM: String(decoding: dom.stdout, as: UTF8.self))
        XCTAssertEqual(layout.sections.compactMap(\.id), ["a", "b"])
        XCTAssertEqual(layout.svgs.map { $0.drawn ?? -1 }, [4, 0], "the unparsable path and the empty rectangle are not drawn")
        let png = dir.file("broken.png")
        let shot = try browser.run(page, ["--screenshot=\(png.path)", "--window-size=800,\(Int(layout.height.rounded(.up)))"], profile: dir.file("p2"))
        XCTAssertEqual(shot.console.count, 1)
        let image = try PNGImage(data: Data(contentsOf: png))
        let inks = layout.svgs.map { p in image.ink(x: Int(p.x.rounded()) + 2, y: Int(p.y.rounded()) + 2, width: Int(p.width) - 4, height: Int(p.height) - 4) }
        XCTAssertGreaterThan(inks[0].pixels, 10_000, "the drawn plot has ink")
        XCTAssertGreaterThanOrEqual(inks[0].colours, 4)
        XCTAssertEqual(inks[1].pixels, 0, "the empty plot is blank")
        let coloured = layout.svgs.map { p in image.colouredPixels(x: Int(p.x.rounded()) + 2, y: Int(p.y.rounded()) + 2, width: Int(p.width) - 4, height: Int(p.height) - 4) }
        XCTAssertGreaterThan(coloured[0], 5000)
        XCTAssertEqual(coloured[1], 0)
        // The decoder reads the colours right: the red rectangle's centre.
        XCTAssertEqual(image.pixel(Int(layout.svgs[0].x) + 60, Int(layout.svgs[0].y) + 50), 0xCC3333FF)
    }

    /// `0xRRGGBBAA` from a computed CSS colour, `rgb(r, g, b)` or `rgba(r, g, b, a)`.
    static func rgba(_ css: String) throws -> UInt32 {
        let parts = css.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }.split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count >= 3, let r = UInt32(parts[0]), let g = UInt32(parts[1]), let b = UInt32(parts[2]) else {
            throw HeadlessBrowser.Failure(description: "cannot read the colour '\(css)'")
        }
        if parts.count == 4, Double(parts[3]) == 0 { return 0xFFFF_FFFF }  // transparent body: the white canvas
        return r << 24 | g << 16 | b << 8 | 0xFF
    }
}
