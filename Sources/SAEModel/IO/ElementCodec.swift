/// Decoding and encoding of little-endian element bytes, shared by the safetensors,
/// .npy and token readers. Buffers may be unaligned (offsets inside a file are only
/// byte-aligned), so every load is an unaligned load. Assumes a little-endian host.
package enum ElementCodec {
    /// The elements of `raw` (`raw.count / dtype.byteSize` of them) as Floats; F64 is
    /// rounded to nearest. Returns nil for a non-floating-point dtype.
    package static func floats(_ raw: UnsafeRawBufferPointer, as dtype: DType) -> [Float]? {
        let n = raw.count / dtype.byteSize
        switch dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: n * 4) }
                initialized = n
            }
        case .f16:
            return map(raw, n, UInt16.self) { HalfFloat.float(fromHalfBits: $0) }
        case .bf16:
            return map(raw, n, UInt16.self) { HalfFloat.float(fromBFloat16Bits: $0) }
        case .f64:
            return map(raw, n, Double.self) { Float($0) }
        default:
            return nil
        }
    }

    /// The elements of `raw` as Ints (BOOL as 0/1). Returns nil for a floating-point
    /// dtype. A U64 value beyond `Int.max` is reported through `overflow` (its index)
    /// and stored as `Int.max`.
    package static func ints(_ raw: UnsafeRawBufferPointer, as dtype: DType,
                             overflow: inout Int?) -> [Int]? {
        let n = raw.count / dtype.byteSize
        switch dtype {
        case .bool: return map(raw, n, UInt8.self) { $0 == 0 ? 0 : 1 }
        case .u8: return map(raw, n, UInt8.self) { Int($0) }
        case .i8: return map(raw, n, Int8.self) { Int($0) }
        case .u16: return map(raw, n, UInt16.self) { Int($0) }
        case .i16: return map(raw, n, Int16.self) { Int($0) }
        case .u32: return map(raw, n, UInt32.self) { Int($0) }
        case .i32: return map(raw, n, Int32.self) { Int($0) }
        case .i64: return map(raw, n, Int64.self) { Int($0) }
        case .u64:
            var firstOverflow: Int? = nil
            var i = 0
            let result = map(raw, n, UInt64.self) { (v: UInt64) -> Int in
                defer { i += 1 }
                if v > UInt64(Int.max) {
                    if firstOverflow == nil { firstOverflow = i }
                    return Int.max
                }
                return Int(v)
            }
            overflow = firstOverflow
            return result
        case .f16, .bf16, .f32, .f64:
            return nil
        }
    }

    /// Floats encoded as `dtype` (F32, F16, BF16 or F64) little-endian bytes; nil for
    /// another dtype.
    package static func bytes(of values: UnsafeBufferPointer<Float>, as dtype: DType) -> [UInt8]? {
        switch dtype {
        case .f32: return Array(UnsafeRawBufferPointer(values))
        case .f16: return encode(values.lazy.map { HalfFloat.halfBits(from: $0) }, count: values.count)
        case .bf16: return encode(values.lazy.map { HalfFloat.bfloat16Bits(from: $0) }, count: values.count)
        case .f64: return encode(values.lazy.map { Double($0) }, count: values.count)
        default: return nil
        }
    }

    /// Ints encoded as the integer `dtype`; returns the index of the first value that
    /// does not fit through `outOfRange` (and nil) when one does not.
    package static func bytes(of values: [Int], as dtype: DType, outOfRange: inout Int?) -> [UInt8]? {
        func convert<T: FixedWidthInteger>(_: T.Type) -> [UInt8]? {
            var converted = [T]()
            converted.reserveCapacity(values.count)
            for (i, v) in values.enumerated() {
                guard let t = T(exactly: v) else { outOfRange = i; return nil }
                converted.append(t)
            }
            return converted.withUnsafeBytes { Array($0) }
        }
        switch dtype {
        case .bool:
            if let i = values.firstIndex(where: { $0 != 0 && $0 != 1 }) { outOfRange = i; return nil }
            return values.map { UInt8($0) }
        case .u8: return convert(UInt8.self)
        case .i8: return convert(Int8.self)
        case .u16: return convert(UInt16.self)
        case .i16: return convert(Int16.self)
        case .u32: return convert(UInt32.self)
        case .i32: return convert(Int32.self)
        case .u64: return convert(UInt64.self)
        case .i64: return convert(Int64.self)
        case .f16, .bf16, .f32, .f64: return nil
        }
    }

    @inline(__always)
    private static func map<T, R>(_ raw: UnsafeRawBufferPointer, _ n: Int, _: T.Type,
                                  _ transform: (T) -> R) -> [R] {
        [R](unsafeUninitializedCapacity: n) { out, initialized in
            let stride = MemoryLayout<T>.size
            for i in 0..<n {
                (out.baseAddress! + i).initialize(to: transform(raw.loadUnaligned(fromByteOffset: i * stride, as: T.self)))
            }
            initialized = n
        }
    }

    private static func encode<S: Sequence>(_ values: S, count: Int) -> [UInt8] where S.Element: FixedWidthInteger {
        var out = [S.Element]()
        out.reserveCapacity(count)
        out.append(contentsOf: values)
        return out.withUnsafeBytes { Array($0) }
    }

    private static func encode<S: Sequence>(_ values: S, count: Int) -> [UInt8] where S.Element == Double {
        var out = [Double]()
        out.reserveCapacity(count)
        out.append(contentsOf: values)
        return out.withUnsafeBytes { Array($0) }
    }
}
