import Foundation

/// One option of a command: `--name VALUE` (or `--name=VALUE`), or a flag `--name`.
struct OptionSpec {
    let name: String
    /// The value's placeholder (e.g. "DIR"); nil for a flag.
    let value: String?
    /// Shown in help; nil: no default (optional or required, as `help` says).
    let defaultValue: String?
    let help: String
}

/// A subcommand: its options, and what it runs with them.
struct Command {
    let name: String
    let summary: String
    let usage: String
    let options: [OptionSpec]
    let run: (ParsedOptions) throws -> Void

    var helpText: String {
        var lines = ["usage: sae \(name) \(usage)", "", summary, "", "options:"]
        let all = options + [OptionSpec(name: "help", value: nil, defaultValue: nil, help: "show this help")]
        let left = all.map { "  --\($0.name)" + ($0.value.map { " \($0)" } ?? "") }
        let width = min(34, (left.map(\.count).max() ?? 0) + 2)
        for (o, l) in zip(all, left) {
            let pad = l.count < width ? String(repeating: " ", count: width - l.count) : "  "
            lines.append(l + pad + o.help + (o.defaultValue.map { " (default: \($0))" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

/// A usage mistake: printed as one line, exit status 2.
struct UsageError: Error { let message: String }

/// A failure while running (bad file, diverged training): exit status 1.
struct RunError: Error { let message: String }

/// Parsed `--name value` pairs with typed, validated accessors.
struct ParsedOptions {
    let command: String
    var values: [String: String] = [:]
    var flags: Set<String> = []

    static func parse(_ args: [String], for command: Command) throws -> ParsedOptions {
        var p = ParsedOptions(command: command.name)
        let specs = Dictionary(uniqueKeysWithValues: command.options.map { ($0.name, $0) })
        var i = 0
        while i < args.count {
            let a = args[i]
            guard a.hasPrefix("--") else { throw UsageError(message: "unexpected argument '\(a)'") }
            var name = String(a.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
            guard let spec = specs[name] else { throw UsageError(message: "unknown option '--\(name)'") }
            if spec.value == nil {
                guard inline == nil else { throw UsageError(message: "--\(name) takes no value") }
                p.flags.insert(name)
            } else {
                let v: String
                if let inline { v = inline } else {
                    i += 1
                    guard i < args.count else { throw UsageError(message: "--\(name) needs a value (\(spec.value!))") }
                    v = args[i]
                }
                guard p.values[name] == nil else { throw UsageError(message: "--\(name) given twice") }
                p.values[name] = v
            }
            i += 1
        }
        return p
    }

    func has(_ name: String) -> Bool { values[name] != nil || flags.contains(name) }
    func flag(_ name: String) -> Bool { flags.contains(name) }
    func string(_ name: String) -> String? { values[name] }

    func required(_ name: String) throws -> String {
        guard let v = values[name] else { throw UsageError(message: "--\(name) is required") }
        return v
    }

    func int(_ name: String, min lower: Int = Int.min) throws -> Int? {
        guard let s = values[name] else { return nil }
        // Accept 2_000_000, 2e6, 2M-style? Keep to integers, with optional underscores or an exponent.
        let cleaned = s.replacingOccurrences(of: "_", with: "")
        var v: Int? = Int(cleaned)
        if v == nil, let d = Double(cleaned), d.rounded() == d, abs(d) < 9e18 { v = Int(d) }
        guard let n = v else { throw UsageError(message: "--\(name) must be an integer, got '\(s)'") }
        guard n >= lower else { throw UsageError(message: "--\(name) must be at least \(lower), got \(n)") }
        return n
    }

    func double(_ name: String, min lower: Double = -.infinity, exclusiveMin: Bool = false) throws -> Double? {
        guard let s = values[name] else { return nil }
        guard let d = Double(s), d.isFinite else { throw UsageError(message: "--\(name) must be a number, got '\(s)'") }
        guard exclusiveMin ? d > lower : d >= lower else {
            throw UsageError(message: "--\(name) must be \(exclusiveMin ? "greater than" : "at least") \(lower), got \(s)")
        }
        return d
    }

    func choice(_ name: String, _ allowed: [String]) throws -> String? {
        guard let s = values[name] else { return nil }
        guard allowed.contains(s) else { throw UsageError(message: "--\(name) must be one of \(allowed.joined(separator: "|")), got '\(s)'") }
        return s
    }

    /// A path that must exist (file or folder); the error names it.
    func existingPath(_ name: String) throws -> URL? {
        guard let s = values[name] else { return nil }
        let url = URL(fileURLWithPath: s)
        guard FileManager.default.fileExists(atPath: url.path) else { throw UsageError(message: "--\(name): no such file or folder: \(s)") }
        return url
    }
}
