import Foundation
import SAEKernels

/// A safetensors file, memory-mapped and validated on open (see `Safetensors.swift` for
/// the format). Tensor bytes are read from the mapping only when asked for.
///
/// Opening checks the whole header: length, JSON, each entry's dtype, shape and
/// offsets, duplicate names, and that the tensors tile the byte buffer exactly; any
/// problem throws a `SafetensorsError` naming the file.
public final class SafetensorsFile: @unchecked Sendable {
    /// The element type and shape of one tensor.
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: DType
        /// Dimensions, outermost first (row-major); `[]` for a scalar.
        public let shape: [Int]
        /// Number of elements, `product(shape)`.
        public var count: Int { shape.reduce(1, *) }
        /// The tensor's bytes within the byte buffer.
        package let byteRange: Range<Int>
    }

    public let url: URL
    /// Tensor names, sorted.
    public let names: [String]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]

    private let file: MappedFile
    private let entries: [String: TensorInfo]
    /// Offset of the byte buffer in the file: 8 + header length.
    private let dataStart: Int
    private var path: String { url.path }

    /// Maps and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        do { file = try MappedFile(url: url) } catch let e as FileAccessError {
            throw SafetensorsError.cannotOpen(file: path, reason: e.reason)
        }
        let header = try file.withBytes { bytes in try Self.parseHeader(bytes, path: path) }
        dataStart = header.dataStart
        entries = header.entries
        metadata = header.metadata
        names = header.entries.keys.sorted()
    }

    /// The dtype and shape of `name`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let info = entries[name] else {
            throw SafetensorsError.missingTensor(file: path, tensor: name, available: names)
        }
        return info
    }

    /// Whether the file holds a tensor `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The elements of `name` (row-major) as Floats: F32 as is, F16/BF16 exactly,
    /// F64 rounded to nearest. Throws `dtypeMismatch` for an integer tensor.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        guard let values = withRawBytes(info, { ElementCodec.floats($0, as: info.dtype) }) else {
            throw SafetensorsError.dtypeMismatch(file: path, tensor: name, dtype: info.dtype,
                                                 expected: "a floating-point dtype (F32, F16, BF16, F64)")
        }
        return values
    }

    /// The elements of `name` (row-major) as Ints, for the integer dtypes and BOOL (0/1).
    /// Throws `dtypeMismatch` for a floating-point tensor and `valueOutOfRange` for a
    /// U64 value beyond `Int.max`.
    public func ints(_ name: String) throws -> [Int] {
        let info = try info(name)
        var overflow: Int? = nil
        guard let values = withRawBytes(info, { ElementCodec.ints($0, as: info.dtype, overflow: &overflow) }) else {
            throw SafetensorsError.dtypeMismatch(file: path, tensor: name, dtype: info.dtype,
                                                 expected: "an integer dtype (I8...I64, U8...U64, BOOL)")
        }
        if let overflow { throw SafetensorsError.valueOutOfRange(file: path, tensor: name, index: overflow) }
        return values
    }

    /// `name` as a row-major `rows x cols` Matrix (converted as by `floats`).
    ///
    /// The shape must be `[rows, cols]`, or `[d0, ..., dk, cols]` with
    /// `d0 * ... * dk == rows` (leading dimensions flattened into rows, as the
    /// row-major layout already is), or `[cols]` when `rows == 1`.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> Matrix {
        let info = try info(name)
        let shape = info.shape
        let fits = !shape.isEmpty && shape.last! == cols && shape.dropLast().reduce(1, *) == rows
        guard fits else {
            throw SafetensorsError.shapeMismatch(file: path, tensor: name, shape: shape, expected: [rows, cols])
        }
        return Matrix(rows: rows, cols: cols, values: try floats(name))
    }

    /// `name` as a Matrix whose columns are the last dimension and whose rows are all
    /// leading dimensions flattened (a 1-D tensor gives one row). Throws for a scalar.
    public func matrix(_ name: String) throws -> Matrix {
        let shape = try info(name).shape
        guard let cols = shape.last else {
            throw SafetensorsError.shapeMismatch(file: path, tensor: name, shape: shape, expected: [1, 1])
        }
        return try matrix(name, rows: shape.dropLast().reduce(1, *), cols: cols)
    }

    /// Calls `body` with the raw little-endian bytes of `name`, straight from the
    /// mapping (unaligned in general). For fast paths in other readers.
    package func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(name)
        return try withRawBytes(info, body)
    }

    private func withRawBytes<R>(_ info: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withBytes { bytes in
            let start = dataStart + info.byteRange.lowerBound
            return try body(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + info.byteRange.count)]))
        }
    }

    // MARK: - Header validation

    private struct Header {
        var dataStart: Int
        var entries: [String: TensorInfo]
        var metadata: [String: String]
    }

    private static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        guard bytes.count >= 8 else { throw SafetensorsError.fileTooShort(file: path, size: bytes.count) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.headerBeyondFile(file: path, headerLength: headerLength, fileSize: bytes.count)
        }
        let dataStart = 8 + Int(headerLength)
        let bufferSize = bytes.count - dataStart
        let json: JSONValue
        do {
            json = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        } catch let e as JSONValue.ParseError {
            throw SafetensorsError.headerNotJSON(file: path, reason: e.description)
        }
        guard let members = json.objectValue?.members else {
            throw SafetensorsError.headerNotObject(file: path, found: json.kind)
        }

        var entries: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        var sawMetadata = false
        for (name, value) in members {
            if name == "__metadata__" {
                if sawMetadata { throw SafetensorsError.duplicateName(file: path, tensor: name) }
                sawMetadata = true
                metadata = try parseMetadata(value, path: path)
                continue
            }
            if entries[name] != nil { throw SafetensorsError.duplicateName(file: path, tensor: name) }
            entries[name] = try parseEntry(name, value, bufferSize: bufferSize, path: path)
        }
        try checkTiling(entries, bufferSize: bufferSize, path: path)
        return Header(dataStart: dataStart, entries: entries, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard let members = value.objectValue?.members else {
            throw SafetensorsError.invalidMetadata(file: path, reason: "is a \(value.kind), not an object")
        }
        var metadata: [String: String] = [:]
        for (key, v) in members {
            guard case let .string(s) = v else {
                throw SafetensorsError.invalidMetadata(file: path, reason: "value of '\(key)' is a \(v.kind), not a string")
            }
            guard metadata[key] == nil else {
                throw SafetensorsError.invalidMetadata(file: path, reason: "key '\(key)' appears more than once")
            }
            metadata[key] = s
        }
        return metadata
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, bufferSize: Int,
                                   path: String) throws -> TensorInfo {
        func invalid(_ reason: String) -> SafetensorsError {
            .invalidEntry(file: path, tensor: name, reason: reason)
        }
        guard let fields = value.objectValue?.members else { throw invalid("entry is a \(value.kind), not an object") }
        func field(_ key: String) throws -> JSONValue {
            let matches = fields.filter { $0.key == key }
            guard let first = matches.first else { throw invalid("missing '\(key)'") }
            guard matches.count == 1 else { throw invalid("'\(key)' appears more than once") }
            return first.value
        }
        func nonNegativeInts(_ key: String) throws -> [Int] {
            guard case let .array(items) = try field(key) else { throw invalid("'\(key)' is not an array") }
            return try items.map {
                guard case let .integer(v) = $0, v >= 0 else {
                    throw invalid("'\(key)' must hold non-negative integers")
                }
                return v
            }
        }

        guard case let .string(dtypeName) = try field("dtype") else { throw invalid("'dtype' is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDType(file: path, tensor: name, dtype: dtypeName)
        }
        let shape = try nonNegativeInts("shape")
        let offsets = try nonNegativeInts("data_offsets")
        guard offsets.count == 2 else { throw invalid("'data_offsets' must be [begin, end], found \(offsets.count) numbers") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw invalid("data_offsets [\(begin), \(end)] has begin after end") }
        guard end <= bufferSize else {
            throw SafetensorsError.offsetsOutOfRange(file: path, tensor: name, begin: begin, end: end, bufferSize: bufferSize)
        }
        var expectedBytes = dtype.byteSize
        for d in shape {
            let (product, overflow) = expectedBytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw invalid("shape \(shape) is too large") }
            expectedBytes = product
        }
        guard expectedBytes == end - begin else {
            throw SafetensorsError.sizeMismatch(file: path, tensor: name, dtype: dtype, shape: shape, byteCount: end - begin)
        }
        return TensorInfo(dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The ranges sorted by start must tile `0..<bufferSize`.
    private static func checkTiling(_ entries: [String: TensorInfo], bufferSize: Int, path: String) throws {
        let sorted = entries.sorted {
            ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key)
                < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key)
        }
        var covered = 0
        var previous: String? = nil
        for (name, info) in sorted {
            let range = info.byteRange
            if range.lowerBound < covered, let previous {
                throw SafetensorsError.overlappingTensors(file: path, first: previous, second: name)
            }
            if range.lowerBound > covered {
                let after = previous.map { "after '\($0)'" } ?? "at the start of the buffer"
                throw SafetensorsError.bufferNotCovered(
                    file: path, reason: "bytes \(covered)..<\(range.lowerBound) \(after) belong to no tensor")
            }
            if !range.isEmpty || previous == nil { previous = name }
            covered = max(covered, range.upperBound)
        }
        if covered != bufferSize {
            throw SafetensorsError.bufferNotCovered(
                file: path, reason: "the buffer has \(bufferSize) bytes but the tensors end at byte \(covered)")
        }
    }
}
