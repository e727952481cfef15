import SAEKernels

/// Where the trainer's activation buffer gets its rows: a model run over a token dataset,
/// a file of activations, or a synthetic generator.
///
/// A source produces rows of `dIn` Floats in its own order; the trainer's buffer shuffles.
public protocol ActivationSource {
    /// The width of each activation row.
    var dIn: Int { get }
    /// Writes up to `maxRows` rows (row-major, `dIn` each) into `buffer` and returns how many
    /// it wrote; 0 means the source is exhausted. Throws on bad input (naming the file).
    mutating func fill(_ buffer: UnsafeMutablePointer<Float>, maxRows: Int) throws -> Int
}

/// A source that can say where it stands, so a checkpoint resumes it exactly.
public protocol ResumableActivationSource: ActivationSource {
    /// The source's position as strings (e.g. the next context index, an RNG state).
    func checkpointState() -> [String: String]
    /// Puts the source back where `checkpointState()` said it was.
    mutating func restore(checkpointState: [String: String]) throws
}
