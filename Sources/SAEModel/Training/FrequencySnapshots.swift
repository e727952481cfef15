import Foundation
import SAEKernels

/// Per-feature firing frequencies recorded during training, one row per snapshot: what the
/// density-over-training analysis draws. Stored as `feature_frequencies.safetensors` with
/// `tokens` (I64 [n], tokens seen at each snapshot) and `frequencies` (F32 [n, d_sae], the
/// fraction of the snapshot period's tokens on which each feature fired).
public struct FrequencySnapshots: Sendable, Equatable {
    public var tokens: [Int]
    public var frequencies: [[Float]]

    public init(tokens: [Int], frequencies: [[Float]]) {
        precondition(tokens.count == frequencies.count, "FrequencySnapshots: \(tokens.count) token counts, \(frequencies.count) rows")
        self.tokens = tokens
        self.frequencies = frequencies
    }

    public init(_ snapshots: [(tokens: Int, frequencies: [Float])] = []) {
        self.init(tokens: snapshots.map(\.tokens), frequencies: snapshots.map(\.frequencies))
    }

    public var count: Int { tokens.count }

    /// Adds the snapshot taken after `tokens` tokens.
    public mutating func append(tokens: Int, frequencies: [Float]) {
        self.tokens.append(tokens)
        self.frequencies.append(frequencies)
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws {
        let width = frequencies.first?.count ?? 0
        precondition(frequencies.allSatisfy { $0.count == width }, "FrequencySnapshots: rows of different widths")
        var w = SafetensorsWriter(metadata: ["format": "saekit-frequency-snapshots"])
        try w.add("tokens", shape: [tokens.count], ints: tokens)
        try w.add("frequencies", shape: [frequencies.count, width], floats: frequencies.flatMap { $0 })
        try w.write(to: url)
    }

    /// Reads a file written by `write(to:)`; errors name the file and the problem.
    public static func read(from url: URL) throws -> FrequencySnapshots {
        let f = try SafetensorsFile(contentsOf: url)
        let tokens = try f.ints("tokens")
        let info = try f.info("frequencies")
        guard info.shape.count == 2, info.shape[0] == tokens.count else {
            throw TrainingError.invalidConfig("\(url.path): 'frequencies' has shape \(info.shape), expected [\(tokens.count), d_sae]")
        }
        let flat = try f.floats("frequencies")
        let width = info.shape[1]
        return FrequencySnapshots(tokens: tokens, frequencies: (0..<tokens.count).map { Array(flat[$0 * width ..< ($0 + 1) * width]) })
    }
}
