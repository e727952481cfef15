/// A JSON value from a `cfg.json`, kept as it was read so keys SAEKit does not model are
/// written back unchanged. Objects keep their keys in file order; integers stay `Int`s and
/// numbers written with a fraction or exponent stay `Double`s (`2.0` is written back as `2.0`).
public indirect enum SAEConfigValue: Sendable, Equatable, CustomStringConvertible {
    case object(SAEConfigObject)
    case array([SAEConfigValue])
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
    case null

    /// The value as compact JSON in the style of Python's `json.dumps` (`", "` and `": "`
    /// separators). Non-finite doubles, which JSON cannot hold, are written as `null`.
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
                out += StrictJSON.quoted(m.key)
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
        case let .string(s): out += StrictJSON.quoted(s)
        case let .integer(v): out += String(v)
        case let .double(v):
            if !v.isFinite { out += "null"; return }
            var text = "\(v)"  // shortest text that reads back to the same Double
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { text += ".0" }
            out += text
        case let .bool(b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

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
    /// The number as a Double, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case let .integer(v): return Double(v)
        case let .double(d): return d
        default: return nil
        }
    }
    /// The object, if this is one.
    public var objectValue: SAEConfigObject? { if case let .object(o) = self { return o }; return nil }

    /// A short name of the value's kind for error messages.
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

    init(_ json: StrictJSON) {
        switch json {
        case let .object(members): self = .object(SAEConfigObject(members.map { ($0.key, SAEConfigValue($0.value)) }))
        case let .array(items): self = .array(items.map(SAEConfigValue.init))
        case let .string(s): self = .string(s)
        case let .integer(v): self = .integer(v)
        case let .double(d): self = .double(d)
        case let .bool(b): self = .bool(b)
        case .null: self = .null
        }
    }
}

/// A JSON object with its keys in order. Setting a key that exists replaces its value in
/// place; setting a new key appends it; setting `nil` removes it.
public struct SAEConfigObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var members: [(key: String, value: SAEConfigValue)]

    public init(_ members: [(key: String, value: SAEConfigValue)] = []) { self.members = members }

    public init(dictionaryLiteral elements: (String, SAEConfigValue)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }

    public var keys: [String] { members.map(\.key) }
    public var isEmpty: Bool { members.isEmpty }

    public subscript(key: String) -> SAEConfigValue? {
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
    public mutating func removeValue(forKey key: String) -> SAEConfigValue? {
        guard let i = members.firstIndex(where: { $0.key == key }) else { return nil }
        return members.remove(at: i).value
    }

    public static func == (a: SAEConfigObject, b: SAEConfigObject) -> Bool {
        a.members.count == b.members.count && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Equal as JSON objects: the same keys with equal values, in any order (nested objects too).
    public func isEquivalent(to other: SAEConfigObject) -> Bool {
        guard members.count == other.members.count else { return false }
        return members.allSatisfy { m in other[m.key].map { Self.equivalent(m.value, $0) } ?? false }
    }

    private static func equivalent(_ a: SAEConfigValue, _ b: SAEConfigValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): return x.isEquivalent(to: y)
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { equivalent($0, $1) }
        default: return a == b
        }
    }
}
