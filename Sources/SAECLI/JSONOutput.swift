import Foundation

/// A command's machine-readable result: one JSON object on stdout (progress and notes go to
/// stderr), keys sorted so the output is stable.
enum JSONOutput {
    static func print(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}
