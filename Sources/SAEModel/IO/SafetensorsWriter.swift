import Foundation
import SAEKernels

/// Collects named tensors and metadata and writes them as one safetensors file.
///
/// The file is laid out as the Python library lays it out: the header
/// `{"__metadata__": {...}, "<name>": {"dtype", "shape", "data_offsets"}, ...}`
/// as compact JSON, padded with spaces to a multiple of 8 bytes, then the tensors'
/// bytes back to back in sorted name order. Writing is atomic (temporary file in the
/// same directory, then rename).
///
/// ```swift
/// var writer = SafetensorsWriter(metadata: ["format": "pt"])
/// try writer.add("W_enc", matrix: wEnc)
/// try writer.add("tokens", shape: [4, 128], ints: ids, as: .i32)
/// try writer.write(to: url)
/// ```
public struct SafetensorsWriter {
    /// The `__metadata__` map; omitted from the file when empty.
    public var metadata: [String: String]

    private enum Payload {
        case bytes([UInt8])
        case floats([Float])
        case matrix(Matrix)
    }

    private struct Tensor {
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let payload: Payload
    }

    private var tensors: [String: Tensor] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// The names added so far, sorted (the order they are written in).
    public var names: [String] { tensors.keys.sorted() }

    /// Adds `floats` (row-major, `product(shape)` of them) stored as `dtype`: F32, or
    /// F16 / BF16 (rounded to nearest even) or F64.
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: DType = .f32) throws {
        try checkNew(name, shape: shape, count: floats.count)
        let payload: Payload
        if dtype == .f32 {
            payload = .floats(floats)
        } else {
            guard let bytes = floats.withUnsafeBufferPointer({ ElementCodec.bytes(of: $0, as: dtype) }) else {
                throw SafetensorsError.invalidTensor(tensor: name, reason: "Floats cannot be stored as \(dtype); use F32, F16, BF16 or F64")
            }
            payload = .bytes(bytes)
        }
        tensors[name] = Tensor(dtype: dtype, shape: shape, byteCount: floats.count * dtype.byteSize, payload: payload)
    }

    /// Adds `matrix` with shape `[rows, cols]`, stored as `dtype` (F32, F16, BF16, F64).
    public mutating func add(_ name: String, matrix: Matrix, as dtype: DType = .f32) throws {
        if dtype == .f32 {
            let shape = [matrix.rows, matrix.cols]
            try checkNew(name, shape: shape, count: matrix.count)
            tensors[name] = Tensor(dtype: .f32, shape: shape, byteCount: matrix.count * 4, payload: .matrix(matrix))
        } else {
            try add(name, shape: [matrix.rows, matrix.cols], floats: matrix.values, as: dtype)
        }
    }

    /// Adds `ints` (row-major) stored as the integer `dtype` (I8...I64, U8...U64, or BOOL
    /// for 0/1); throws if a value does not fit.
    public mutating func add(_ name: String, shape: [Int], ints: [Int], as dtype: DType = .i64) throws {
        try checkNew(name, shape: shape, count: ints.count)
        var outOfRange: Int? = nil
        guard let bytes = ElementCodec.bytes(of: ints, as: dtype, outOfRange: &outOfRange) else {
            if let i = outOfRange {
                throw SafetensorsError.invalidTensor(tensor: name, reason: "value \(ints[i]) at index \(i) does not fit in \(dtype)")
            }
            throw SafetensorsError.invalidTensor(tensor: name, reason: "Ints cannot be stored as \(dtype); use an integer dtype")
        }
        tensors[name] = Tensor(dtype: dtype, shape: shape, byteCount: bytes.count, payload: .bytes(bytes))
    }

    /// Adds a tensor from its raw little-endian element bytes (`product(shape) *
    /// dtype.byteSize` of them).
    public mutating func add(_ name: String, dtype: DType, shape: [Int], rawBytes: [UInt8]) throws {
        guard rawBytes.count % dtype.byteSize == 0 else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "\(rawBytes.count) bytes is not a whole number of \(dtype) elements")
        }
        try checkNew(name, shape: shape, count: rawBytes.count / dtype.byteSize)
        tensors[name] = Tensor(dtype: dtype, shape: shape, byteCount: rawBytes.count, payload: .bytes(rawBytes))
    }

    private func checkNew(_ name: String, shape: [Int], count: Int) throws {
        guard !name.isEmpty else { throw SafetensorsError.invalidTensor(tensor: name, reason: "empty name") }
        guard name != "__metadata__" else { throw SafetensorsError.invalidTensor(tensor: name, reason: "reserved name") }
        guard tensors[name] == nil else { throw SafetensorsError.invalidTensor(tensor: name, reason: "added twice") }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "negative dimension in shape \(shape)")
        }
        var elements = 1
        for d in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw SafetensorsError.invalidTensor(tensor: name, reason: "shape \(shape) is too large") }
            elements = product
        }
        guard elements == count else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "\(count) values for shape \(shape) (\(elements) elements)")
        }
    }

    /// The header bytes, padded with spaces to a multiple of 8.
    package func headerBytes() -> [UInt8] {
        var json = "{"
        var first = true
        func separator() { if !first { json += "," }; first = false }
        if !metadata.isEmpty {
            separator()
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(JSONValue.quoted($0)):\(JSONValue.quoted(metadata[$0]!))" }
                .joined(separator: ",")
            json += "}"
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            separator()
            json += "\(JSONValue.quoted(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":["
            json += t.shape.map(String.init).joined(separator: ",")
            json += "],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}"
            offset += t.byteCount
        }
        json += "}"
        var bytes = Array(json.utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// Writes the file atomically to `url`, replacing any file there.
    public func write(to url: URL) throws {
        let header = headerBytes()
        do {
            try AtomicFile.write(to: url) { out in
                try out.append(contentsOf: [UInt64(header.count).littleEndian])
                try out.append(header)
                for name in names {
                    switch tensors[name]!.payload {
                    case let .bytes(b): try out.append(b)
                    case let .floats(f): try out.append(contentsOf: f)
                    case let .matrix(m): try m.withUnsafeBufferPointer { try out.append(UnsafeRawBufferPointer($0)) }
                    }
                }
            }
        } catch let e as FileAccessError {
            throw SafetensorsError.cannotWrite(file: url.path, reason: e.reason)
        }
    }
}
