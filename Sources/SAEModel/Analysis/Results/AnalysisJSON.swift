import Foundation

/// The JSON form of analysis results.
///
/// NaN-safe: a non-finite Float or Double (a dead feature's mean loss, an undefined
/// correlation) is written as `JSONNonFinite` says (the string `"NaN"`, `"Infinity"` or
/// `"-Infinity"`) instead of failing the encode, and read back as the number. Keys are
/// sorted, so the same result always gives the same bytes.
public enum AnalysisJSON {
    /// A `JSONEncoder` with the NaN-safe strategy and sorted keys.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = JSONNonFinite.encodingStrategy
        return e
    }

    /// The matching `JSONDecoder`.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = JSONNonFinite.decodingStrategy
        return d
    }

    /// The JSON bytes of `value`.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        try encoder(pretty: pretty).encode(value)
    }

    /// Writes `value` as JSON to `url` atomically (temporary file, then rename).
    public static func write<T: Encodable>(_ value: T, to url: URL, pretty: Bool = false) throws {
        let data = try encode(value, pretty: pretty)
        try AtomicFile.write(to: url) { out in try out.append([UInt8](data)) }
    }

    /// Reads a value written by `write`.
    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        try decoder().decode(type, from: Data(contentsOf: url))
    }
}
