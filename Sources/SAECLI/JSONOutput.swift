import Foundation
import SAEModel

/// A command's machine-readable result: one JSON object on stdout (progress and notes go to
/// stderr), keys sorted so the output is stable. Non-finite numbers follow SAEKit's one
/// JSON rule (`JSONNonFinite`: the strings "NaN", "Infinity", "-Infinity").
enum JSONOutput {
    static func print(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: conforming(object),
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    /// `value` with every non-finite Double or Float replaced by its `JSONNonFinite` string.
    static func conforming(_ value: Any) -> Any {
        switch value {
        case let d as [String: Any]: return d.mapValues(conforming)
        case let a as [Any]: return a.map(conforming)
        case let x as Double: return JSONNonFinite.text(of: x) ?? x
        case let x as Float: return JSONNonFinite.text(of: Double(x)) ?? x
        default: return value
        }
    }
}
