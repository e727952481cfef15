/// A JSON value (RFC 8259) as SAEKit reads and writes it: the one JSON value type of the
/// package, used for `cfg.json` (kept as read, so keys SAEKit does not model are written
/// back unchanged), safetensors headers, `config.json` of a model and
/// `activation_scaler.json`.
///
/// Reading (`parse`) is stricter than `JSONSerialization`: objects keep their keys in file
/// order with duplicates preserved (so a caller can report a duplicated name), integers
/// stay exact `Int`s and numbers written with a fraction or exponent stay `Double`s (`2.0`
/// is written back as `2.0`). Non-finite numbers follow `JSONNonFinite` (the bare tokens
/// Python's `json.dump` writes are read; they are written as strings).
///
/// Writing (`jsonText`): compact JSON in the style of Python's `json.dumps` (`", "` and
/// `": "` separators).
public indirect enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case object(JSONObject)
    case array([JSONValue])
    case string(String)
    /// A number written without fraction or exponent that fits in an `Int`.
    case integer(Int)
    /// Any other number.
    case double(Double)
    case bool(Bool)
    case null

    // MARK: - Reading values

    /// The string, if this is one.
    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    /// The boolean, if this is one.
    public var boolValue: Bool? { if case let .bool(b) = self { return b }; return nil }
    /// The integer, if this is an integer or a double with an integral value.
    public var intValue: Int? {
        switch self {
        case let .integer(v): return v
        case let .double(d) where d.rounded() == d && d.magnitude < 0x1p62: return Int(d)
        default: return nil
        }
    }
    /// The number as a Double, if this is a number (or a non-finite number spelled as
    /// `JSONNonFinite` writes it: `"NaN"`, `"Infinity"`, `"-Infinity"`).
    public var doubleValue: Double? {
        switch self {
        case let .integer(v): return Double(v)
        case let .double(d): return d
        case let .string(s): return JSONNonFinite.value(of: s)
        default: return nil
        }
    }
    /// The object, if this is one.
    public var objectValue: JSONObject? { if case let .object(o) = self { return o }; return nil }

    /// A short name of the value's kind for error messages ("object", "string", ...).
    public var kind: String {
        switch self {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        case .integer, .double: return "number"
        case .bool: return "boolean"
        case .null: return "null"
        }
    }

    // MARK: - Writing

    /// The value as compact JSON in the style of Python's `json.dumps` (`", "` and `": "`
    /// separators). Non-finite doubles, which JSON cannot hold, are written as
    /// `JSONNonFinite` says (the strings `"NaN"`, `"Infinity"`, `"-Infinity"`).
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    public var description: String { jsonText }

    func write(to out: inout String) {
        switch self {
        case let .object(o):
            out += "{"
            for (i, m) in o.members.enumerated() {
                if i > 0 { out += ", " }
                out += JSONValue.quoted(m.key)
                out += ": "
                m.value.write(to: &out)
            }
            out += "}"
        case let .array(a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += ", " }
                v.write(to: &out)
            }
            out += "]"
        case let .string(s): out += JSONValue.quoted(s)
        case let .integer(v): out += String(v)
        case let .double(v):
            if let text = JSONNonFinite.text(of: v) { out += JSONValue.quoted(text); return }
            var text = "\(v)"  // shortest text that reads back to the same Double
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { text += ".0" }
            out += text
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// `s` as a JSON string literal (quotes included), escaping `"`, `\` and control
    /// characters; everything else is written as UTF-8.
    package static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: - Parsing

    package struct ParseError: Error, CustomStringConvertible {
        /// Byte offset of the problem in the parsed text.
        package let offset: Int
        package let message: String
        package var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses one JSON value from UTF-8 `bytes`; only whitespace may follow it.
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = Parser(bytes: bytes.bindMemory(to: UInt8.self))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position != parser.bytes.count {
            throw parser.error("unexpected trailing characters")
        }
        return value
    }

    package static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        func error(_ message: String) -> ParseError { ParseError(offset: position, message: message) }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0a, 0x0d: position += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws -> JSONValue {
            guard depth < 512 else { throw error("nesting too deep") }
            guard position < bytes.count else { throw error("unexpected end of text") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "N"): try expectLiteral(JSONNonFinite.nan); return .double(.nan)
            case UInt8(ascii: "I"): try expectLiteral(JSONNonFinite.positiveInfinity); return .double(.infinity)
            case UInt8(ascii: "-") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "I"):
                try expectLiteral(JSONNonFinite.negativeInfinity); return .double(-.infinity)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character '\(Unicode.Scalar(bytes[position]))'")
            }
        }

        mutating func expectLiteral(_ literal: String) throws {
            for c in literal.utf8 {
                guard position < bytes.count, bytes[position] == c else { throw error("invalid literal") }
                position += 1
            }
        }

        mutating func parseObject(depth: Int) throws -> JSONValue {
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(JSONObject(members)) }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                guard position < bytes.count else { throw error("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(JSONObject(members)) }
                throw error("expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws -> JSONValue {
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw error("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                throw error("expected ',' or ']'")
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[position]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid \\u escape")
                }
                v = v * 16 + d
                position += 1
            }
            return v
        }

        mutating func parseString() throws -> String {
            position += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard position < bytes.count else { throw error("unterminated string") }
                let c = bytes[position]
                if c == UInt8(ascii: "\"") { position += 1; break }
                if c < 0x20 { throw error("control character in string") }
                if c != UInt8(ascii: "\\") { out.append(c); position += 1; continue }
                position += 1
                guard position < bytes.count else { throw error("unterminated escape") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xd800..<0xdc00).contains(code) {
                        guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw error("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                    } else if (0xdc00..<0xe000).contains(code) {
                        throw error("unpaired surrogate")
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(code)!).utf8))
                default: throw error("invalid escape '\\\(Unicode.Scalar(e))'")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
            return s
        }

        mutating func parseNumber() throws -> JSONValue {
            let start = position
            var isInteger = true
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            func digits(_ p: inout Int) -> Int {
                let s = p
                while p < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[p]) { p += 1 }
                return p - s
            }
            let intStart = position
            guard digits(&position) > 0 else { throw error("invalid number") }
            if bytes[intStart] == UInt8(ascii: "0"), position - intStart > 1 { throw error("leading zero in number") }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard digits(&position) > 0 else { throw error("invalid number") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard digits(&position) > 0 else { throw error("invalid number") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if isInteger, let v = Int(text) { return .integer(v) }
            guard let d = Double(text) else { throw error("invalid number") }
            return .double(d)
        }
    }
}

/// A JSON object with its keys in order (duplicates, as read, are kept; the subscript sees
/// the first). Setting a key that exists replaces its value in place; setting a new key
/// appends it; setting `nil` removes it.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) { self.members = members }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }

    public var keys: [String] { members.map(\.key) }
    public var isEmpty: Bool { members.isEmpty }

    public subscript(key: String) -> JSONValue? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// Removes `key` and returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = members.firstIndex(where: { $0.key == key }) else { return nil }
        return members.remove(at: i).value
    }

    /// Equal member by member, in order.
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Equal as JSON objects: the same keys with equal values, in any order (nested objects too).
    public func isEquivalent(to other: JSONObject) -> Bool {
        guard members.count == other.members.count else { return false }
        return members.allSatisfy { m in other[m.key].map { Self.equivalent(m.value, $0) } ?? false }
    }

    private static func equivalent(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): return x.isEquivalent(to: y)
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { equivalent($0, $1) }
        default: return a == b
        }
    }
}
