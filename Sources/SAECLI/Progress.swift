import Foundation

/// Progress output: a live, rewritten line on a terminal; plain lines otherwise (logs, CI,
/// pipes), so other tools can read them.
final class Progress {
    let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPlain: UInt64 = 0
    private var live = false
    let start = DispatchTime.now().uptimeNanoseconds

    /// A phase heading ("training", "evaluating ...").
    func phase(_ text: String) {
        endLine()
        write("sae: \(text)\n")
    }

    /// A progress update; on a terminal it replaces the current line, otherwise at most one
    /// line every `plainEvery` seconds (and always when `force`).
    func update(_ text: String, force: Bool = false, plainEvery: Double = 5) {
        if isTerminal {
            write("\r\u{1B}[2K" + text)
            live = true
        } else {
            let now = DispatchTime.now().uptimeNanoseconds
            if force || Double(now - lastPlain) / 1e9 >= plainEvery {
                write(text + "\n")
                lastPlain = now
            }
        }
    }

    func endLine() {
        if live { write("\n"); live = false }
    }

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    private func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : s >= 60 ? String(format: "%dm%02ds", s / 60, s % 60) : "\(s)s"
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000 ? String(format: "%.2fM", Double(n) / 1e6) : n >= 10_000 ? String(format: "%.1fk", Double(n) / 1e3) : "\(n)"
    }
}
