import Foundation
import SAEKernels

/// Activation rows held in memory, handed out in order (optionally cycling).
public struct ArrayActivationSource: ResumableActivationSource, Sendable {
    public let dIn: Int
    public let rows: [Float]
    public let cycle: Bool
    public private(set) var nextRow = 0

    public init(rows: [Float], dIn: Int, cycle: Bool = false) {
        precondition(dIn > 0 && rows.count % dIn == 0, "ArrayActivationSource: \(rows.count) values are not rows of \(dIn)")
        self.dIn = dIn; self.rows = rows; self.cycle = cycle
    }

    public var rowCount: Int { rows.count / dIn }

    public mutating func fill(_ buffer: UnsafeMutablePointer<Float>, maxRows: Int) throws -> Int {
        let n = rowCount
        guard n > 0 else { return 0 }
        if nextRow >= n { if cycle { nextRow = 0 } else { return 0 } }
        let count = min(maxRows, n - nextRow)
        rows.withUnsafeBufferPointer { (buffer).update(from: $0.baseAddress! + nextRow * dIn, count: count * dIn) }
        nextRow += count
        return count
    }

    public func checkpointState() -> [String: String] { ["next_row": "\(nextRow)"] }

    public mutating func restore(checkpointState s: [String: String]) throws {
        guard let v = s["next_row"], let n = Int(v), n >= 0, n <= rowCount else {
            throw TrainingError.checkpoint("array source state \(s) is not a row index in 0...\(rowCount)")
        }
        nextRow = n
    }
}

/// Activation rows from a tensor in a safetensors (`.safetensors`) or NumPy (`.npy`) file,
/// read straight from the memory-mapped file a batch at a time: any leading shape, flattened
/// into rows of the last dimension. F32 on disk is copied as is; F16, BF16 and F64 are
/// converted.
public struct FileActivationSource: ResumableActivationSource {
    public let url: URL
    public let tensorName: String?
    public let dIn: Int
    public let rowCount: Int
    public let cycle: Bool
    public private(set) var nextRow = 0
    private let safetensors: SafetensorsFile?
    private let npy: NPYFile?
    private let dtype: DType

    /// Opens `url`. For safetensors, `tensor` names the tensor (default: the only one, or
    /// the first in name order that has at least two dimensions).
    public init(url: URL, tensor: String? = nil, cycle: Bool = false) throws {
        self.url = url
        self.cycle = cycle
        let shape: [Int]
        if url.pathExtension.lowercased() == "npy" {
            let f = try NPYFile(contentsOf: url)
            npy = f; safetensors = nil; tensorName = nil
            shape = f.shape; dtype = f.dtype
        } else {
            let f = try SafetensorsFile(contentsOf: url)
            safetensors = f; npy = nil
            let name: String
            if let tensor {
                guard f.contains(tensor) else {
                    throw TrainingError.invalidConfig("\(url.path): no tensor '\(tensor)'; it has \(f.names.joined(separator: ", "))")
                }
                name = tensor
            } else if f.names.count == 1 {
                name = f.names[0]
            } else if let first = try f.names.first(where: { try f.info($0).shape.count >= 2 }) {
                name = first
            } else {
                throw TrainingError.invalidConfig("\(url.path): no tensor with at least two dimensions to read rows from")
            }
            tensorName = name
            let info = try f.info(name)
            shape = info.shape; dtype = info.dtype
        }
        guard dtype.isFloatingPoint else { throw TrainingError.invalidConfig("\(url.path): activations must be floating point, the tensor is \(dtype)") }
        guard let last = shape.last, last > 0, shape.count >= 1 else {
            throw TrainingError.invalidConfig("\(url.path): tensor shape \(shape) has no rows")
        }
        dIn = last
        rowCount = shape.dropLast().reduce(1, *)
    }

    public mutating func fill(_ buffer: UnsafeMutablePointer<Float>, maxRows: Int) throws -> Int {
        guard rowCount > 0 else { return 0 }
        if nextRow >= rowCount { if cycle { nextRow = 0 } else { return 0 } }
        let count = min(maxRows, rowCount - nextRow)
        let first = nextRow * dIn, n = count * dIn
        let dtype = self.dtype
        let copy: (UnsafeRawBufferPointer) throws -> Void = { bytes in
            let size = dtype.byteSize
            guard bytes.count >= (first + n) * size else { throw TrainingError.invalidConfig("\(self.url.path): file shorter than its header says") }
            let base = bytes.baseAddress! + first * size
            switch dtype {
            case .f32: for i in 0..<n { buffer[i] = base.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
            case .f64: for i in 0..<n { buffer[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
            case .f16: for i in 0..<n { buffer[i] = HalfFloat.float(fromHalfBits: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
            case .bf16: for i in 0..<n { buffer[i] = HalfFloat.float(fromBFloat16Bits: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
            default: throw TrainingError.invalidConfig("\(self.url.path): unsupported activation dtype \(dtype)")
            }
        }
        if let s = safetensors, let name = tensorName { try s.withRawBytes(of: name, copy) } else if let f = npy { try f.withElementBytes(copy) }
        for i in 0..<n where !buffer[i].isFinite {
            throw TrainingError.invalidConfig("\(url.path): activation row \(nextRow + i / dIn) holds a non-finite value")
        }
        nextRow += count
        return count
    }

    public func checkpointState() -> [String: String] { ["next_row": "\(nextRow)", "file": url.path] }

    public mutating func restore(checkpointState s: [String: String]) throws {
        guard let v = s["next_row"], let n = Int(v), n >= 0, n <= rowCount else {
            throw TrainingError.checkpoint("file source state \(s) is not a row index in 0...\(rowCount)")
        }
        nextRow = n
    }
}

extension SyntheticActivations: ResumableActivationSource {
    public func checkpointState() -> [String: String] { ["rows_produced": "\(rowsProduced)"] }

    /// Moves the seeded stream back to the checkpointed position (drawing only which
    /// features fire, not building the rows).
    public mutating func restore(checkpointState s: [String: String]) throws {
        guard let v = s["rows_produced"], let n = Int(v), n >= 0 else {
            throw TrainingError.checkpoint("synthetic source state \(s) has no row count")
        }
        reset()
        skip(rows: n)
    }
}
