/// The element type of a stored tensor, named as safetensors names it.
///
/// All multi-byte types are little-endian in files. `BOOL` is one byte, 0 or 1.
/// `F16` is IEEE 754 binary16; `BF16` is bfloat16 (the top half of a binary32).
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case u16 = "U16"
    case i16 = "I16"
    case f16 = "F16"
    case bf16 = "BF16"
    case u32 = "U32"
    case i32 = "I32"
    case f32 = "F32"
    case u64 = "U64"
    case i64 = "I64"
    case f64 = "F64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64: return 8
        }
    }

    /// F16, BF16, F32 or F64.
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }

    /// The signed and unsigned integer types and BOOL.
    public var isInteger: Bool { !isFloatingPoint }

    public var description: String { rawValue }
}
