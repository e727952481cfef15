import SAEKernels

/// Per-latent firing bookkeeping during training.
///
/// - a window of `windowTokens` tokens: how many latents fired never, below 1e-5 and below
///   1e-4 of the window's tokens (the log reports the last completed window);
/// - tokens since each latent last fired (AuxK's dead set);
/// - counts since the last snapshot and since the last resampling check.
public struct FeatureFrequencies: Sendable, Equatable {
    public let dSae: Int
    public let windowTokens: Int
    var windowCounts: [Int]
    var windowSeen = 0
    public private(set) var lastWindow: WindowSummary?
    var tokensSinceFired: [Int]
    var snapshotCounts: [Int]
    var snapshotSeen = 0
    var resampleCounts: [Int]
    var resampleSeen = 0

    public struct WindowSummary: Sendable, Equatable, Codable {
        public var tokens: Int
        public var dead: Double
        public var below1e5: Double
        public var below1e4: Double
    }

    public init(dSae: Int, windowTokens: Int) {
        self.dSae = dSae
        self.windowTokens = max(1, windowTokens)
        windowCounts = [Int](repeating: 0, count: dSae)
        tokensSinceFired = [Int](repeating: 0, count: dSae)
        snapshotCounts = windowCounts
        resampleCounts = windowCounts
    }

    /// Counts the batch's positive activations.
    mutating func record(_ codes: SparseCodes) {
        var fired = [Bool](repeating: false, count: dSae)
        for (e, j) in codes.indices.enumerated() where codes.values[e] > 0 {
            let f = Int(j)
            windowCounts[f] += 1; snapshotCounts[f] += 1; resampleCounts[f] += 1
            fired[f] = true
        }
        for j in 0..<dSae { tokensSinceFired[j] = fired[j] ? 0 : tokensSinceFired[j] + codes.rows }
        windowSeen += codes.rows; snapshotSeen += codes.rows; resampleSeen += codes.rows
        if windowSeen >= windowTokens {
            lastWindow = summary(windowCounts, windowSeen)
            windowCounts = [Int](repeating: 0, count: dSae)
            windowSeen = 0
        }
    }

    /// The last completed window, or the current partial one before any completes.
    public var currentSummary: WindowSummary { lastWindow ?? summary(windowCounts, windowSeen) }

    func summary(_ counts: [Int], _ seen: Int) -> WindowSummary {
        let n = Double(max(1, seen))
        var dead = 0, b5 = 0, b4 = 0
        for c in counts {
            if c == 0 { dead += 1 }
            let f = Double(c) / n
            if f < 1e-5 { b5 += 1 }
            if f < 1e-4 { b4 += 1 }
        }
        let d = Double(dSae)
        return WindowSummary(tokens: seen, dead: Double(dead) / d, below1e5: Double(b5) / d, below1e4: Double(b4) / d)
    }

    mutating func restoreLastWindow(_ w: WindowSummary?) { lastWindow = w }

    /// Latents that have not fired for at least `tokens` tokens.
    func dead(afterTokens tokens: Int) -> [Int32] {
        (0..<dSae).filter { tokensSinceFired[$0] >= tokens }.map(Int32.init)
    }

    /// Frequencies since the last snapshot, and resets that count.
    mutating func takeSnapshot() -> [Float] {
        let n = Float(max(1, snapshotSeen))
        let f = snapshotCounts.map { Float($0) / n }
        snapshotCounts = [Int](repeating: 0, count: dSae)
        snapshotSeen = 0
        return f
    }

    /// Frequencies since the last resampling check, and resets that count.
    mutating func takeResamplePeriod() -> (frequencies: [Double], tokens: Int) {
        let n = Double(max(1, resampleSeen))
        let f = resampleCounts.map { Double($0) / n }
        let seen = resampleSeen
        resampleCounts = [Int](repeating: 0, count: dSae)
        resampleSeen = 0
        return (f, seen)
    }
}
