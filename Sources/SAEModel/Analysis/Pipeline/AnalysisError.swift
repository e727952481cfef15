/// Why an analysis could not run.
public enum AnalysisError: Error, CustomStringConvertible, Equatable {
    /// The measurement needs another kind of hook (e.g. the null space of `W_out` needs
    /// `blocks.L.mlp.hook_post`).
    case unsupportedHook(hook: String, measurement: String, reason: String)
    /// Shapes that do not fit together (an SAE's `d_in` and the hook's width, two SAEs).
    case shapeMismatch(String)
    /// An option or argument out of range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unsupportedHook(hook, measurement, reason):
            return "\(measurement) cannot use hook '\(hook)': \(reason)"
        case let .shapeMismatch(s): return "shape mismatch: \(s)"
        case let .invalidArgument(s): return "invalid argument: \(s)"
        }
    }
}
