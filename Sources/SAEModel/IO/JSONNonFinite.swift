import Foundation

/// SAEKit's one rule for numbers JSON cannot hold (NaN, +infinity, -infinity: a dead
/// feature's mean loss, an undefined correlation, a diverged loss).
///
/// - **Written** as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, everywhere SAEKit
///   writes JSON (`analysis.json` through `AnalysisJSON`, `metrics.json` through
///   `SAEMetrics.json()`, the training log through `TrainingLogRecord.jsonLine()`, and
///   `cfg.json` through `JSONValue`). The file stays valid JSON, so `JSONSerialization`,
///   Python's `json` and JavaScript's `JSON.parse` all load it; the spellings are the
///   tokens Python's `json.dump` uses, so `float(v)` in Python and `Number(v)` in
///   JavaScript turn the string back into the number. (A checkpoint's `state.json` holds
///   none: saving a non-finite scale or threshold throws.)
/// - **Read** back from those strings where a number is expected (`decodingStrategy`,
///   `JSONValue.doubleValue`), and also as the bare tokens `NaN`, `Infinity`, `-Infinity`
///   that Python's `json.dump` writes by default (a `cfg.json` saved by SAELens).
package enum JSONNonFinite {
    package static let nan = "NaN"
    package static let positiveInfinity = "Infinity"
    package static let negativeInfinity = "-Infinity"

    /// The `JSONEncoder` strategy of the rule.
    package static var encodingStrategy: JSONEncoder.NonConformingFloatEncodingStrategy {
        .convertToString(positiveInfinity: positiveInfinity, negativeInfinity: negativeInfinity, nan: nan)
    }

    /// The `JSONDecoder` strategy of the rule.
    package static var decodingStrategy: JSONDecoder.NonConformingFloatDecodingStrategy {
        .convertFromString(positiveInfinity: positiveInfinity, negativeInfinity: negativeInfinity, nan: nan)
    }

    /// The string `v` is written as, or nil when `v` is finite (written as a number).
    package static func text(of v: Double) -> String? {
        if v.isNaN { return nan }
        if v.isInfinite { return v > 0 ? positiveInfinity : negativeInfinity }
        return nil
    }

    /// The number a string of the rule stands for, or nil for any other string.
    package static func value(of text: String) -> Double? {
        switch text {
        case nan: return .nan
        case positiveInfinity: return .infinity
        case negativeInfinity: return -.infinity
        default: return nil
        }
    }
}
