import Foundation

/// Escaping and number formatting for the HTML report.
enum HTML {
    /// `s` with `& < > " '` replaced by entities: safe as element text and inside a
    /// double- or single-quoted attribute.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab/newline would make the file invalid XML-ish text.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" { out += "&#xFFFD;" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A token as shown in a context: escaped, with newlines as `↵` and tabs as `→`
    /// (spaces kept; the token spans use `white-space: pre`).
    static func token(_ s: String) -> String {
        escape(s.replacingOccurrences(of: "\r\n", with: "↵").replacingOccurrences(of: "\n", with: "↵")
                .replacingOccurrences(of: "\r", with: "↵").replacingOccurrences(of: "\t", with: "→"))
    }

    /// `v` with `digits` significant digits (`%g`), "–" for NaN, "∞" / "-∞".
    static func number(_ v: Double, digits: Int = 4) -> String {
        if v.isNaN { return "–" }
        if v.isInfinite { return v > 0 ? "∞" : "-∞" }
        return String(format: "%.\(digits)g", v)
    }

    static func number(_ v: Float, digits: Int = 4) -> String { number(Double(v), digits: digits) }

    /// `v` as a percentage with `decimals` decimals.
    static func percent(_ v: Double, decimals: Int = 1) -> String {
        v.isFinite ? String(format: "%.\(decimals)f%%", v) : "–"
    }
}
