import Foundation
@testable import SAEModel
import XCTest

final class NPYTests: XCTestCase {
    /// Files written by NumPy 2.4 (`np.save`, `np.lib.format.write_array(version=...)`).
    enum NumPy {
        /// np.arange(6, dtype='<f4').reshape(2, 3)
        static let f4x2x3 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBAAACAQAAAoEA="
        /// np.array([-1, 0, 7], dtype='<i4')
        static let i4x3 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/////AAAAAAcAAAA="
        /// np.array([[1, 2], [65535, 0]], dtype='<u2')
        static let u2x2x2 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAIA//8AAA=="
        /// np.array(1.5, dtype='<f4')  (0-d)
        static let f4scalar = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/"
        /// np.zeros((0,), dtype='<i4')
        static let i4empty = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo="
        /// np.array([1, 2], dtype='<i8'), format version 2.0
        static let i8v2 = "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAAIAAAAAAAAA"
        /// np.array([1.25, -2], dtype='<f8'), format version 3.0
        static let f8v3 = "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD0PwAAAAAAAADA"

        static func bytes(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64)!) }
    }

    /// A version 1.0 file with the given header dict text and data bytes.
    static func npyBytes(_ dict: String, _ data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        var header = Array(dict.utf8)
        let prefix = version == 1 ? 10 : 12
        let total = (prefix + header.count + 1 + 63) / 64 * 64
        header += [UInt8](repeating: 0x20, count: total - prefix - header.count - 1) + [0x0a]
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let n = header.count
        bytes += version == 1 ? [UInt8(n & 0xff), UInt8(n >> 8)] : [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), 0, 0]
        return bytes + header + data
    }

    func testReadsNumPyFiles() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let f4 = try NPYFile(contentsOf: scratch.write("a.npy", NumPy.bytes(NumPy.f4x2x3)))
        XCTAssertEqual(f4.dtype, .f32)
        XCTAssertEqual(f4.descr, "<f4")
        XCTAssertEqual(f4.shape, [2, 3])
        XCTAssertEqual(try f4.floats(), [0, 1, 2, 3, 4, 5])
        XCTAssertThrowsError(try f4.ints())

        let i4 = try NPYFile(contentsOf: scratch.write("b.npy", NumPy.bytes(NumPy.i4x3)))
        XCTAssertEqual(i4.shape, [3])
        XCTAssertEqual(try i4.ints(), [-1, 0, 7])
        XCTAssertThrowsError(try i4.floats())

        let u2 = try NPYFile(contentsOf: scratch.write("c.npy", NumPy.bytes(NumPy.u2x2x2)))
        XCTAssertEqual(u2.dtype, .u16)
        XCTAssertEqual(try u2.ints(), [1, 2, 65535, 0])

        let scalar = try NPYFile(contentsOf: scratch.write("d.npy", NumPy.bytes(NumPy.f4scalar)))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.count, 1)
        XCTAssertEqual(try scalar.floats(), [1.5])

        let empty = try NPYFile(contentsOf: scratch.write("e.npy", NumPy.bytes(NumPy.i4empty)))
        XCTAssertEqual(empty.shape, [0])
        XCTAssertEqual(try empty.ints(), [])

        let v2 = try NPYFile(contentsOf: scratch.write("f.npy", NumPy.bytes(NumPy.i8v2)))
        XCTAssertEqual(v2.dtype, .i64)
        XCTAssertEqual(try v2.ints(), [1, 2])

        let v3 = try NPYFile(contentsOf: scratch.write("g.npy", NumPy.bytes(NumPy.f8v3)))
        XCTAssertEqual(v3.dtype, .f64)
        XCTAssertEqual(try v3.floats(), [1.25, -2])

        let u1 = try NPYFile(contentsOf: scratch.write("h.npy", Self.npyBytes(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", [0, 128, 255])))
        XCTAssertEqual(try u1.ints(), [0, 128, 255])
        let u4 = try NPYFile(contentsOf: scratch.write("i.npy", Self.npyBytes(
            "{'shape': (1L, 2L), 'fortran_order': False, \"descr\": '<u4'}", [1, 0, 0, 0, 255, 255, 255, 255])))
        XCTAssertEqual(u4.shape, [1, 2])
        XCTAssertEqual(try u4.ints(), [1, 4_294_967_295])
    }

    func testWriterMatchesNumPyByteForByte() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = scratch.file("w.npy")
        try NPYWriter.write([Float]([0, 1, 2, 3, 4, 5]), shape: [2, 3], to: url)
        XCTAssertEqual(Array(try Data(contentsOf: url)), NumPy.bytes(NumPy.f4x2x3))
        try NPYWriter.write([Int32]([-1, 0, 7]), shape: [3], to: url)
        XCTAssertEqual(Array(try Data(contentsOf: url)), NumPy.bytes(NumPy.i4x3))
        try NPYWriter.write([UInt16]([1, 2, 65535, 0]), shape: [2, 2], to: url)
        XCTAssertEqual(Array(try Data(contentsOf: url)), NumPy.bytes(NumPy.u2x2x2))
        try NPYWriter.write([Float]([1.5]), shape: [], to: url)
        XCTAssertEqual(Array(try Data(contentsOf: url)), NumPy.bytes(NumPy.f4scalar))
        try NPYWriter.write([Int32](), shape: [0], to: url)
        XCTAssertEqual(Array(try Data(contentsOf: url)), NumPy.bytes(NumPy.i4empty))
        XCTAssertEqual(scratch.contents(), ["w.npy"], "no temporary file left")

        XCTAssertThrowsError(try NPYWriter.write([Float]([1, 2]), shape: [3], to: url)) { error in
            guard case .invalidArray(url.path, _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
    }

    func testWriterWritesEveryDTypeTheReadmeLists() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = scratch.file("w.npy")
        func check(_ descr: String, _ dtype: DType, shape: [Int], dataBytes: [UInt8],
                   line: UInt = #line) throws {
            let bytes = Array(try Data(contentsOf: url))
            XCTAssertEqual(Array(bytes.suffix(dataBytes.count)), dataBytes, descr, line: line)
            XCTAssertEqual(bytes.count % 64, dataBytes.count % 64, "data starts at a multiple of 64", line: line)
            let file = try NPYFile(contentsOf: url)
            XCTAssertEqual(file.descr, descr, line: line)
            XCTAssertEqual(file.dtype, dtype, line: line)
            XCTAssertEqual(file.shape, shape, line: line)
        }
        try NPYWriter.write([Double]([1.25, -2]), shape: [2], to: url)
        // The data bytes of NumPy's np.array([1.25, -2], dtype='<f8').
        try check("<f8", .f64, shape: [2], dataBytes: Array(NumPy.bytes(NumPy.f8v3).suffix(16)))
        XCTAssertEqual(try NPYFile(contentsOf: url).floats(), [1.25, -2])

        try NPYWriter.write([Int64]([1, 2]), shape: [2], to: url)
        try check("<i8", .i64, shape: [2], dataBytes: Array(NumPy.bytes(NumPy.i8v2).suffix(16)))
        try NPYWriter.write([Int64]([Int64.min, -1, Int64.max]), shape: [3, 1], to: url)
        XCTAssertEqual(try NPYFile(contentsOf: url).ints(), [Int.min, -1, Int.max])

        try NPYWriter.write([UInt8]([0, 128, 255]), shape: [3], to: url)
        try check("|u1", .u8, shape: [3], dataBytes: [0, 128, 255])
        XCTAssertEqual(try NPYFile(contentsOf: url).ints(), [0, 128, 255])

        try NPYWriter.write([UInt32]([1, 4_294_967_295]), shape: [1, 2], to: url)
        try check("<u4", .u32, shape: [1, 2], dataBytes: [1, 0, 0, 0, 255, 255, 255, 255])
        XCTAssertEqual(try NPYFile(contentsOf: url).ints(), [1, 4_294_967_295])

        // The header text NumPy writes for each (only the descr differs from '<f4').
        let f4Header = Array(NumPy.bytes(NumPy.f4x2x3).prefix(128))
        for (descr, write) in [("<f8", { try NPYWriter.write([Double](repeating: 0, count: 6), shape: [2, 3], to: url) }),
                               ("<i8", { try NPYWriter.write([Int64](repeating: 0, count: 6), shape: [2, 3], to: url) }),
                               ("|u1", { try NPYWriter.write([UInt8](repeating: 0, count: 6), shape: [2, 3], to: url) }),
                               ("<u4", { try NPYWriter.write([UInt32](repeating: 0, count: 6), shape: [2, 3], to: url) })]
            as [(String, () throws -> Void)] {
            try write()
            var expected = f4Header
            expected.replaceSubrange(21..<24, with: Array(descr.utf8))
            XCTAssertEqual(Array(try Data(contentsOf: url).prefix(128)), expected, descr)
        }
        XCTAssertEqual(scratch.contents(), ["w.npy"], "no temporary file left")

        XCTAssertThrowsError(try NPYWriter.write([UInt8](), shape: [Int.max, 2, 0], to: url)) { error in
            guard case .invalidArray(url.path, _)? = error as? NPYError else { return XCTFail("\(error)") }
        }
    }

    /// Headers whose `product(shape)` or `product(shape) * itemsize` overflows `Int` give
    /// `shapeTooLarge` through every reader of .npy files, not a trap.
    func testShapesWhoseByteCountOverflowsAreRejected() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let hostile: [(dict: String, shape: [Int], descr: String)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", [4_294_967_296, 4_294_967_296], "<f4"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }", [4_611_686_018_427_387_904], "<f4"),
            ("{'descr': '<u2', 'fortran_order': False, 'shape': (4611686018427387904,), }", [4_611_686_018_427_387_904], "<u2"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (3, 3074457345618258603), }", [3, 3_074_457_345_618_258_603], "<i8"),
            ("{'descr': '|u1', 'fortran_order': False, 'shape': (9223372036854775807, 2, 0), }", [Int.max, 2, 0], "|u1"),
        ]
        for (i, h) in hostile.enumerated() {
            let url = scratch.write("hostile\(i).npy", Self.npyBytes(h.dict, [0, 0, 0, 0, 0, 0, 0, 0]))
            XCTAssertThrowsError(try NPYFile(contentsOf: url), h.dict) { error in
                XCTAssertEqual(error as? NPYError, .shapeTooLarge(file: url.path, shape: h.shape, descr: h.descr))
                XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains("too large"), "\(error)")
            }
            XCTAssertThrowsError(try TokenDataset(contentsOf: url), h.dict) { error in
                XCTAssertEqual(error as? TokenDatasetError,
                               .npy(.shapeTooLarge(file: url.path, shape: h.shape, descr: h.descr)))
            }
            XCTAssertThrowsError(try FileActivationSource(url: url), h.dict) { error in
                XCTAssertEqual(error as? NPYError, .shapeTooLarge(file: url.path, shape: h.shape, descr: h.descr))
            }
        }
        // A zero dimension first keeps the product at zero: a valid empty array.
        let empty = try NPYFile(contentsOf: scratch.write("empty.npy", Self.npyBytes(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4611686018427387904), }", [])))
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(try empty.floats(), [])
    }

    func testRoundTripOfALargeArray() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = scratch.file("big.npy")
        let values = (0..<100_000).map { Float($0) * 0.25 - 7 }
        try NPYWriter.write(values, shape: [1000, 100], to: url)
        let file = try NPYFile(contentsOf: url)
        XCTAssertEqual(file.shape, [1000, 100])
        XCTAssertEqual(try file.floats(), values)
    }

    private func assertFails(_ bytes: [UInt8], _ check: (NPYError, String) -> Bool,
                             file: StaticString = #filePath, line: UInt = #line) {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = scratch.write("bad.npy", bytes)
        XCTAssertThrowsError(try NPYFile(contentsOf: url), file: file, line: line) { error in
            guard let e = error as? NPYError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(check(e, url.path), "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(url.path), "message names the file: \(e)", file: file, line: line)
        }
    }

    func testMalformedFilesGiveTheirErrors() {
        let f4 = [UInt8](repeating: 0, count: 8)
        assertFails(Self.npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", f4)) {
            $0 == .fortranOrder(file: $1)
        }
        assertFails(Self.npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4)) {
            $0 == .bigEndian(file: $1, descr: ">f4")
        }
        assertFails(Self.npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f4)) {
            $0 == .unsupportedDType(file: $1, descr: "<c8")
        }
        assertFails(Self.npyBytes("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", f4)) {
            $0 == .unsupportedDType(file: $1, descr: "structured dtype")
        }
        assertFails(Self.npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4)) {
            $0 == .sizeMismatch(file: $1, shape: [3], descr: "<f4", expectedBytes: 12, actualBytes: 8)
        }
        assertFails(Self.npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4)) {
            $0 == .sizeMismatch(file: $1, shape: [1], descr: "<f4", expectedBytes: 4, actualBytes: 8)
        }
        assertFails(Self.npyBytes("{'descr': '<f4', 'fortran_order': False}", f4)) {
            $0 == .badHeader(file: $1, reason: "no tuple 'shape' key")
        }
        assertFails(Self.npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", f4)) {
            if case .badHeader = $0, !$1.isEmpty { return true } else { return false }
        }
        assertFails(Self.npyBytes("not a dict", f4)) {
            if case .badHeader = $0, !$1.isEmpty { return true } else { return false }
        }
        var v4 = Self.npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4)
        v4[6] = 4
        assertFails(v4) { $0 == .unsupportedVersion(file: $1, major: 4, minor: 0) }
        assertFails(Array("PK\u{3}\u{4} not numpy at all".utf8)) {
            if case .notNPY = $0, !$1.isEmpty { return true } else { return false }
        }
        assertFails([0x93, 0x4e]) {
            if case .notNPY = $0, !$1.isEmpty { return true } else { return false }
        }
        var long = Self.npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [])
        long[8] = 0xff
        long[9] = 0x7f
        assertFails(long) {
            if case .notNPY = $0, !$1.isEmpty { return true } else { return false }
        }
    }
}
