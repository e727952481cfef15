import Foundation
import XCTest
import SAEKernels
@testable import SAEModel

/// `FileActivationSource`: rows of the last dimension from .npy and safetensors files, every
/// float dtype converted, cycling, and resuming from a checkpoint state.
final class FileActivationSourceTests: XCTestCase {
    let dir = ScratchDirectory("saekit-file-source")
    override func tearDown() { dir.remove() }

    /// Values exact in F16 and BF16 (small multiples of 1/8), shape [2, 5, 3]: 10 rows of 3.
    let values: [Float] = (0..<30).map { Float($0 % 11) / 8 - 0.5 }

    func drain(_ s: inout FileActivationSource, rows: Int) throws -> [Float] {
        var out = [Float](repeating: .nan, count: rows * s.dIn)
        var got = 0
        while got < rows {
            let n = try out.withUnsafeMutableBufferPointer { try s.fill($0.baseAddress! + got * s.dIn, maxRows: rows - got) }
            if n == 0 { break }
            got += n
        }
        return Array(out[0..<(got * s.dIn)])
    }

    func testEveryFormatAndDtypeGivesTheSameRows() throws {
        let npy = dir.url.appendingPathComponent("acts.npy")
        try NPYWriter.write(values, shape: [2, 5, 3], to: npy)
        var w = SafetensorsWriter()
        for dtype in [DType.f32, .f16, .bf16, .f64] { try w.add("acts_\(dtype)", shape: [2, 5, 3], floats: values, as: dtype) }
        try w.add("ids", shape: [4], ints: [1, 2, 3, 4], as: .i32)
        let st = dir.url.appendingPathComponent("acts.safetensors")
        try w.write(to: st)

        var fromNPY = try FileActivationSource(url: npy)
        XCTAssertEqual(fromNPY.dIn, 3)
        XCTAssertEqual(fromNPY.rowCount, 10)
        XCTAssertEqual(try drain(&fromNPY, rows: 20), values, "npy f4, then the end")
        for dtype in [DType.f32, .f16, .bf16, .f64] {
            var s = try FileActivationSource(url: st, tensor: "acts_\(dtype)")
            XCTAssertEqual(try drain(&s, rows: 20), values, "\(dtype)")
        }
        XCTAssertThrowsError(try FileActivationSource(url: st, tensor: "ids")) { XCTAssertTrue("\($0)".contains("floating point"), "\($0)") }
        XCTAssertThrowsError(try FileActivationSource(url: st, tensor: "nope")) { XCTAssertTrue("\($0)".contains("no tensor 'nope'"), "\($0)") }
    }

    func testCyclingAndResumingFromACheckpointState() throws {
        let npy = dir.url.appendingPathComponent("cycle.npy")
        try NPYWriter.write(values, shape: [10, 3], to: npy)
        var cycling = try FileActivationSource(url: npy, cycle: true)
        let first = try drain(&cycling, rows: 7)
        let state = cycling.checkpointState()
        let rest = try drain(&cycling, rows: 18)
        XCTAssertEqual(first + rest, values + values + Array(values[0..<15]), "wraps around after row 10")

        var resumed = try FileActivationSource(url: npy, cycle: true)
        try resumed.restore(checkpointState: state)
        XCTAssertEqual(try drain(&resumed, rows: 18), rest, "the same rows after a restore")
        XCTAssertThrowsError(try resumed.restore(checkpointState: ["next_row": "11"]))
        XCTAssertThrowsError(try resumed.restore(checkpointState: [:]))
    }

    func testNonFiniteRowsAreAnErrorNamingTheRow() throws {
        var bad = values
        bad[3 * 4 + 1] = .infinity
        let npy = dir.url.appendingPathComponent("bad.npy")
        try NPYWriter.write(bad, shape: [10, 3], to: npy)
        var s = try FileActivationSource(url: npy)
        XCTAssertThrowsError(try drain(&s, rows: 10)) { XCTAssertTrue("\($0)".contains("row 4"), "\($0)") }
    }
}
