import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

final class SafetensorsTests: XCTestCase {
    let fixture = "tiny-gelu-1l/"

    // MARK: - Fixture files

    func testModelTensorsHaveTheShapesOfTheConfig() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.url(fixture + "model.safetensors"))
        let (dModel, nHeads, dHead, dMLP, dVocab, nCtx) = (128, 4, 32, 512, 4096, 128)
        let expected: [String: [Int]] = [
            "embed.W_E": [dVocab, dModel], "pos_embed.W_pos": [nCtx, dModel],
            "blocks.0.ln1.w": [dModel], "blocks.0.ln1.b": [dModel],
            "blocks.0.attn.W_Q": [nHeads, dModel, dHead], "blocks.0.attn.W_K": [nHeads, dModel, dHead],
            "blocks.0.attn.W_V": [nHeads, dModel, dHead], "blocks.0.attn.W_O": [nHeads, dHead, dModel],
            "blocks.0.attn.b_Q": [nHeads, dHead], "blocks.0.attn.b_K": [nHeads, dHead],
            "blocks.0.attn.b_V": [nHeads, dHead], "blocks.0.attn.b_O": [dModel],
            "blocks.0.ln2.w": [dModel], "blocks.0.ln2.b": [dModel],
            "blocks.0.mlp.W_in": [dModel, dMLP], "blocks.0.mlp.b_in": [dMLP],
            "blocks.0.mlp.W_out": [dMLP, dModel], "blocks.0.mlp.b_out": [dModel],
            "ln_final.w": [dModel], "ln_final.b": [dModel],
            "unembed.W_U": [dModel, dVocab], "unembed.b_U": [dVocab],
        ]
        XCTAssertEqual(file.names, expected.keys.sorted())
        XCTAssertEqual(file.metadata, [:])
        for name in file.names {
            let info = try file.info(name)
            XCTAssertEqual(info.dtype, .f32, name)
            XCTAssertEqual(info.shape, expected[name], name)
            let values = try file.floats(name)
            XCTAssertEqual(values.count, info.count, name)
            XCTAssertTrue(values.allSatisfy(\.isFinite), name)
        }
        let wIn = try file.matrix("blocks.0.mlp.W_in", rows: dModel, cols: dMLP)
        XCTAssertEqual(wIn.values, try file.floats("blocks.0.mlp.W_in"))
        let wQ = try file.matrix("blocks.0.attn.W_Q")  // heads flattened into rows
        XCTAssertEqual(wQ.rows, nHeads * dModel)
        XCTAssertEqual(wQ.cols, dHead)
        XCTAssertEqual(try file.matrix("ln_final.w").shape.rows, 1)
        XCTAssertThrowsError(try file.matrix("embed.W_E", rows: dModel, cols: dVocab)) { error in
            XCTAssertEqual(error as? SafetensorsError, .shapeMismatch(
                file: file.url.path, tensor: "embed.W_E", shape: [dVocab, dModel], expected: [dModel, dVocab]))
        }
    }

    func testReferenceTensorsHaveTheShapesOfTheREADME() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.url(fixture + "reference.safetensors"))
        var expected: [String: [Int]] = [
            "blocks.0.attn.hook_pattern": [4, 4, 128, 128],
            "blocks.0.mlp.hook_pre": [4, 128, 512], "blocks.0.mlp.hook_post": [4, 128, 512],
            "loss_per_token": [4, 127], "loss_per_token_mlp_zero_ablated": [4, 127],
            "logits_seq0": [128, 4096], "tokens": [4, 128],
        ]
        for hook in ["hook_embed", "hook_pos_embed", "blocks.0.ln1.hook_normalized", "blocks.0.hook_attn_out",
                     "blocks.0.hook_resid_mid", "blocks.0.ln2.hook_normalized", "blocks.0.hook_mlp_out",
                     "blocks.0.hook_resid_post", "ln_final.hook_normalized"] {
            expected[hook] = [4, 128, 128]
        }
        XCTAssertEqual(file.names, expected.keys.sorted())
        for name in file.names {
            let info = try file.info(name)
            XCTAssertEqual(info.shape, expected[name], name)
            XCTAssertEqual(info.dtype, name == "tokens" ? .i32 : .f32, name)
            if name != "tokens" { XCTAssertEqual(try file.floats(name).count, info.count, name) }
        }
        let tokens = try file.ints("tokens")
        XCTAssertEqual(tokens.count, 4 * 128)
        XCTAssertTrue(tokens.allSatisfy { (0..<4096).contains($0) })
        for seq in 0..<4 { XCTAssertEqual(tokens[seq * 128], 0, "position 0 is BOS") }
        XCTAssertTrue(try file.floats("loss_per_token").allSatisfy { $0 > 0 })
    }

    func testSAELensFiles() throws {
        for variant in ["saelens-standard", "saelens-topk"] {
            let weights = try SafetensorsFile(contentsOf: Fixtures.url(fixture + variant + "/sae_weights.safetensors"))
            XCTAssertEqual(weights.names, ["W_dec", "W_enc", "b_dec", "b_enc"])
            XCTAssertEqual(try weights.info("W_enc").shape, [512, 2048])
            XCTAssertEqual(try weights.info("W_dec").shape, [2048, 512])
            XCTAssertEqual(try weights.info("b_enc").shape, [2048])
            XCTAssertEqual(try weights.info("b_dec").shape, [512])
            let reference = try SafetensorsFile(contentsOf: Fixtures.url(fixture + variant + "/encode-reference.safetensors"))
            XCTAssertEqual(try reference.info("sae_in").shape, [256, 512])
            XCTAssertEqual(try reference.info("feature_acts").shape, [256, 2048])
            XCTAssertEqual(try reference.info("sae_out").shape, [256, 512])
        }
    }

    /// Rewriting every tensor of the fixture files reproduces them byte for byte: the
    /// writer lays files out as the Python library does.
    func testRewritingTheFixturesIsByteIdentical() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        for name in ["model.safetensors", "reference.safetensors", "saelens-topk/sae_weights.safetensors"] {
            let url = Fixtures.url(fixture + name)
            let file = try SafetensorsFile(contentsOf: url)
            var writer = SafetensorsWriter(metadata: file.metadata)
            for tensor in file.names {
                let info = try file.info(tensor)
                if info.dtype == .f32 {
                    try writer.add(tensor, shape: info.shape, floats: try file.floats(tensor))
                } else {
                    try writer.add(tensor, shape: info.shape, ints: try file.ints(tensor), as: info.dtype)
                }
            }
            let copy = scratch.file("copy.safetensors")
            try writer.write(to: copy)
            XCTAssertEqual(try Data(contentsOf: copy), try Data(contentsOf: url), name)
        }
    }

    // MARK: - Round trips

    func testRoundTripOfEveryDType() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let ints: [DType: [Int]] = [
            .bool: [0, 1, 1, 0, 1, 0],
            .u8: [0, 1, 127, 128, 254, 255], .i8: [-128, -1, 0, 1, 100, 127],
            .u16: [0, 1, 255, 256, 65534, 65535], .i16: [-32768, -1, 0, 1, 300, 32767],
            .u32: [0, 1, 65536, 1 << 31, 4_000_000_000, 4_294_967_295],
            .i32: [Int(Int32.min), -1, 0, 1, 70000, Int(Int32.max)],
            .u64: [0, 1, 1 << 40, 1 << 62, Int.max - 1, Int.max],
            .i64: [Int.min, -1, 0, 1, 1 << 50, Int.max],
        ]
        // Exactly representable in every float dtype.
        let floats: [Float] = [0, -0.0, 1, -2.5, 0.15625, 96, .infinity, -.infinity]
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "quotes \" and \\ and é"])
        for dtype in DType.allCases {
            if dtype.isFloatingPoint {
                try writer.add("t_\(dtype)", shape: [2, 4], floats: floats, as: dtype)
            } else {
                try writer.add("t_\(dtype)", shape: [3, 2], ints: ints[dtype]!, as: dtype)
            }
        }
        try writer.add("scalar", shape: [], floats: [42])
        try writer.add("empty", shape: [0, 3], floats: [])
        try writer.add("matrix", matrix: Matrix(rows: 2, cols: 3) { r, c in Float(r * 10 + c) })
        let url = scratch.file("all.safetensors")
        try writer.write(to: url)

        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, writer.names)
        XCTAssertEqual(file.metadata, writer.metadata)
        for dtype in DType.allCases {
            let name = "t_\(dtype)"
            let info = try file.info(name)
            XCTAssertEqual(info.dtype, dtype)
            if dtype.isFloatingPoint {
                XCTAssertEqual(info.shape, [2, 4])
                let back = try file.floats(name)
                XCTAssertEqual(back, floats, "\(dtype)")
                XCTAssertEqual(back.map { $0.sign }, floats.map { $0.sign }, "\(dtype) keeps the sign of zero")
                XCTAssertThrowsError(try file.ints(name))
            } else {
                XCTAssertEqual(info.shape, [3, 2])
                XCTAssertEqual(try file.ints(name), ints[dtype], "\(dtype)")
                XCTAssertThrowsError(try file.floats(name))
            }
        }
        XCTAssertEqual(try file.info("scalar").shape, [])
        XCTAssertEqual(try file.floats("scalar"), [42])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.matrix("matrix", rows: 2, cols: 3),
                       Matrix(rows: 2, cols: 3) { r, c in Float(r * 10 + c) })
    }

    func testF16AndBF16ConversionOfSpecialValues() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        // Half bit patterns: zeros, smallest/largest subnormal, smallest normal, one,
        // largest finite, infinities, NaNs.
        let halfBits: [UInt16] = [0x0000, 0x8000, 0x0001, 0x03ff, 0x8001, 0x0400, 0x3c00, 0x7bff, 0xfbff,
                                  0x7c00, 0xfc00, 0x7e00, 0x7c01]
        let expected: [Float] = [0, -0.0, 0x1p-24, 1023 * 0x1p-24, -0x1p-24, 0x1p-14, 1, 65504, -65504,
                                 .infinity, -.infinity, .nan, .nan]
        let bf16Bits: [UInt16] = [0x0001, 0x007f, 0x0080, 0x3f80, 0x7f7f, 0x7f80, 0xff80, 0x7fc0]
        let bf16Expected: [Float] = [Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x007f_0000),
                                     .leastNormalMagnitude, 1, Float(bitPattern: 0x7f7f_0000), .infinity, -.infinity, .nan]
        var writer = SafetensorsWriter()
        try writer.add("h", dtype: .f16, shape: [halfBits.count], rawBytes: halfBits.withUnsafeBytes { Array($0) })
        try writer.add("b", dtype: .bf16, shape: [bf16Bits.count], rawBytes: bf16Bits.withUnsafeBytes { Array($0) })
        let url = scratch.file("half.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(contentsOf: url)
        assertSameFloats(try file.floats("h"), expected)
        assertSameFloats(try file.floats("b"), bf16Expected)

        // And back: Float -> 16 bits.
        for (bits, value) in zip(halfBits, expected) where !value.isNaN {
            XCTAssertEqual(HalfFloat.halfBits(from: value), bits, "\(value)")
        }
        XCTAssertEqual(HalfFloat.halfBits(from: .nan) & 0x7e00, 0x7e00)
        XCTAssertEqual(HalfFloat.halfBits(from: 65519.99), 0x7bff)
        XCTAssertEqual(HalfFloat.halfBits(from: 65520), 0x7c00, "rounds to infinity")
        XCTAssertEqual(HalfFloat.halfBits(from: 1e10), 0x7c00)
        XCTAssertEqual(HalfFloat.halfBits(from: 0x1p-25), 0x0000, "tie to even: zero")
        XCTAssertEqual(HalfFloat.halfBits(from: 0x1.8p-25), 0x0001)
        XCTAssertEqual(HalfFloat.halfBits(from: 3 * 0x1p-25), 0x0002, "tie to even: 2")
        XCTAssertEqual(HalfFloat.halfBits(from: 1e-30), 0x0000)
        XCTAssertEqual(HalfFloat.halfBits(from: -1e-30), 0x8000)
        XCTAssertEqual(HalfFloat.halfBits(from: 1 + 0x1p-11), 0x3c00, "tie to even: 1")
        XCTAssertEqual(HalfFloat.halfBits(from: 1 + 3 * 0x1p-11), 0x3c02)
        XCTAssertEqual(HalfFloat.halfBits(from: 0x1.ffcp-15), 0x0400, "largest subnormal rounds up to the smallest normal")
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: 1), 0x3f80)
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: 1 + 0x1p-8), 0x3f80, "tie to even")
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: 1 + 3 * 0x1p-8), 0x3f82)
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: .greatestFiniteMagnitude), 0x7f80, "rounds to infinity")
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: -.infinity), 0xff80)
        XCTAssertTrue(HalfFloat.float(fromBFloat16Bits: HalfFloat.bfloat16Bits(from: .nan)).isNaN)
        XCTAssertTrue(HalfFloat.float(fromBFloat16Bits: HalfFloat.bfloat16Bits(from: Float(bitPattern: 0x7f80_0001))).isNaN,
                      "a NaN whose payload is in the low bits stays NaN")
        XCTAssertEqual(HalfFloat.bfloat16Bits(from: Float(bitPattern: 0x0000_8001)), 0x0001, "subnormal rounds up")
    }

    #if !(os(macOS) && arch(x86_64))
    /// Every half bit pattern decodes as Swift's Float16 does, and encoding is its inverse;
    /// random Floats round as Float16(Float) rounds.
    func testHalfConversionMatchesFloat16() {
        for bits in 0...UInt16.max {
            let ours = HalfFloat.float(fromHalfBits: bits)
            let swift = Float(Float16(bitPattern: bits))
            if swift.isNaN {
                XCTAssertTrue(ours.isNaN, "\(bits)")
                XCTAssertTrue(HalfFloat.float(fromHalfBits: HalfFloat.halfBits(from: ours)).isNaN)
            } else {
                XCTAssertEqual(ours.bitPattern, swift.bitPattern, "\(bits)")
                XCTAssertEqual(HalfFloat.halfBits(from: ours), bits)
            }
        }
        var rng = SystemRandomNumberGenerator()
        var mismatches = 0
        for _ in 0..<200_000 {
            // Spread over the exponents that matter for half, subnormals included.
            let value = Float(sign: Bool.random(using: &rng) ? .minus : .plus,
                              exponent: Int.random(in: -30...17, using: &rng),
                              significand: Float.random(in: 1..<2, using: &rng))
            if HalfFloat.halfBits(from: value) != Float16(value).bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
    }
    #endif

    // MARK: - Malformed files

    /// A file from a header string and a buffer; `headerLength` overrides the length field.
    private func rawFile(_ scratch: ScratchDirectory, _ name: String, header: String,
                         buffer: [UInt8], headerLength: UInt64? = nil) -> URL {
        let h = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { Array($0) }
        bytes += h + buffer
        return scratch.write(name, bytes)
    }

    private func assertOpenFails(_ url: URL, _ expected: SafetensorsError,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: url), file: file, line: line) { error in
            XCTAssertEqual(error as? SafetensorsError, expected, file: file, line: line)
            XCTAssertTrue("\(error)".contains(url.path), "message names the file: \(error)", file: file, line: line)
        }
    }

    func testMalformedFilesGiveTheirErrors() {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let f32x4 = #"{"dtype":"F32","shape":[4],"data_offsets":"#
        let buffer16 = [UInt8](repeating: 0, count: 16)

        let short = scratch.write("short.safetensors", [1, 0, 0, 0, 0])
        assertOpenFails(short, .fileTooShort(file: short.path, size: 5))

        let empty = scratch.write("empty.safetensors", [])
        assertOpenFails(empty, .fileTooShort(file: empty.path, size: 0))

        let beyond = rawFile(scratch, "beyond.safetensors", header: "{}", buffer: [], headerLength: 1000)
        assertOpenFails(beyond, .headerBeyondFile(file: beyond.path, headerLength: 1000, fileSize: 10))

        let badJSON = rawFile(scratch, "badjson.safetensors", header: #"{"a": "#, buffer: [])
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: badJSON)) { error in
            guard case let .headerNotJSON(file, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, badJSON.path)
        }

        let array = rawFile(scratch, "array.safetensors", header: "[1, 2]", buffer: [])
        assertOpenFails(array, .headerNotObject(file: array.path, found: "array"))

        let unknown = rawFile(scratch, "unknown.safetensors",
                              header: #"{"x":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}"#, buffer: buffer16)
        assertOpenFails(unknown, .unknownDType(file: unknown.path, tensor: "x", dtype: "Q4"))

        let size = rawFile(scratch, "size.safetensors",
                           header: #"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#, buffer: buffer16)
        assertOpenFails(size, .sizeMismatch(file: size.path, tensor: "x", dtype: .f32, shape: [2, 3], byteCount: 16))

        let range = rawFile(scratch, "range.safetensors",
                            header: #"{"x":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}"#, buffer: buffer16)
        assertOpenFails(range, .offsetsOutOfRange(file: range.path, tensor: "x", begin: 0, end: 24, bufferSize: 16))

        let overlap = rawFile(scratch, "overlap.safetensors",
                              header: "{\"a\":\(f32x4)[0,16]},\"b\":\(f32x4)[8,24]}}", buffer: buffer16 + buffer16)
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: overlap)) { error in
            XCTAssertEqual(error as? SafetensorsError, .overlappingTensors(file: overlap.path, first: "a", second: "b"))
        }

        let gap = rawFile(scratch, "gap.safetensors",
                          header: "{\"a\":\(f32x4)[0,16]},\"b\":\(f32x4)[24,40]}}", buffer: buffer16 + buffer16 + [0] * 8)
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: gap)) { error in
            guard case let .bufferNotCovered(file, reason)? = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, gap.path)
            XCTAssertTrue(reason.contains("16..<24"), reason)
        }

        let trailing = rawFile(scratch, "trailing.safetensors", header: "{\"a\":\(f32x4)[0,16]}}", buffer: buffer16 + [0, 0])
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: trailing)) { error in
            guard case .bufferNotCovered? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }

        let duplicate = rawFile(scratch, "dup.safetensors",
                                header: "{\"a\":\(f32x4)[0,16]},\"a\":\(f32x4)[16,32]}}", buffer: buffer16 + buffer16)
        assertOpenFails(duplicate, .duplicateName(file: duplicate.path, tensor: "a"))

        let missingField = rawFile(scratch, "nofield.safetensors", header: #"{"a":{"dtype":"F32","shape":[4]}}"#, buffer: buffer16)
        assertOpenFails(missingField, .invalidEntry(file: missingField.path, tensor: "a", reason: "missing 'data_offsets'"))

        let reversed = rawFile(scratch, "reversed.safetensors", header: "{\"a\":\(f32x4)[16,0]}}", buffer: buffer16)
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: reversed)) { error in
            guard case .invalidEntry(_, "a", _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }

        let negative = rawFile(scratch, "negative.safetensors",
                               header: #"{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#, buffer: buffer16)
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: negative)) { error in
            guard case .invalidEntry(_, "a", _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }

        // Shapes whose byte count overflows Int, and the header length field at its maximum.
        for (i, shape) in ["[4294967296,4294967296]", "[4611686018427387904]", "[9223372036854775807,2,0]"].enumerated() {
            let huge = rawFile(scratch, "huge\(i).safetensors",
                               header: #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,16]}}"#, buffer: buffer16)
            assertOpenFails(huge, .invalidEntry(file: huge.path, tensor: "a", reason: "shape \(shape.replacingOccurrences(of: ",", with: ", ")) is too large"))
        }
        let maxLength = rawFile(scratch, "maxlength.safetensors", header: "{}", buffer: [], headerLength: UInt64.max)
        assertOpenFails(maxLength, .headerBeyondFile(file: maxLength.path, headerLength: UInt64.max, fileSize: 10))
        // A zero dimension first keeps every product at 0: an empty tensor, readable.
        let zero = rawFile(scratch, "zero.safetensors",
                           header: #"{"a":{"dtype":"U8","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#, buffer: [])
        XCTAssertEqual(try SafetensorsFile(contentsOf: zero).ints("a"), [])
        XCTAssertEqual(try SafetensorsFile(contentsOf: zero).info("a").count, 0)

        let metadata = rawFile(scratch, "meta.safetensors", header: #"{"__metadata__":{"n":1}}"#, buffer: [])
        assertOpenFails(metadata, .invalidMetadata(file: metadata.path, reason: "value of 'n' is a number, not a string"))

        let missingFile = scratch.file("absent.safetensors")
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: missingFile)) { error in
            guard case .cannotOpen(missingFile.path, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
    }

    func testAccessorErrors() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        var writer = SafetensorsWriter()
        try writer.add("w", shape: [2, 2], floats: [1, 2, 3, 4])
        try writer.add("ids", shape: [2], ints: [7, 8], as: .i32)
        let url = scratch.file("x.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(contentsOf: url)

        XCTAssertThrowsError(try file.floats("nope")) { error in
            XCTAssertEqual(error as? SafetensorsError, .missingTensor(file: url.path, tensor: "nope", available: ["ids", "w"]))
            XCTAssertTrue("\(error)".contains("'nope'") && "\(error)".contains("ids, w"), "\(error)")
        }
        XCTAssertThrowsError(try file.ints("w")) { error in
            guard case .dtypeMismatch(_, "w", .f32, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try file.floats("ids")) { error in
            guard case .dtypeMismatch(_, "ids", .i32, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try file.matrix("w", rows: 4, cols: 1))
        XCTAssertEqual(try file.matrix("w", rows: 2, cols: 2).values, [1, 2, 3, 4])
    }

    func testWriterRejectsBadTensorsAndWritesAtomically() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        var writer = SafetensorsWriter()
        try writer.add("a", shape: [2], floats: [1, 2])
        XCTAssertThrowsError(try writer.add("a", shape: [2], floats: [1, 2])) { error in
            XCTAssertEqual(error as? SafetensorsError, .invalidTensor(tensor: "a", reason: "added twice"))
        }
        XCTAssertThrowsError(try writer.add("b", shape: [2, 2], floats: [1, 2]))
        XCTAssertThrowsError(try writer.add("c", shape: [1], ints: [300], as: .u8))
        XCTAssertThrowsError(try writer.add("d", shape: [1], ints: [1], as: .f32))
        XCTAssertThrowsError(try writer.add("e", shape: [1], floats: [1], as: .i32))
        XCTAssertThrowsError(try writer.add("__metadata__", shape: [1], floats: [1]))
        XCTAssertThrowsError(try writer.add("f", shape: [Int.max, 2, 0], floats: [])) { error in
            XCTAssertEqual(error as? SafetensorsError, .invalidTensor(tensor: "f", reason: "shape [\(Int.max), 2, 0] is too large"))
        }

        // The header is padded with spaces to a multiple of 8.
        XCTAssertEqual(writer.headerBytes().count % 8, 0)
        XCTAssertEqual(String(decoding: writer.headerBytes(), as: UTF8.self).trimmingCharacters(in: .whitespaces),
                       #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)

        // Overwriting replaces the file and leaves no temporary file behind.
        let url = scratch.file("out.safetensors")
        try Data("old".utf8).write(to: url)
        try writer.write(to: url)
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).floats("a"), [1, 2])
        XCTAssertEqual(scratch.contents(), ["out.safetensors"])

        let nowhere = scratch.url.appendingPathComponent("missing-dir/out.safetensors")
        XCTAssertThrowsError(try writer.write(to: nowhere)) { error in
            guard case .cannotWrite(nowhere.path, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
    }

    private func assertSameFloats(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            if y.isNaN { XCTAssertTrue(x.isNaN, file: file, line: line); continue }
            XCTAssertEqual(x.bitPattern, y.bitPattern, "\(x) vs \(y)", file: file, line: line)
        }
    }
}

private func * (bytes: [UInt8], n: Int) -> [UInt8] { Array([[UInt8]](repeating: bytes, count: n).joined()) }
