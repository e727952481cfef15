/// What can go wrong loading or saving an SAELens SAE folder. Every case names the file
/// (a path) and the problem.
public enum SAEFormatError: Error, CustomStringConvertible, Equatable {
    /// A file the folder must hold is not there.
    case missingFile(path: String)
    /// `cfg.json` is not valid JSON, or a key is missing or has the wrong type or value.
    case invalidConfig(file: String, reason: String)
    /// `cfg.json`'s `architecture` is not one SAEKit knows.
    case unknownArchitecture(file: String, architecture: String)
    /// `cfg.json`'s `normalize_activations` is a value SAEKit does not support.
    case unsupportedNormalization(file: String, value: String)
    /// A tensor the architecture needs is not in the weights file.
    case missingTensor(file: String, tensor: String, available: [String])
    /// A tensor has the wrong shape (or rank) for the SAE.
    case tensorShape(file: String, tensor: String, shape: [Int], expected: [Int])
    /// The weights' dimensions disagree with `cfg.json`'s `d_in` / `d_sae`.
    case dimensionMismatch(file: String, tensor: String, shape: [Int], dIn: Int, dSae: Int)
    /// A tensor is not stored as a floating-point type.
    case unsupportedDType(file: String, tensor: String, dtype: DType)
    /// A weight is NaN or infinite.
    case nonFiniteWeight(file: String, tensor: String, index: Int, value: Float)
    /// The SAE cannot be written (a file-system error, or an inconsistent SAE).
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path):
            return "SAE folder: missing file \(path)"
        case let .invalidConfig(file, reason):
            return "SAE config \(file): \(reason)"
        case let .unknownArchitecture(file, architecture):
            return "SAE config \(file): unknown architecture '\(architecture)' (known: \(SAEArchitecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupportedNormalization(file, value):
            return "SAE config \(file): normalize_activations '\(value)' is not supported (supported: \(ActivationNormalization.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .missingTensor(file, tensor, available):
            return "SAE weights \(file): no tensor '\(tensor)'; the file has \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case let .tensorShape(file, tensor, shape, expected):
            return "SAE weights \(file): tensor '\(tensor)' has shape \(shape); expected \(expected)"
        case let .dimensionMismatch(file, tensor, shape, dIn, dSae):
            return "SAE weights \(file): tensor '\(tensor)' has shape \(shape) but cfg.json says d_in = \(dIn), d_sae = \(dSae)"
        case let .unsupportedDType(file, tensor, dtype):
            return "SAE weights \(file): tensor '\(tensor)' has dtype \(dtype); expected F32, F16, BF16 or F64"
        case let .nonFiniteWeight(file, tensor, index, value):
            return "SAE weights \(file): tensor '\(tensor)' element \(index) is \(value)"
        case let .cannotWrite(path, reason):
            return "SAE folder \(path): cannot write: \(reason)"
        }
    }
}
