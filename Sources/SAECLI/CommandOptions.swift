import Foundation
import SAEKernels
import SAEModel

/// One option of a command: `--name VALUE` (or `--name=VALUE`), or a flag `--name`.
struct OptionSpec {
    let name: String
    /// The value's placeholder (e.g. "DIR"); nil for a flag.
    let value: String?
    /// Shown in help; nil: no default (optional or required, as `help` says).
    let defaultValue: String?
    let help: String
}

extension OptionSpec {
    /// How a headerless token file is laid out (a .npy file's header says it itself).
    static let tokenDType = OptionSpec(
        name: "token-dtype", value: "uint16|uint32", defaultValue: "uint16 when the model's vocabulary fits in 16 bits, else uint32",
        help: "element type of headerless (.bin) token files")
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
                // An empty value (`--out ""`) would mean the current folder or nothing at all.
                guard !v.isEmpty else { throw UsageError(message: "--\(name) needs a value (\(spec.value!)), got an empty one") }
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

    /// An integer option in `lower...upper`; the error names the flag, the bound and the value.
    func int(_ name: String, min lower: Int = Int.min, max upper: Int = Int.max) throws -> Int? {
        guard let s = values[name] else { return nil }
        // Accept 2_000_000, 2e6, 2M-style? Keep to integers, with optional underscores or an exponent.
        let cleaned = s.replacingOccurrences(of: "_", with: "")
        var v: Int? = Int(cleaned)
        if v == nil, let d = Double(cleaned), d.rounded() == d, abs(d) < 9e18 { v = Int(d) }
        guard let n = v else { throw UsageError(message: "--\(name) must be an integer, got '\(s)'") }
        guard n >= lower else { throw UsageError(message: "--\(name) must be at least \(lower), got \(n)") }
        guard n <= upper else { throw UsageError(message: "--\(name) must be at most \(upper), got \(n)") }
        return n
    }

    /// A finite number option above `lower` (or at least it) and at most `upper`.
    func double(_ name: String, min lower: Double = -.infinity, exclusiveMin: Bool = false,
                max upper: Double = .infinity) throws -> Double? {
        guard let s = values[name] else { return nil }
        guard let d = Double(s), d.isFinite else { throw UsageError(message: "--\(name) must be a number, got '\(s)'") }
        guard exclusiveMin ? d > lower : d >= lower else {
            throw UsageError(message: "--\(name) must be \(exclusiveMin ? "greater than" : "at least") \(lower), got \(s)")
        }
        guard d <= upper else { throw UsageError(message: "--\(name) must be at most \(upper), got \(s)") }
        return d
    }

    func choice(_ name: String, _ allowed: [String]) throws -> String? {
        guard let s = values[name] else { return nil }
        guard allowed.contains(s) else { throw UsageError(message: "--\(name) must be one of \(allowed.joined(separator: "|")), got '\(s)'") }
        return s
    }

    /// A path that must exist (file or folder); the error names it.
    /// `--threads`: at least 1, at most `maxThreads` (more would only add scheduling cost).
    func threads() throws -> Int {
        try int("threads", min: 1, max: ParsedOptions.maxThreads) ?? Parallel.defaultThreads
    }
    static let maxThreads = 1024

    /// `--token-dtype`: the element type of headerless token files, nil for the default rule.
    func tokenElementType() throws -> DType? {
        switch try choice("token-dtype", ["uint16", "uint32"]) {
        case "uint16": return .u16
        case "uint32": return .u32
        default: return nil
        }
    }

    func existingPath(_ name: String) throws -> URL? {
        guard let s = values[name] else { return nil }
        let url = URL(fileURLWithPath: s)
        guard FileManager.default.fileExists(atPath: url.path) else { throw UsageError(message: "--\(name): no such file or folder: \(s)") }
        return url
    }
}
