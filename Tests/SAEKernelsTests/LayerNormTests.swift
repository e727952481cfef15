import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `LayerNorm.forward` against its naive twin (Double statistics) and Double math.
final class LayerNormTests: XCTestCase {
    private struct Output {
        var y: [Float], normalized: [Float], mean: [Float], rstd: [Float]
    }

    private func run(
        _ x: [Float], rows: Int, d: Int, weight: [Float]?, bias: [Float]?, eps: Float = 1e-5,
        threads: Int = 2, twin: Bool = false
    ) -> Output {
        var out = Output(y: .init(repeating: .nan, count: rows * d), normalized: .init(repeating: .nan, count: rows * d),
                         mean: .init(repeating: .nan, count: rows), rstd: .init(repeating: .nan, count: rows))
        let w = weight.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        let b = bias.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        defer { w?.deallocate(); b?.deallocate() }
        if let w, let weight { _ = w.initialize(from: weight) }
        if let b, let bias { _ = b.initialize(from: bias) }
        let xp = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, x.count))
        defer { xp.deallocate() }
        _ = xp.initialize(from: x)
        out.y.withUnsafeMutableBufferPointer { y in
            out.normalized.withUnsafeMutableBufferPointer { n in
                out.mean.withUnsafeMutableBufferPointer { m in
                    out.rstd.withUnsafeMutableBufferPointer { r in
                        if twin {
                            Reference.layerNorm(xp.baseAddress!, rows: rows, d: d, weight: w?.baseAddress,
                                                bias: b?.baseAddress, eps: eps, output: y.baseAddress!,
                                                normalized: n.baseAddress, mean: m.baseAddress, rstd: r.baseAddress)
                        } else {
                            LayerNorm.forward(xp.baseAddress!, rows: rows, d: d, weight: w?.baseAddress,
                                              bias: b?.baseAddress, eps: eps, output: y.baseAddress!,
                                              normalized: n.baseAddress, mean: m.baseAddress, rstd: r.baseAddress,
                                              threads: threads)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Rows with a random offset in [-5, 5] and a random scale in [0.5, 3].
    private func inputs(rows: Int, d: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var x = [Float]()
        for _ in 0..<rows {
            let offset = rng.uniform(-5, 5), scale = rng.uniform(0.5, 3)
            x += (0..<d).map { _ in offset + scale * rng.normal() }
        }
        return x
    }

    /// Double-precision LayerNorm written independently of the twin.
    private func layerNormDouble(_ x: [Float], rows: Int, d: Int, weight: [Float]?, bias: [Float]?, eps: Double)
        -> (y: [Double], normalized: [Double], mean: [Double], rstd: [Double]) {
        var y = [Double](), n = [Double](), means = [Double](), rstds = [Double]()
        for r in 0..<rows {
            let row = x[(r * d)..<(r * d + d)].map(Double.init)
            let mu = row.reduce(0, +) / Double(d)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(d)
            let rs = 1 / (variance + eps).squareRoot()
            means.append(mu); rstds.append(rs)
            for j in 0..<d {
                let xhat = (row[j] - mu) * rs
                n.append(xhat)
                y.append(xhat * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0))
            }
        }
        return (y, n, means, rstds)
    }

    /// Fast vs twin and twin vs Double, all shapes, with and without weight / bias.
    /// Tolerances: fast vs Double `rtol 4e-7, atol 4e-7` on `xhat` (O(1)) and on `y`
    /// scaled by `|w| + |b|`, mean `2e-7`, rstd `rtol 4e-7`; twin vs Double: one Float
    /// rounding (`rtol 1e-7`).
    func testMatchesTwinAndDouble() {
        for d in KernelCheck.sizes.filter({ $0 > 0 }) + [768] {
            for rows in [0, 1, 5] {
                let x = inputs(rows: rows, d: d, seed: UInt64(d * 10 + rows))
                var rng = SeededRandom(seed: UInt64(d))
                let w = (0..<d).map { _ in 1 + 0.3 * rng.normal() }
                let b = (0..<d).map { _ in 0.3 * rng.normal() }
                for (weight, bias) in [(w, b), (nil, nil), (w, nil), (nil, b)] as [([Float]?, [Float]?)] {
                    let what = "rows=\(rows) d=\(d) weight=\(weight != nil) bias=\(bias != nil)"
                    let fast = run(x, rows: rows, d: d, weight: weight, bias: bias)
                    let twin = run(x, rows: rows, d: d, weight: weight, bias: bias, twin: true)
                    let exact = layerNormDouble(x, rows: rows, d: d, weight: weight, bias: bias, eps: 1e-5)
                    let yScale: (Int) -> Double = {
                        4e-7 * (Double(Swift.abs(weight?[$0 % d] ?? 1)) + Double(Swift.abs(bias?[$0 % d] ?? 0)))
                    }
                    assertClose(fast.y, exact.y, atol: yScale, rtol: 4e-7, "fast y " + what)
                    assertClose(fast.normalized, exact.normalized, atol: 4e-7, rtol: 4e-7,
                                "fast xhat " + what)
                    assertClose(fast.mean, exact.mean, atol: 2e-7, rtol: 2e-7, "fast mean " + what)
                    assertClose(fast.rstd, exact.rstd, atol: 0, rtol: 4e-7, "fast rstd " + what)
                    assertClose(twin.y, exact.y, atol: 1e-30, rtol: 1e-7, "twin y " + what)
                    assertClose(twin.normalized, exact.normalized, atol: 1e-30, rtol: 1e-7,
                                "twin xhat " + what)
                    assertClose(fast.y, twin.y.map(Double.init), atol: yScale, rtol: 4e-7, "fast vs twin y " + what)
                }
            }
        }
    }

    /// A large common offset (1000 + 0.01 N(0, 1)): the corrected two-pass statistics keep
    /// `xhat` accurate to `1e-6` although `x` itself only carries about 8 bits of the noise.
    func testLargeOffsetRowsStayAccurate() {
        let rows = 4, d = 1021
        var rng = SeededRandom(seed: 99)
        let x = (0..<(rows * d)).map { _ in 1000 + 0.01 * rng.normal() }
        let fast = run(x, rows: rows, d: d, weight: nil, bias: nil, eps: 0)
        let exact = layerNormDouble(x, rows: rows, d: d, weight: nil, bias: nil, eps: 0)
        assertClose(fast.normalized, exact.normalized, atol: 1e-6, rtol: 1e-6, "offset 1000 xhat")
        assertClose(fast.rstd, exact.rstd, atol: 0, rtol: 1e-6, "offset 1000 rstd")
    }

    /// d = 1 and constant rows: variance 0, `xhat = 0`, `y = bias`, `rstd = 1/sqrt(eps)`.
    func testConstantRows() {
        let d = 17
        let x = [Float](repeating: 3.25, count: 2 * d) + [Float](repeating: -7, count: 1)
        var rng = SeededRandom(seed: 5)
        let b = (0..<d).map { _ in rng.normal() }
        let out = run(Array(x[0..<(2 * d)]), rows: 2, d: d, weight: b, bias: b, eps: 1e-5)
        XCTAssertEqual(out.normalized, [Float](repeating: 0, count: 2 * d))
        XCTAssertEqual(out.y, b + b)
        XCTAssertEqual(out.rstd[0], 1 / Float(1e-5).squareRoot(), accuracy: 1)
        let one = run([-7], rows: 1, d: 1, weight: [2], bias: [0.5])
        XCTAssertEqual(one.y, [0.5]); XCTAssertEqual(one.mean, [-7])
    }

    /// Rows above the threading threshold: 1, 2 and 3 threads give the same bits, and
    /// `y == x` in place gives the same bits too.
    func testThreadCountsAndInPlaceAreBitwiseIdentical() {
        let rows = 257, d = 1021
        let x = inputs(rows: rows, d: d, seed: 7)
        var rng = SeededRandom(seed: 8)
        let w = (0..<d).map { _ in 1 + 0.3 * rng.normal() }, b = (0..<d).map { _ in rng.normal() }
        let one = run(x, rows: rows, d: d, weight: w, bias: b, threads: 1)
        for t in [2, 3] {
            let other = run(x, rows: rows, d: d, weight: w, bias: b, threads: t)
            assertBitwiseEqual(other.y, one.y, "y threads=\(t)")
            assertBitwiseEqual(other.normalized, one.normalized, "xhat threads=\(t)")
            assertBitwiseEqual(other.mean + other.rstd, one.mean + one.rstd, "stats threads=\(t)")
        }
        var inPlace = x
        w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                inPlace.withUnsafeMutableBufferPointer { p in
                    LayerNorm.forward(p.baseAddress!, rows: rows, d: d, weight: wp.baseAddress, bias: bp.baseAddress,
                                      output: p.baseAddress!, threads: 3)
                }
            }
        }
        assertBitwiseEqual(inPlace, one.y, "in place")
    }
}
