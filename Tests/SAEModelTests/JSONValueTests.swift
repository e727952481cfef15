import Foundation
import XCTest
@testable import SAEModel

/// `JSONValue` (the one JSON value type) and `JSONNonFinite` (the one rule for NaN and
/// infinities in JSON).
final class JSONValueTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    func testObjectsKeepOrderDuplicatesAndExactIntegers() throws {
        let v = try parse(#"{"b": 1, "a": 2.0, "b": [true, null, "x\n"], "big": 9007199254740993}"#)
        let o = try XCTUnwrap(v.objectValue)
        XCTAssertEqual(o.keys, ["b", "a", "b", "big"])
        XCTAssertEqual(o["b"], .integer(1), "the subscript sees the first of duplicated keys")
        XCTAssertEqual(o["a"], .double(2))
        XCTAssertEqual(o["big"], .integer(9_007_199_254_740_993))
        XCTAssertEqual(v.jsonText, #"{"b": 1, "a": 2.0, "b": [true, null, "x\n"], "big": 9007199254740993}"#)
    }

    func testBadTextThrowsWithTheByteOffset() {
        for (text, offset) in [("{\"a\": 1,}", 8), ("[1 2]", 3), ("Nan", 2), ("-Inf", 4), ("01", 2)] {
            XCTAssertThrowsError(try parse(text), text) { error in
                guard let e = error as? JSONValue.ParseError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.offset, offset, "\(text): \(e)")
            }
        }
    }

    /// Python's `json.dump` writes NaN and the infinities as bare tokens (a `cfg.json` saved
    /// by SAELens): they are read as numbers.
    func testReadsPythonsBareNonFiniteTokens() throws {
        let v = try parse(#"[NaN, Infinity, -Infinity, -1.5]"#)
        guard case let .array(items) = v else { return XCTFail("\(v)") }
        let numbers = items.map { $0.doubleValue }
        XCTAssertTrue(numbers[0]!.isNaN)
        XCTAssertEqual(numbers[1], .infinity)
        XCTAssertEqual(numbers[2], -.infinity)
        XCTAssertEqual(numbers[3], -1.5)
    }

    /// Written as the strings "NaN", "Infinity", "-Infinity": valid JSON that
    /// `JSONSerialization` loads, read back as the numbers.
    func testWritesNonFiniteNumbersAsTheRuleSays() throws {
        let v = JSONValue.array([.double(.nan), .double(.infinity), .double(-.infinity), .double(0.25)])
        XCTAssertEqual(v.jsonText, #"["NaN", "Infinity", "-Infinity", 0.25]"#)
        let loaded = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(v.jsonText.utf8)) as? [Any])
        XCTAssertEqual(loaded[0] as? String, "NaN")
        guard case let .array(back) = try parse(v.jsonText) else { return XCTFail() }
        XCTAssertTrue(back[0].doubleValue!.isNaN)
        XCTAssertEqual(back[1].doubleValue, .infinity)
        XCTAssertEqual(back[2].doubleValue, -.infinity)
        XCTAssertNil(JSONValue.string("nan").doubleValue, "one spelling only")
    }

    /// analysis.json, metrics.json and the training log spell them the same way.
    func testEncodersFollowTheSameRule() throws {
        let analysis = String(decoding: try AnalysisJSON.encode([Float.nan, .infinity, -.infinity]), as: UTF8.self)
        XCTAssertEqual(analysis, #"["NaN","Infinity","-Infinity"]"#)
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = JSONNonFinite.encodingStrategy
        XCTAssertEqual(String(decoding: try e.encode([Double.nan]), as: UTF8.self), String(analysis.prefix(6)) + "]")
        let back = try AnalysisJSON.decoder().decode([Float].self, from: Data(analysis.utf8))
        XCTAssertTrue(back[0].isNaN)
        XCTAssertEqual(Array(back[1...]), [.infinity, -.infinity])
    }
}
