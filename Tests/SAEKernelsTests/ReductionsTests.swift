import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `Reductions` against the naive twins (Double sums) and Double math; integer results
/// must match exactly, and every result must be bitwise identical across thread counts.
final class ReductionsTests: XCTestCase {

    /// ReLU-like activations: about half exact zeros, a few `-0` and tiny values.
    private func activations(rows: Int, n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var x = randomArray(rows * n, &rng, scale: 2).map { max($0, 0) }
        for i in stride(from: 3, to: x.count, by: 37) { x[i] = -0.0 }
        for i in stride(from: 5, to: x.count, by: 41) { x[i] = 1e-30 }
        return x
    }

    private func floats(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        return out
    }

    private func ints(_ start: [Int], _ body: (UnsafeMutablePointer<Int>) -> Void) -> [Int] {
        var out = start
        out.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        return out
    }

    /// Row L2 / L1 / L0, all sizes. Tolerance for the Float sums: `rtol 3e-7` against the
    /// Double twin and against Double math (block sums keep the error near one rounding).
    func testRowNormsMatchTwinAndDouble() {
        for n in KernelCheck.sizes + [16384] {
            for rows in n > 5000 ? [3] : [0, 1, 5] {
                let x = activations(rows: rows, n: n, seed: UInt64(n * 3 + rows))
                let signed = x.enumerated().map { $0.offset % 3 == 0 ? -$0.element : $0.element }
                let what = "rows=\(rows) n=\(n)"
                x.withUnsafeBufferPointer { xp in
                    signed.withUnsafeBufferPointer { sp in
                        let x = xp.baseAddress!, s = sp.baseAddress!
                        let l2 = floats(rows) { Reductions.rowL2Norms(s, rows: rows, d: n, norms: $0, threads: 2) }
                        let l2Twin = floats(rows) { Reference.rowL2Norms(s, rows: rows, d: n, norms: $0) }
                        let l1 = floats(rows) { Reductions.rowL1(s, rows: rows, n: n, sums: $0, threads: 2) }
                        let l1Twin = floats(rows) { Reference.rowL1(s, rows: rows, n: n, sums: $0) }
                        let l2Exact = (0..<rows).map { r in (0..<n).reduce(0.0) { $0 + Double(s[r * n + $1]) * Double(s[r * n + $1]) }.squareRoot() }
                        let l1Exact = (0..<rows).map { r in (0..<n).reduce(0.0) { $0 + Double(s[r * n + $1].magnitude) } }
                        assertClose(l2, l2Exact, atol: 0, rtol: 3e-7, "L2 fast vs Double " + what)
                        assertClose(l2Twin, l2Exact, atol: 0, rtol: 6e-8, "L2 twin vs Double " + what)
                        assertClose(l2, l2Twin, atol: 0, rtol: 3e-7, "L2 fast vs twin " + what)
                        assertClose(l1, l1Exact, atol: 0, rtol: 3e-7, "L1 fast vs Double " + what)
                        assertClose(l1Twin, l1Exact, atol: 0, rtol: 6e-8, "L1 twin vs Double " + what)
                        assertClose(l1, l1Twin, atol: 0, rtol: 3e-7, "L1 fast vs twin " + what)

                        let l0 = ints(.init(repeating: -1, count: rows)) { Reductions.rowL0(x, rows: rows, n: n, counts: $0, threads: 2) }
                        let l0Twin = ints(.init(repeating: -1, count: rows)) { Reference.rowL0(x, rows: rows, n: n, counts: $0) }
                        let l0Exact = (0..<rows).map { r in (0..<n).filter { x[r * n + $0] != 0 }.count }
                        XCTAssertEqual(l0, l0Exact, "L0 fast " + what)
                        XCTAssertEqual(l0Twin, l0Exact, "L0 twin " + what)
                    }
                }
            }
        }
        // NaN counts as nonzero, -0 as zero.
        let special: [Float] = [.nan, -0.0, 0, 1, -.infinity, 0, 0, 0, 0, 2]
        let c = special.withUnsafeBufferPointer { p in ints([0]) { Reductions.rowL0(p.baseAddress!, rows: 1, n: 10, counts: $0) } }
        XCTAssertEqual(c, [4])
    }

    /// Dense and CSR fire counts: exact, added to existing counts.
    func testFireCountsMatchTwinExactly() {
        for n in KernelCheck.sizes + [2000] {
            for rows in [0, 1, 9, 300] {
                let x = activations(rows: rows, n: n, seed: UInt64(n * 5 + rows))
                let start = (0..<n).map { $0 * 3 }
                let what = "rows=\(rows) n=\(n)"
                var exact = start
                for r in 0..<rows { for j in 0..<n where x[r * n + j] != 0 { exact[j] += 1 } }
                x.withUnsafeBufferPointer { xp in
                    let dense = ints(start) { Reductions.addFireCounts(xp.baseAddress!, rows: rows, n: n, counts: $0, threads: 2) }
                    let denseTwin = ints(start) { Reference.addFireCounts(xp.baseAddress!, rows: rows, n: n, counts: $0) }
                    XCTAssertEqual(dense, exact, "dense fast " + what)
                    XCTAssertEqual(denseTwin, exact, "dense twin " + what)
                }
                // CSR: list every nonzero, plus some explicit zeros that must not count.
                var indices = [Int32](), values = [Float](), offsets = [0]
                for r in 0..<rows {
                    for j in 0..<n where x[r * n + j] != 0 || j % 11 == 0 {
                        indices.append(Int32(j)); values.append(x[r * n + j])
                    }
                    offsets.append(indices.count)
                }
                indices.withUnsafeBufferPointer { ip in
                    values.withUnsafeBufferPointer { vp in
                        offsets.withUnsafeBufferPointer { op in
                            let sparse = ints(start) {
                                Reductions.addFireCounts(indices: ip.baseAddress!, values: vp.baseAddress!, rowOffsets: op.baseAddress!,
                                                         rows: rows, features: n, counts: $0)
                            }
                            let sparseTwin = ints(start) {
                                Reference.addFireCounts(indices: ip.baseAddress!, values: vp.baseAddress!, rowOffsets: op.baseAddress!,
                                                        rows: rows, features: n, counts: $0)
                            }
                            XCTAssertEqual(sparse, exact, "sparse fast " + what)
                            XCTAssertEqual(sparseTwin, exact, "sparse twin " + what)
                            // Without values every listed entry counts.
                            var listed = start
                            for k in 0..<indices.count { listed[Int(indices[k])] += 1 }
                            let noValues = ints(start) {
                                Reductions.addFireCounts(indices: ip.baseAddress!, values: nil, rowOffsets: op.baseAddress!,
                                                         rows: rows, features: n, counts: $0)
                            }
                            XCTAssertEqual(noValues, listed, "sparse without values " + what)
                        }
                    }
                }
            }
        }
    }

    private func statistics(_ x: [Float], _ xHat: [Float], rows: Int, d: Int, threads: Int = 2, twin: Bool = false)
        -> ReconstructionStatistics {
        x.withUnsafeBufferPointer { xp in
            xHat.withUnsafeBufferPointer { hp in
                twin ? Reference.reconstructionStatistics(xp.baseAddress!, hp.baseAddress!, rows: rows, d: d)
                    : Reductions.reconstructionStatistics(xp.baseAddress!, hp.baseAddress!, rows: rows, d: d, threads: threads)
            }
        }
    }

    /// Inputs with per-dimension offsets (mean 5 +- 3, std 1) and a reconstruction with
    /// relative error ~0.3: MSE and explained variance against two-pass Double math.
    /// Tolerance: sums `rtol 1e-6`; MSE and EV `rtol 1e-6`.
    func testReconstructionStatisticsMatchTwinAndDouble() {
        for d in KernelCheck.sizes.filter({ $0 > 0 }) + [512] {
            for rows in [1, 7, 300] {
                var rng = SeededRandom(seed: UInt64(d * 13 + rows))
                let offsets = (0..<d).map { _ in 5 + rng.uniform(-3, 3) }
                let x = (0..<(rows * d)).map { offsets[$0 % d] + rng.normal() }
                let xHat = x.map { $0 + 0.3 * rng.normal() }
                let what = "rows=\(rows) d=\(d)"
                let fast = statistics(x, xHat, rows: rows, d: d), twin = statistics(x, xHat, rows: rows, d: d, twin: true)
                XCTAssertEqual(fast.rows, rows); XCTAssertEqual(twin.rows, rows)
                // Double math, two-pass.
                var sse = 0.0, total = 0.0
                for j in 0..<d {
                    let mean = (0..<rows).reduce(0.0) { $0 + Double(x[$1 * d + j]) } / Double(rows)
                    for r in 0..<rows {
                        let e = Double(x[r * d + j]) - Double(xHat[r * d + j])
                        sse += e * e
                        total += (Double(x[r * d + j]) - mean) * (Double(x[r * d + j]) - mean)
                    }
                }
                for (name, s) in [("fast", fast), ("twin", twin)] {
                    XCTAssertEqual(s.sumSquaredError, sse, accuracy: 1e-6 * sse, "\(name) SSE " + what)
                    XCTAssertEqual(s.meanSquaredError, sse / Double(rows * d), accuracy: 1e-6 * sse / Double(rows * d),
                                   "\(name) MSE " + what)
                    if rows > 1 {
                        XCTAssertEqual(s.totalSumOfSquares, total, accuracy: 1e-6 * total, "\(name) total " + what)
                        XCTAssertEqual(s.explainedVariance, 1 - sse / total, accuracy: 1e-6, "\(name) EV " + what)
                    }
                }
                XCTAssertEqual(fast.sumSquaredX, twin.sumSquaredX, accuracy: 1e-6 * twin.sumSquaredX, "sum x^2 " + what)
                for j in 0..<d {
                    XCTAssertEqual(fast.sumX[j], twin.sumX[j], accuracy: 1e-12 * Swift.abs(twin.sumX[j]), "sum x[\(j)] " + what)
                }
            }
        }
    }

    /// Accumulating batches with `add` gives the statistics of the concatenation; the empty
    /// statistics are the identity.
    func testReconstructionStatisticsMerge() {
        let d = 37
        var rng = SeededRandom(seed: 3)
        let x = randomArray(500 * d, &rng), xHat = x.map { $0 + 0.1 * rng.normal() }
        let whole = statistics(x, xHat, rows: 500, d: d)
        var merged = ReconstructionStatistics(d: d)
        var start = 0
        for batch in [0, 1, 255, 100, 144] {
            let part = statistics(Array(x[(start * d)..<((start + batch) * d)]), Array(xHat[(start * d)..<((start + batch) * d)]),
                                  rows: batch, d: d)
            merged.add(part)
            start += batch
        }
        XCTAssertEqual(merged.rows, 500)
        XCTAssertEqual(merged.sumSquaredError, whole.sumSquaredError, accuracy: 1e-9 * whole.sumSquaredError)
        XCTAssertEqual(merged.explainedVariance, whole.explainedVariance, accuracy: 1e-9)
        XCTAssertEqual(merged.meanSquaredError, whole.meanSquaredError, accuracy: 1e-12)
        var identity = whole
        identity.add(ReconstructionStatistics(d: d))
        XCTAssertEqual(identity, whole)
    }

    /// Shapes above the threading threshold: 1, 2, 3 threads give identical bits.
    func testThreadCountsAreBitwiseIdentical() {
        let rows = 1000, n = 509
        let x = activations(rows: rows, n: n, seed: 21)
        var rng = SeededRandom(seed: 22)
        let xHat = x.map { $0 + 0.2 * rng.normal() }
        x.withUnsafeBufferPointer { xp in
            let p = xp.baseAddress!
            let l2 = floats(rows) { Reductions.rowL2Norms(p, rows: rows, d: n, norms: $0, threads: 1) }
            let l1 = floats(rows) { Reductions.rowL1(p, rows: rows, n: n, sums: $0, threads: 1) }
            let l0 = ints(.init(repeating: 0, count: rows)) { Reductions.rowL0(p, rows: rows, n: n, counts: $0, threads: 1) }
            let fire = ints(.init(repeating: 0, count: n)) { Reductions.addFireCounts(p, rows: rows, n: n, counts: $0, threads: 1) }
            let stats = statistics(x, xHat, rows: rows, d: n, threads: 1)
            for t in [2, 3] {
                assertBitwiseEqual(floats(rows) { Reductions.rowL2Norms(p, rows: rows, d: n, norms: $0, threads: t) }, l2, "L2 threads=\(t)")
                assertBitwiseEqual(floats(rows) { Reductions.rowL1(p, rows: rows, n: n, sums: $0, threads: t) }, l1, "L1 threads=\(t)")
                XCTAssertEqual(ints(.init(repeating: 0, count: rows)) { Reductions.rowL0(p, rows: rows, n: n, counts: $0, threads: t) }, l0)
                XCTAssertEqual(ints(.init(repeating: 0, count: n)) { Reductions.addFireCounts(p, rows: rows, n: n, counts: $0, threads: t) }, fire)
                XCTAssertEqual(statistics(x, xHat, rows: rows, d: n, threads: t), stats, "statistics threads=\(t)")
            }
        }
    }
}
