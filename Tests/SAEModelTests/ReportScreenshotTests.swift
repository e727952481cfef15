import Foundation
@testable import SAEModel
import XCTest

/// Renders the report with headless Chromium when a `chromium` binary is on PATH (skipped
/// otherwise) and checks the screenshot is a real picture, not a blank page.
final class ReportScreenshotTests: XCTestCase {
    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    func testChromiumRendersTheReport() throws {
        guard let chromium = Self.executable("chromium") ?? Self.executable("chromium-browser") else {
            throw XCTSkip("no chromium on PATH")
        }
        let dir = ScratchDirectory("saekit-report")
        defer { dir.remove() }
        let report = try ReportWriter.write(AnalysisFixture.fullRun, to: dir.url)
        let png = dir.file("report.png")
        let p = Process()
        p.executableURL = chromium
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--screenshot=\(png.path)",
                       "--window-size=1400,3000", "--user-data-dir=\(dir.file("profile").path)", report.absoluteString]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(100_000) }
        if p.isRunning { p.terminate(); XCTFail("chromium did not finish in 60 s"); return }
        let data = try Data(contentsOf: png)
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        // Width and height from the IHDR chunk.
        let be = { (o: Int) in data[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(be(16), 1400)
        XCTAssertEqual(be(20), 3000)
        // A blank 1400 x 3000 page compresses to a few KB; plots, text and colors take far more.
        XCTAssertGreaterThan(data.count, 150_000, "the screenshot looks blank (\(data.count) bytes)")
        // SAEKIT_REPORT_SCREENSHOT=/path/report.png keeps the screenshot (and the page beside it).
        if let keep = ProcessInfo.processInfo.environment["SAEKIT_REPORT_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: png, to: URL(fileURLWithPath: keep))
            let html = URL(fileURLWithPath: keep).deletingPathExtension().appendingPathExtension("html")
            try? FileManager.default.removeItem(at: html)
            try FileManager.default.copyItem(at: report, to: html)
        }
    }
}
