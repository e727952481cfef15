import Foundation
import XCTest

/// Headless Chromium for the report tests: a screenshot, the DOM after the page ran, and
/// the page's console messages (`--enable-logging=stderr --v=0` writes each as a
/// `...:CONSOLE:<line>] "<message>", source: <url> (<line>)` line on stderr; the report has
/// no script of its own, so any such line is the browser complaining: an SVG attribute it
/// could not parse, a resource it could not load).
///
/// `HeadlessBrowser.find()` skips the calling test when there is no `chromium` on PATH,
/// except under CI (`CI=true`), where it fails: `.ci/install-browser` installs one.
struct HeadlessBrowser {
    let executable: URL

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }

    static func find() throws -> HeadlessBrowser {
        if let url = executable("chromium") ?? executable("chromium-browser") { return HeadlessBrowser(executable: url) }
        if inCI { throw Failure(description: "CI=true and no chromium on PATH: run .ci/install-browser first") }
        throw XCTSkip("no chromium on PATH (set CI=true to make this a failure)")
    }

    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
        /// The page's console messages.
        var console: [String] {
            stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        }
    }

    /// Runs the browser headless on `page` with `arguments`, a fresh profile, at most `timeout` s.
    func run(_ page: URL, _ arguments: [String], profile: URL, timeout: TimeInterval = 90) throws -> Run {
        let p = Process()
        p.executableURL = executable
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                       "--force-device-scale-factor=1", "--enable-logging=stderr", "--v=0",
                       "--user-data-dir=\(profile.path)"] + arguments + [page.absoluteString]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while the browser runs, so a full pipe cannot stall it.
        final class Collected: @unchecked Sendable {  // written under `lock`, read after `group.wait()`
            var data: [Bool: Data] = [:]
            let lock = NSLock()
        }
        let collected = Collected()
        let group = DispatchGroup()
        for (handle, isOut) in [(out.fileHandleForReading, true), (err.fileHandleForReading, false)] {
            group.enter()
            DispatchQueue.global().async {
                let d = handle.readDataToEndOfFile()
                collected.lock.lock(); collected.data[isOut] = d; collected.lock.unlock()
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            throw Failure(description: "chromium did not finish in \(Int(timeout)) s")
        }
        group.wait()
        return Run(status: p.terminationStatus, stdout: collected.data[true] ?? Data(),
                   stderr: String(decoding: collected.data[false] ?? Data(), as: UTF8.self))
    }
}

/// What a script run inside the page measured after layout (see `ReportLayoutProbe.script`).
struct ReportLayout: Decodable {
    struct Box: Decodable {
        var id: String?
        var section: String?
        var x: Double, y: Double, width: Double, height: Double
        /// Painted shapes with a nonzero bounding box (SVGs only).
        var drawn: Int?
        /// Painted shapes in all (SVGs only).
        var shapes: Int?
    }
    var width: Double
    var height: Double
    var background: String
    var sections: [Box]
    var svgs: [Box]
}

enum ReportLayoutProbe {
    /// Appended to a copy of the report: measures every section and SVG plot in page
    /// coordinates (CSS px; one device pixel each at scale factor 1) and counts, per plot,
    /// the shapes that are painted (a fill or a stroke that is not `none`, not transparent,
    /// visible) with a nonzero `getBBox()`. Writes the JSON into `<pre id="saekit-probe">`
    /// for `--dump-dom`. Logs nothing, so the console stays the page's.
    static let script = """
    <script>
    (function () {
      var out = { width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
                  background: getComputedStyle(document.body).backgroundColor, sections: [], svgs: [] };
      function box(el) { var r = el.getBoundingClientRect(); return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }; }
      document.querySelectorAll('section[id]').forEach(function (s) { var b = box(s); b.id = s.id; out.sections.push(b); });
      document.querySelectorAll('svg').forEach(function (svg) {
        var b = box(svg), drawn = 0, shapes = 0;
        svg.querySelectorAll('path, rect, circle, ellipse, line, polyline, polygon').forEach(function (el) {
          var cs = getComputedStyle(el);
          var fill = cs.fill !== 'none' && cs.fill !== 'transparent' && parseFloat(cs.fillOpacity) > 0;
          var stroke = cs.stroke !== 'none' && parseFloat(cs.strokeOpacity) > 0 && parseFloat(cs.strokeWidth) > 0;
          if (!(fill || stroke) || cs.visibility === 'hidden' || cs.display === 'none' || parseFloat(cs.opacity) === 0) return;
          shapes += 1;
          var bb = el.getBBox();
          if (bb.width > 0 || bb.height > 0) drawn += 1;
        });
        var s = svg.closest('section');
        b.section = s ? s.id : null; b.drawn = drawn; b.shapes = shapes;
        out.svgs.push(b);
      });
      var pre = document.createElement('pre');
      pre.id = 'saekit-probe';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    })();
    </script>
    """

    /// The probe's JSON from a dumped DOM.
    static func layout(fromDOM dom: String) throws -> ReportLayout {
        guard let start = dom.range(of: "<pre id=\"saekit-probe\">"),
              let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            throw HeadlessBrowser.Failure(description: "the probe's output is not in the dumped DOM (did the page load?)")
        }
        let text = String(dom[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        return try JSONDecoder().decode(ReportLayout.self, from: Data(text.utf8))
    }
}
