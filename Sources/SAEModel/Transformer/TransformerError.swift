/// What can go wrong loading or running a `Transformer`. Every case names the file, the
/// hook or the argument at fault.
public enum TransformerError: Error, CustomStringConvertible, Equatable {
    /// A tensor whose shape is not the one the config implies.
    public struct ShapeMismatch: Sendable, Equatable {
        public let tensor: String
        public let expected: [Int]
        public let found: [Int]
    }

    /// `config.json` is unreadable, malformed, or asks for something not supported.
    case invalidConfig(file: String, reason: String)
    /// The weights file lacks tensors or holds tensors of the wrong shape (all listed).
    case invalidWeights(file: String, missing: [String], misshaped: [ShapeMismatch])
    /// A hook name that is not one of the model's hook points.
    case unknownHook(name: String, valid: [String])
    /// Tokens that the model cannot run (shape, context length, ids outside the vocabulary).
    case invalidTokens(reason: String)
    /// A run request that contradicts itself (e.g. outputs asked for with `stopAfter`).
    case invalidRequest(reason: String)
    /// An intervention left a hook's value with a different shape.
    case interventionChangedShape(hook: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .invalidConfig(file, reason):
            return "transformer config \(file): \(reason)"
        case let .invalidWeights(file, missing, misshaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing tensors: \(missing.joined(separator: ", "))") }
            if !misshaped.isEmpty {
                parts.append("wrong shapes: " + misshaped.map {
                    "\($0.tensor) expected \($0.expected) got \($0.found)"
                }.joined(separator: "; "))
            }
            return "transformer weights \(file): " + parts.joined(separator: "; ")
        case let .unknownHook(name, valid):
            return "unknown hook '\(name)'; valid hooks: \(valid.joined(separator: ", "))"
        case let .invalidTokens(reason):
            return "transformer tokens: \(reason)"
        case let .invalidRequest(reason):
            return "transformer run: \(reason)"
        case let .interventionChangedShape(hook, expected, found):
            return "intervention at '\(hook)' changed the value's shape from \(expected) to \(found)"
        }
    }
}
