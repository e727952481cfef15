import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

final class TokenDatasetTests: XCTestCase {
    let eval = Fixtures.url("tiny-gelu-1l/tokens-eval.bin")

    private func u16File(_ scratch: ScratchDirectory, _ name: String, _ ids: [UInt16]) -> URL {
        scratch.write(name, ids.withUnsafeBytes { Array($0) })
    }

    func testEvalTokensOpenAndValidate() throws {
        let data = try TokenDataset(contentsOf: eval, vocabSize: 4096)
        XCTAssertEqual(data.elementType, .u16)
        XCTAssertEqual(data.count, 937_614 / 2)
        try data.validate()
        XCTAssertEqual(try data.tokens(in: 0..<5), [0, 584, 33, 807, 13], "each source file is preceded by id 0")
        XCTAssertThrowsError(try data.validate(vocabSize: 1000)) { error in
            guard case let .idOutOfVocabulary(file, position, id, 1000)? = error as? TokenDatasetError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(file, self.eval.path)
            XCTAssertEqual(try? data.tokens(in: position..<(position + 1)), [Int32(id)])
            XCTAssertTrue("\(error)".contains("position \(position)"), "\(error)")
        }
    }

    /// The reference sequences are BOS + 127 eval tokens taken at arbitrary offsets.
    func testContextsAtATokenOffsetMatchTheReferenceSequences() throws {
        let data = try TokenDataset(contentsOf: eval, vocabSize: 4096)
        let reference = try SafetensorsFile(contentsOf: Fixtures.url("tiny-gelu-1l/reference.safetensors"))
        let tokens = try reference.ints("tokens").map(Int32.init)
        for (row, offset) in [221_774, 239_881, 353_932, 97_504].enumerated() {
            let contexts = try data.contexts(length: 128, bos: 0, startingAt: offset)
            XCTAssertEqual(contexts.tokenOffset(ofContext: 0), offset)
            XCTAssertEqual(try contexts.context(0), Array(tokens[(row * 128)..<((row + 1) * 128)]), "row \(row)")
        }
    }

    /// With BOS, contexts tile the stream: dropping the added BOS and concatenating gives
    /// the stream back.
    func testBOSContextsTileTheEvalStream() throws {
        let data = try TokenDataset(contentsOf: eval)
        let contexts = try data.contexts(length: 128, bos: 0)
        XCTAssertGreaterThan(contexts.count, 3600)
        var rebuilt: [Int32] = []
        for i in 0..<contexts.count {
            let c = try contexts.context(i)
            XCTAssertEqual(c.count, 128)
            XCTAssertEqual(c[0], 0)
            XCTAssertEqual(contexts.tokenOffset(ofContext: i), rebuilt.count)
            let streamStartsWithBOS = try data.tokens(in: rebuilt.count..<(rebuilt.count + 1)) == [0]
            rebuilt += streamStartsWithBOS ? c : Array(c.dropFirst())
        }
        XCTAssertEqual(rebuilt, try data.tokens(in: 0..<rebuilt.count))
        XCTAssertLessThan(data.count - rebuilt.count, 128, "only a final partial window is dropped")
    }

    func testBOSLogicOnASmallStream() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        // BOS = 0.
        let url = u16File(scratch, "s.bin", [0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 0, 0, 10])
        let data = try TokenDataset(contentsOf: url)
        let c = try data.contexts(length: 4, bos: 0)
        // windows: [0 1 2 3] (starts with BOS: 4 tokens), [4 5 0] -> [0 4 5 0],
        // [6 7 8] -> [0 6 7 8], [9 0 0] -> [0 9 0 0], then [10] is partial.
        XCTAssertEqual(c.count, 4)
        XCTAssertEqual(try (0..<c.count).map { try c.context($0) },
                       [[0, 1, 2, 3], [0, 4, 5, 0], [0, 6, 7, 8], [0, 9, 0, 0]])
        XCTAssertEqual((0..<c.count).map { c.tokenOffset(ofContext: $0) }, [0, 4, 7, 10])

        let shifted = try data.contexts(length: 4, bos: 0, startingAt: 6)
        XCTAssertEqual(try (0..<shifted.count).map { try shifted.context($0) }, [[0, 6, 7, 8], [0, 9, 0, 0]])

        let plain = try data.contexts(length: 5)
        XCTAssertEqual(plain.count, 2)
        XCTAssertEqual(try plain.context(1), [5, 0, 6, 7, 8])
        XCTAssertEqual(try data.contexts(length: 5, startingAt: 4).count, 2)
        XCTAssertEqual(try data.contexts(length: 4, bos: 0, startingAt: 14).count, 0)
        // A context length near Int.max (a hostile flag) gives no contexts; the window end
        // `start + length` used to overflow once the start was past 0.
        for (length, offset) in [(Int.max, 1), (Int.max, 6), (Int.max - 1, 13), (Int.max, 0)] {
            XCTAssertEqual(try data.contexts(length: length, bos: 0, startingAt: offset).count, 0, "\(length) at \(offset)")
            XCTAssertEqual(try data.contexts(length: length, startingAt: offset).count, 0, "\(length) at \(offset), no BOS")
        }

        XCTAssertThrowsError(try c.context(4))
        XCTAssertThrowsError(try data.contexts(length: 1, bos: 0))
        XCTAssertThrowsError(try data.contexts(length: 4, startingAt: 15))
        XCTAssertThrowsError(try data.tokens(in: 10..<15)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .rangeOutOfBounds(file: url.path, range: 10..<15, count: 14))
        }
        // Checked before anything is allocated for it.
        XCTAssertThrowsError(try data.tokens(in: 0..<Int.max)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .rangeOutOfBounds(file: url.path, range: 0..<Int.max, count: 14))
        }
    }

    /// More than 64 windows, so the start index crosses words of its bitmap.
    func testRandomAccessAcrossManyWindows() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        var ids: [UInt16] = []
        var rng = SeededRandom(seed: 11)
        for _ in 0..<5000 { ids.append(UInt16.random(in: 0..<8, using: &rng)) }  // BOS (0) 1 in 8
        let data = try TokenDataset(contentsOf: u16File(scratch, "r.bin", ids))
        let c = try data.contexts(length: 6, bos: 0)
        var start = 0
        var expected: [[Int32]] = []
        while start < ids.count {
            let takesBOS = ids[start] == 0
            let n = takesBOS ? 6 : 5
            if start + n > ids.count { break }
            let window = ids[start..<(start + n)].map(Int32.init)
            expected.append(takesBOS ? window : [0] + window)
            start += n
        }
        XCTAssertEqual(c.count, expected.count)
        for i in (0..<c.count).shuffled() { XCTAssertEqual(try c.context(i), expected[i], "context \(i)") }
    }

    func testOtherElementTypes() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let ids: [UInt32] = [0, 70_000, 3, 4]
        let u32 = scratch.write("t.bin", ids.withUnsafeBytes { Array($0) })
        let data = try TokenDataset(contentsOf: u32, binaryElementType: .u32)
        XCTAssertEqual(data.count, 4)
        XCTAssertEqual(try data.tokens(in: 0..<4), [0, 70_000, 3, 4])
        XCTAssertThrowsError(try TokenDataset(contentsOf: u32, binaryElementType: .u32, vocabSize: 50_000).tokens(in: 0..<4)) { error in
            XCTAssertEqual(error as? TokenDatasetError,
                           .idOutOfVocabulary(file: u32.path, position: 1, id: 70_000, vocabSize: 50_000))
        }

        let u2npy = scratch.file("t.npy")
        try NPYWriter.write([UInt16]([5, 6, 7, 8]), shape: [2, 2], to: u2npy)
        let npy = try TokenDataset(contentsOf: u2npy, binaryElementType: .u32)  // the header wins
        XCTAssertEqual(npy.elementType, .u16)
        XCTAssertEqual(try npy.tokens(in: 0..<4), [5, 6, 7, 8])

        let i4npy = scratch.file("neg.npy")
        try NPYWriter.write([Int32]([1, 2, -3]), shape: [3], to: i4npy)
        let negative = try TokenDataset(contentsOf: i4npy)
        XCTAssertEqual(try negative.tokens(in: 0..<2), [1, 2])
        XCTAssertThrowsError(try negative.validate()) { error in
            XCTAssertEqual(error as? TokenDatasetError, .negativeId(file: i4npy.path, position: 2, id: -3))
        }

        let i8 = scratch.write("big.npy", NPYTests.npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                                            [Int64]([9, 1 << 40]).withUnsafeBytes { Array($0) }))
        XCTAssertThrowsError(try TokenDataset(contentsOf: i8).tokens(in: 0..<2)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .idTooLarge(file: i8.path, position: 1, id: 1 << 40))
        }
        let u4 = scratch.write("u4.npy", NPYTests.npyBytes("{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", [1, 0, 0, 0]))
        XCTAssertEqual(try TokenDataset(contentsOf: u4).tokens(in: 0..<1), [1])
    }

    func testFileErrors() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let odd = scratch.write("odd.bin", [1, 0, 2])
        XCTAssertThrowsError(try TokenDataset(contentsOf: odd)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .sizeNotMultiple(file: odd.path, byteCount: 3, elementSize: 2))
            XCTAssertTrue("\(error)".contains(odd.path))
        }
        let six = scratch.write("six.bin", [1, 0, 2, 0, 3, 0])
        XCTAssertThrowsError(try TokenDataset(contentsOf: six, binaryElementType: .u32)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .sizeNotMultiple(file: six.path, byteCount: 6, elementSize: 4))
        }
        XCTAssertThrowsError(try TokenDataset(contentsOf: six, binaryElementType: .f32)) { error in
            guard case .unsupportedElementType(six.path, "F32", _)? = error as? TokenDatasetError else { return XCTFail("\(error)") }
        }
        let floats = scratch.file("f.npy")
        try NPYWriter.write([Float]([1, 2]), shape: [2], to: floats)
        XCTAssertThrowsError(try TokenDataset(contentsOf: floats)) { error in
            guard case .unsupportedElementType(floats.path, "<f4", _)? = error as? TokenDatasetError else { return XCTFail("\(error)") }
        }
        let badNPY = scratch.write("bad.npy", [1, 2, 3])
        XCTAssertThrowsError(try TokenDataset(contentsOf: badNPY)) { error in
            guard case .npy(.notNPY(badNPY.path, _))? = error as? TokenDatasetError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TokenDataset(contentsOf: scratch.file("absent.bin"))) { error in
            guard case .cannotOpen? = error as? TokenDatasetError else { return XCTFail("\(error)") }
        }
        let data = try TokenDataset(contentsOf: six, vocabSize: 3)
        XCTAssertThrowsError(try data.contexts(length: 3).context(0)) { error in
            XCTAssertEqual(error as? TokenDatasetError, .idOutOfVocabulary(file: six.path, position: 2, id: 3, vocabSize: 3))
            XCTAssertTrue("\(error)".contains("position 2"), "\(error)")
        }
        XCTAssertThrowsError(try data.contexts(length: 3, bos: 7).context(0), "BOS outside the vocabulary")
        let empty = try TokenDataset(contentsOf: scratch.write("empty.bin", []))
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(try empty.contexts(length: 4, bos: 0).count, 0)
    }
}
