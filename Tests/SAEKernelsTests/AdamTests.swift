import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `Adam.step`, `Adam.projectGradientOrthogonal`, `Adam.normalizeRows` against their twins
/// and Double math; bitwise identity across thread counts.
final class AdamTests: XCTestCase {
    private struct State: Equatable {
        var p: [Float], m: [Float], v: [Float]
    }

    private func adam(
        _ s: inout State, _ g: [Float], lr: Double, beta1: Double = 0.9, beta2: Double = 0.999,
        eps: Double = 1e-8, t: Int, threads: Int = 2, twin: Bool = false
    ) {
        let n = g.count
        s.p.withUnsafeMutableBufferPointer { p in
            s.m.withUnsafeMutableBufferPointer { m in
                s.v.withUnsafeMutableBufferPointer { v in
                    g.withUnsafeBufferPointer { gp in
                        if twin {
                            Reference.adamStep(parameters: p.baseAddress!, gradients: gp.baseAddress!,
                                               firstMoment: m.baseAddress!, secondMoment: v.baseAddress!, count: n,
                                               learningRate: lr, beta1: beta1, beta2: beta2, epsilon: eps, step: t)
                        } else {
                            Adam.step(parameters: p.baseAddress!, gradients: gp.baseAddress!,
                                      firstMoment: m.baseAddress!, secondMoment: v.baseAddress!, count: n,
                                      learningRate: lr, beta1: beta1, beta2: beta2, epsilon: eps, step: t,
                                      threads: threads)
                        }
                    }
                }
            }
        }
    }

    /// Gradients for step `t`: normal, with every 13th exactly zero and a few tiny ones.
    private func gradients(_ n: Int, step t: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed &* 31 &+ UInt64(t))
        var g = randomArray(n, &rng, scale: 0.5)
        for i in stride(from: 0, to: n, by: 13) { g[i] = 0 }
        for i in stride(from: 5, to: n, by: 29) { g[i] *= 1e-6 }
        return g
    }

    /// Five steps from the same start. Double math runs the same formulas in Double, with
    /// the hyper-parameters the kernel sees (`Float(0.9)`, `Float(1 - 0.9)`, ...).
    /// Tolerances: `v` (positive terms) `rtol 1e-6`; `m` can cancel, so `4e-7` times the
    /// same recursion run on `|g|`; `p` moves by at most about `lr` per step and is rounded
    /// once per step, so `|p - p_double| <= 2e-6 * lr * t + 7e-8 * t * |p|` (twice that
    /// between fast and twin).
    func testStepsMatchTwinAndDouble() {
        let lr = 1e-3
        let b1 = Double(Float(0.9)), c1 = Double(Float(0.1)), b2 = Double(Float(0.999)), c2 = Double(Float(0.001))
        for n in KernelCheck.sizes + [40_000] {
            var rng = SeededRandom(seed: UInt64(n))
            let p0 = randomArray(n, &rng)
            var fast = State(p: p0, m: .init(repeating: 0, count: n), v: .init(repeating: 0, count: n))
            var twin = fast
            var pd = p0.map(Double.init), md = [Double](repeating: 0, count: n), vd = md, mScale = md
            for t in 1...5 {
                let g = gradients(n, step: t, seed: UInt64(n))
                adam(&fast, g, lr: lr, t: t)
                adam(&twin, g, lr: lr, t: t, twin: true)
                let bc1 = 1 - Foundation.pow(0.9, Double(t)), bc2 = 1 - Foundation.pow(0.999, Double(t))
                for i in 0..<n {
                    let gi = Double(g[i])
                    md[i] = b1 * md[i] + c1 * gi
                    mScale[i] = b1 * mScale[i] + c1 * Swift.abs(gi)
                    vd[i] = b2 * vd[i] + c2 * gi * gi
                    pd[i] -= lr * (md[i] / bc1) / ((vd[i] / bc2).squareRoot() + Double(Float(1e-8)))
                }
                let what = "n=\(n) t=\(t)"
                let pTol: (Int) -> Double = { _ in 2e-6 * lr * Double(t) }
                let pRtol = 7e-8 * Double(t)
                for (name, state) in [("fast", fast), ("twin", twin)] {
                    assertClose(state.m, md, atol: { 4e-7 * mScale[$0] + 1e-30 }, rtol: 0,
                                "\(name) m " + what)
                    assertClose(state.v, vd, atol: 1e-30, rtol: 1e-6, "\(name) v " + what)
                    assertClose(state.p, pd, atol: pTol, rtol: pRtol, "\(name) p " + what)
                }
                assertClose(fast.p, twin.p.map(Double.init), atol: pTol, rtol: 2 * pRtol,
                            "fast vs twin p " + what)
            }
        }
    }

    /// Where eps goes: t = 1, g = 1, m = v = 0 gives mhat = vhat = 1, so the update is
    /// `lr / (1 + eps)`. With eps = 0.5 that is lr / 1.5 (eps inside the sqrt would give
    /// lr / sqrt(1.5); eps before the bias correction, lr / (1 + 0.5 / sqrt(0.001))).
    func testEpsilonPlacementIsPyTorchs() {
        for twin in [false, true] {
            var s = State(p: [1, 1, 1, 1, 1, 1, 1, 1, 1], m: .init(repeating: 0, count: 9), v: .init(repeating: 0, count: 9))
            adam(&s, .init(repeating: 1, count: 9), lr: 0.3, eps: 0.5, t: 1, twin: twin)
            for i in 0..<9 { XCTAssertEqual(s.p[i], 1 - 0.3 / 1.5, accuracy: 1e-7, "twin=\(twin)") }
            XCTAssertEqual(s.m[0], 0.1, accuracy: 1e-8); XCTAssertEqual(s.v[0], 0.001, accuracy: 1e-10)
            // Zero gradient and zero moments: no move.
            var z = State(p: [2, -3], m: [0, 0], v: [0, 0])
            adam(&z, [0, 0], lr: 0.3, t: 7, twin: twin)
            XCTAssertEqual(z.p, [2, -3])
        }
    }

    func testStepThreadCountsAreBitwiseIdentical() {
        let n = 100_003
        var rng = SeededRandom(seed: 77)
        let start = State(p: randomArray(n, &rng), m: .init(repeating: 0, count: n), v: .init(repeating: 0, count: n))
        var one = start
        for t in 1...3 { adam(&one, gradients(n, step: t, seed: 77), lr: 1e-3, t: t, threads: 1) }
        for threads in [2, 3] {
            var other = start
            for t in 1...3 { adam(&other, gradients(n, step: t, seed: 77), lr: 1e-3, t: t, threads: threads) }
            assertBitwiseEqual(other.p, one.p, "p threads=\(threads)")
            assertBitwiseEqual(other.m, one.m, "m threads=\(threads)")
            assertBitwiseEqual(other.v, one.v, "v threads=\(threads)")
        }
    }

    // MARK: - Decoder unit-norm constraint

    private func project(_ w: [Float], _ g: [Float], rows: Int, d: Int, threads: Int = 2, twin: Bool = false) -> [Float] {
        var out = g
        w.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { gp in
                if twin { Reference.projectGradientOrthogonal(wp.baseAddress!, gp.baseAddress!, rows: rows, d: d) }
                else { Adam.projectGradientOrthogonal(wp.baseAddress!, gp.baseAddress!, rows: rows, d: d, threads: threads) }
            }
        }
        return out
    }

    private func normalize(_ w: [Float], rows: Int, d: Int, threads: Int = 2, twin: Bool = false) -> [Float] {
        var out = w
        out.withUnsafeMutableBufferPointer { p in
            if twin { Reference.normalizeRows(p.baseAddress!, rows: rows, d: d) }
            else { Adam.normalizeRows(p.baseAddress!, rows: rows, d: d, threads: threads) }
        }
        return out
    }

    /// Row 1 is all zeros (must stay untouched). Tolerances: projected gradient (|g| ~ 1)
    /// vs Double `atol 4e-7 (1 + sqrt(d) / 8)` (Float dot products over d), normalised
    /// rows `rtol 3e-7`.
    func testProjectionAndNormalizationMatchTwinAndDouble() {
        for d in KernelCheck.sizes + [2048] {
            for rows in [0, 1, 3] {
                var rng = SeededRandom(seed: UInt64(d * 7 + rows))
                var w = randomArray(rows * d, &rng, scale: 0.2)
                let g = randomArray(rows * d, &rng)
                if rows > 1 { for j in 0..<d { w[d + j] = 0 } }
                let what = "rows=\(rows) d=\(d)"

                // Double math.
                var gd = [Double](), wd = [Double]()
                for r in 0..<rows {
                    let wr = w[(r * d)..<(r * d + d)].map(Double.init), gr = g[(r * d)..<(r * d + d)].map(Double.init)
                    let ww = zip(wr, wr).map(*).reduce(0, +), gw = zip(gr, wr).map(*).reduce(0, +)
                    gd += ww == 0 ? gr : zip(gr, wr).map { $0 - gw / ww * $1 }
                    wd += ww == 0 ? wr : wr.map { $0 / ww.squareRoot() }
                }
                let gScale = 4e-7 * (1 + Double(d).squareRoot() / 8)
                let fastG = project(w, g, rows: rows, d: d), twinG = project(w, g, rows: rows, d: d, twin: true)
                assertClose(fastG, gd, atol: gScale, rtol: 0, "fast projection " + what)
                assertClose(twinG, gd, atol: 1e-12, rtol: 1e-7, "twin projection " + what)
                assertClose(fastG, twinG, atol: gScale, rtol: 0, "fast vs twin projection " + what)
                if rows > 1 { XCTAssertEqual(Array(fastG[d..<(2 * d)]), Array(g[d..<(2 * d)]), "zero row " + what) }
                // After projection the gradient is orthogonal to its row.
                for r in 0..<rows where d > 0 {
                    var dot = 0.0, gg = 0.0
                    for j in 0..<d { dot += Double(fastG[r * d + j]) * Double(w[r * d + j]); gg += Double(g[r * d + j] * g[r * d + j]) }
                    let ww = (0..<d).reduce(0.0) { $0 + Double(w[r * d + $1] * w[r * d + $1]) }
                    XCTAssertLessThanOrEqual(Swift.abs(dot), 1e-6 * (gg * ww).squareRoot() + 1e-30, "orthogonality " + what)
                }

                let fastW = normalize(w, rows: rows, d: d), twinW = normalize(w, rows: rows, d: d, twin: true)
                assertClose(fastW, wd, atol: 1e-30, rtol: 3e-7, "fast normalize " + what)
                assertClose(twinW, wd, atol: 1e-30, rtol: 6e-8, "twin normalize " + what)
                assertClose(fastW, twinW.map(Double.init), atol: 1e-30, rtol: 3e-7, "fast vs twin normalize " + what)
                for r in 0..<rows where r != 1 && d > 0 {
                    let norm = (0..<d).reduce(0.0) { $0 + Double(fastW[r * d + $1]) * Double(fastW[r * d + $1]) }.squareRoot()
                    XCTAssertEqual(norm, 1, accuracy: 3e-7, "unit norm " + what)
                }
                if rows > 1 { XCTAssertTrue(fastW[d..<(2 * d)].allSatisfy { $0 == 0 }, "zero row stays zero " + what) }
            }
        }
    }

    func testConstraintThreadCountsAreBitwiseIdentical() {
        let rows = 301, d = 509
        var rng = SeededRandom(seed: 91)
        let w = randomArray(rows * d, &rng, scale: 0.1), g = randomArray(rows * d, &rng)
        let g1 = project(w, g, rows: rows, d: d, threads: 1), w1 = normalize(w, rows: rows, d: d, threads: 1)
        for t in [2, 3] {
            assertBitwiseEqual(project(w, g, rows: rows, d: d, threads: t), g1, "projection threads=\(t)")
            assertBitwiseEqual(normalize(w, rows: rows, d: d, threads: t), w1, "normalize threads=\(t)")
        }
    }

    /// The fused decoder update equals projection, step and renormalisation in sequence,
    /// bitwise, for any thread count (rows of odd widths, a zero row included).
    func testFusedUnitNormRowsStepEqualsTheThreeCalls() {
        var rng = SeededRandom(seed: 21)
        for (rows, d) in [(1, 8), (5, 13), (37, 64), (9, 100)] {
            var w = randomArray(rows * d, &rng), g = randomArray(rows * d, &rng)
            let m0 = randomArray(rows * d, &rng, scale: 0.1), v0 = randomArray(rows * d, &rng).map { $0 * $0 }
            for j in 0..<d { w[j] = 0 }  // a zero row
            for t in [1, 7] {
                var (ws, gs, ms, vs) = (w, g, m0, v0)
                ws.withUnsafeMutableBufferPointer { wp in gs.withUnsafeMutableBufferPointer { gp in
                    ms.withUnsafeMutableBufferPointer { mp in vs.withUnsafeMutableBufferPointer { vp in
                        Adam.projectGradientOrthogonal(wp.baseAddress!, gp.baseAddress!, rows: rows, d: d, threads: 1)
                        Adam.step(parameters: wp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                                  secondMoment: vp.baseAddress!, count: rows * d, learningRate: 3e-4, step: t, threads: 1)
                        Adam.normalizeRows(wp.baseAddress!, rows: rows, d: d, threads: 1)
                    }}
                }}
                for threads in [1, 2, 3] {
                    var (wf, gf, mf, vf) = (w, g, m0, v0)
                    wf.withUnsafeMutableBufferPointer { wp in gf.withUnsafeMutableBufferPointer { gp in
                        mf.withUnsafeMutableBufferPointer { mp in vf.withUnsafeMutableBufferPointer { vp in
                            Adam.unitNormRowsStep(parameters: wp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                                                  secondMoment: vp.baseAddress!, rows: rows, d: d, learningRate: 3e-4, step: t,
                                                  threads: threads)
                        }}
                    }}
                    let what = "rows=\(rows) d=\(d) t=\(t) threads=\(threads)"
                    assertBitwiseEqual(wf, ws, "weights " + what)
                    assertBitwiseEqual(gf, gs, "gradients " + what)
                    assertBitwiseEqual(mf, ms, "m " + what)
                    assertBitwiseEqual(vf, vs, "v " + what)
                }
                // A row at a time (the training step's fused update): the same bits.
                var (wr, gr, mr, vr) = (w, g, m0, v0)
                let step = Adam.Step(learningRate: 3e-4, step: t)
                wr.withUnsafeMutableBufferPointer { wp in gr.withUnsafeMutableBufferPointer { gp in
                    mr.withUnsafeMutableBufferPointer { mp in vr.withUnsafeMutableBufferPointer { vp in
                        for r in 0..<rows {
                            let o = r * d
                            Adam.unitNormRowStep(parameters: wp.baseAddress! + o, gradients: gp.baseAddress! + o,
                                                 firstMoment: mp.baseAddress! + o, secondMoment: vp.baseAddress! + o, d: d, step)
                        }
                    }}
                }}
                let what = "rows=\(rows) d=\(d) t=\(t) by row"
                assertBitwiseEqual(wr, ws, "weights " + what)
                assertBitwiseEqual(gr, gs, "gradients " + what)
                assertBitwiseEqual(mr, ms, "m " + what)
                assertBitwiseEqual(vr, vs, "v " + what)
            }
        }
    }

    /// `stepRow` over the rows of a matrix equals one `step` over all of it, bitwise.
    func testStepByRowEqualsTheFlatStep() {
        var rng = SeededRandom(seed: 22)
        for (rows, d) in [(1, 8), (5, 13), (9, 100)] {
            let p0 = randomArray(rows * d, &rng), g = randomArray(rows * d, &rng)
            let m0 = randomArray(rows * d, &rng, scale: 0.1), v0 = randomArray(rows * d, &rng).map { $0 * $0 }
            var (pf, mf, vf) = (p0, m0, v0), (pr, mr, vr) = (p0, m0, v0)
            g.withUnsafeBufferPointer { gp in
                pf.withUnsafeMutableBufferPointer { pp in mf.withUnsafeMutableBufferPointer { mp in vf.withUnsafeMutableBufferPointer { vp in
                    Adam.step(parameters: pp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                              secondMoment: vp.baseAddress!, count: rows * d, learningRate: 1e-3, beta1: 0.8, beta2: 0.99,
                              epsilon: 1e-6, step: 3, threads: 2)
                }}}
                let step = Adam.Step(learningRate: 1e-3, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, step: 3)
                pr.withUnsafeMutableBufferPointer { pp in mr.withUnsafeMutableBufferPointer { mp in vr.withUnsafeMutableBufferPointer { vp in
                    for r in 0..<rows {
                        Adam.stepRow(parameters: pp.baseAddress! + r * d, gradients: gp.baseAddress! + r * d,
                                     firstMoment: mp.baseAddress! + r * d, secondMoment: vp.baseAddress! + r * d, count: d, step)
                    }
                }}}
            }
            assertBitwiseEqual(pr, pf, "parameters rows=\(rows) d=\(d)")
            assertBitwiseEqual(mr, mf, "m rows=\(rows) d=\(d)")
            assertBitwiseEqual(vr, vf, "v rows=\(rows) d=\(d)")
        }
    }
}
