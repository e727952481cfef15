import XCTest
@testable import SAEKernels

/// Random sparse codes for the sparse kernel tests: each row holds 0 to `maxPerRow` distinct
/// latents (some rows empty), in random order, with values in [-1, 2).
func randomCodes(rows: Int, width: Int, maxPerRow: Int, _ rng: inout SeededRandom) -> SparseCodes {
    var offsets = [0], indices: [Int32] = [], values: [Float] = []
    for r in 0..<rows {
        let count = r % 5 == 4 ? 0 : rng.int(below: min(maxPerRow, width) + 1)
        var chosen = Set<Int32>()
        while chosen.count < count { chosen.insert(Int32(rng.int(below: width))) }
        for j in chosen.shuffled(using: &rng) { indices.append(j); values.append(rng.uniform(-1, 2)) }
        offsets.append(indices.count)
    }
    return SparseCodes(rows: rows, width: width, offsets: offsets, indices: indices, values: values)
}

