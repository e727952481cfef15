// The safetensors format (https://github.com/huggingface/safetensors):
//
//   bytes 0..<8      N, the header length, UInt64 little-endian
//   bytes 8..<8+N    the header: a UTF-8 JSON object
//                      { "<name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                                   "data_offsets": [begin, end]},
//                        ...,
//                        "__metadata__": {"<key>": "<value>", ...} }   (optional)
//                    the Python library pads it with spaces to a multiple of 8 bytes
//   bytes 8+N...     the byte buffer; a tensor's elements are buffer[begin..<end],
//                    row-major (C order), little-endian
//
// A valid file has, for every tensor, end - begin == product(shape) * dtype size, and
// the tensors' ranges, sorted by begin, tile the whole buffer with no gap or overlap.
// `SafetensorsFile` reads (memory-mapped) and `SafetensorsWriter` writes it.

/// What can go wrong reading or writing a safetensors file. Every case names the file
/// (or, for a tensor given to the writer, the tensor) and the problem.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be opened or mapped.
    case cannotOpen(file: String, reason: String)
    /// Fewer than the 8 bytes of the header length.
    case fileTooShort(file: String, size: Int)
    /// The header length says the header runs past the end of the file.
    case headerBeyondFile(file: String, headerLength: UInt64, fileSize: Int)
    /// The header is not valid UTF-8 JSON.
    case headerNotJSON(file: String, reason: String)
    /// The header is JSON but not an object.
    case headerNotObject(file: String, found: String)
    /// A tensor entry lacks a field or has one of the wrong type or value.
    case invalidEntry(file: String, tensor: String, reason: String)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata(file: String, reason: String)
    /// A dtype this reader does not know.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A tensor name appears twice in the header.
    case duplicateName(file: String, tensor: String)
    /// `end - begin != product(shape) * dtype size`.
    case sizeMismatch(file: String, tensor: String, dtype: DType, shape: [Int], byteCount: Int)
    /// A tensor's `[begin, end]` lies outside the byte buffer.
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int, bufferSize: Int)
    /// Two tensors share bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// The tensors leave bytes of the buffer uncovered (a gap, or bytes after the last).
    case bufferNotCovered(file: String, reason: String)
    /// A tensor asked for is not in the file.
    case missingTensor(file: String, tensor: String, available: [String])
    /// A tensor's dtype does not suit the accessor used.
    case dtypeMismatch(file: String, tensor: String, dtype: DType, expected: String)
    /// A tensor's shape does not match the shape asked for.
    case shapeMismatch(file: String, tensor: String, shape: [Int], expected: [Int])
    /// An integer tensor holds a value that does not fit in `Int`.
    case valueOutOfRange(file: String, tensor: String, index: Int)
    /// A tensor handed to the writer is invalid (bad name, duplicate, data/shape mismatch,
    /// value not representable in the dtype).
    case invalidTensor(tensor: String, reason: String)
    /// The file cannot be written.
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            return "safetensors \(file): cannot open: \(reason)"
        case let .fileTooShort(file, size):
            return "safetensors \(file): file too short (\(size) bytes; needs at least 8 for the header length)"
        case let .headerBeyondFile(file, length, size):
            return "safetensors \(file): header length \(length) runs past the end of the file (\(size) bytes)"
        case let .headerNotJSON(file, reason):
            return "safetensors \(file): header is not valid JSON: \(reason)"
        case let .headerNotObject(file, found):
            return "safetensors \(file): header is a JSON \(found), not an object"
        case let .invalidEntry(file, tensor, reason):
            return "safetensors \(file): tensor '\(tensor)': \(reason)"
        case let .invalidMetadata(file, reason):
            return "safetensors \(file): __metadata__ \(reason)"
        case let .unknownDType(file, tensor, dtype):
            return "safetensors \(file): tensor '\(tensor)' has unknown dtype '\(dtype)' (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .duplicateName(file, tensor):
            return "safetensors \(file): tensor name '\(tensor)' appears more than once"
        case let .sizeMismatch(file, tensor, dtype, shape, byteCount):
            let elements = shape.reduce(1, *)
            return "safetensors \(file): tensor '\(tensor)' has shape \(shape) of \(dtype) (\(elements) x \(dtype.byteSize) bytes) but its data_offsets span \(byteCount) bytes"
        case let .offsetsOutOfRange(file, tensor, begin, end, bufferSize):
            return "safetensors \(file): tensor '\(tensor)' data_offsets [\(begin), \(end)] outside the \(bufferSize)-byte buffer"
        case let .overlappingTensors(file, first, second):
            return "safetensors \(file): tensors '\(first)' and '\(second)' overlap"
        case let .bufferNotCovered(file, reason):
            return "safetensors \(file): tensors do not cover the buffer contiguously: \(reason)"
        case let .missingTensor(file, tensor, available):
            return "safetensors \(file): no tensor '\(tensor)'; the file has \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .dtypeMismatch(file, tensor, dtype, expected):
            return "safetensors \(file): tensor '\(tensor)' has dtype \(dtype); expected \(expected)"
        case let .shapeMismatch(file, tensor, shape, expected):
            return "safetensors \(file): tensor '\(tensor)' has shape \(shape); expected \(expected)"
        case let .valueOutOfRange(file, tensor, index):
            return "safetensors \(file): tensor '\(tensor)' element \(index) does not fit in Int"
        case let .invalidTensor(tensor, reason):
            return "safetensors writer: tensor '\(tensor)': \(reason)"
        case let .cannotWrite(file, reason):
            return "safetensors \(file): cannot write: \(reason)"
        }
    }
}
