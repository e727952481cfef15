import XCTest
import SAEKernels
@testable import SAEModel

/// The training step's gradients: sparse and dense paths agree, and both match central
/// finite differences of an independent Double-precision loss.
final class TrainingStepTests: XCTestCase {
    func parameters(_ arch: SAEArchitecture, dIn: Int, dSae: Int, seed: UInt64) -> TrainingParameters {
        var p = TrainingParameters(SparseAutoencoder.random(architecture: arch, dIn: dIn, dSae: dSae, k: 3, seed: seed))
        var rng = SeededRandom(seed: seed + 1)
        for j in 0..<dSae { p.bEnc[j] = rng.normal() * 0.1 }
        for i in 0..<dIn { p.bDec[i] = rng.normal() * 0.1 }
        return p
    }

    func run(_ p: TrainingParameters, _ x: [Float], rows: Int, _ o: TrainingStep.Options, _ path: TrainingStep.Path) -> (TrainingStep.Outcome, TrainingGradients) {
        var g = TrainingGradients(dIn: p.dIn, dSae: p.dSae), q = p
        let out = x.withUnsafeBufferPointer {
            TrainingStep.run(&q, x: $0.baseAddress!, rows: rows, options: o, path: path, grads: &g, workspace: TrainingWorkspace())
        }
        return (out, g)
    }

    func testSparseAndDensePathsAgree() {
        for arch in [SAEArchitecture.standard, .topk, .batchtopk] {
            let dIn = 19, dSae = 67, rows = 23
            let p = parameters(arch, dIn: dIn, dSae: dSae, seed: 3)
            let x = activationRows(rows, dIn, seed: 4)
            var o = TrainingStep.Options(architecture: arch)
            o.k = 5; o.l1Coefficient = 0.3; o.threads = 2; o.batchTopKCandidatesPerRow = 20
            let (a, ga) = run(p, x, rows: rows, o, .sparse)
            let (b, gb) = run(p, x, rows: rows, o, .dense)
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * max(1, abs(b.loss)), "\(arch) loss")
            XCTAssertGreaterThan(a.codes.nonzeroCount, 0)
            assertArraysClose(ga.wEncT, gb.wEncT, relative: 1e-4, "\(arch) W_enc gradient")
            assertArraysClose(ga.wDec, gb.wDec, relative: 1e-4, "\(arch) W_dec gradient")
            assertArraysClose(ga.bEnc, gb.bEnc, relative: 1e-4, "\(arch) b_enc gradient")
            assertArraysClose(ga.bDec, gb.bDec, relative: 1e-4, "\(arch) b_dec gradient")
        }
    }

    /// The loss in Double, written from the definitions (standard: MSE + l1 * sum f, or with
    /// `weighted` MSE + l1 * sum_j f_j ||W_dec[j]||; topk: MSE over the top-k ReLU codes).
    func doubleLoss(_ p: TrainingParameters, _ x: [Float], rows: Int, arch: SAEArchitecture, k: Int, l1: Double,
                    weighted: Bool = false) -> Double {
        let dIn = p.dIn, dSae = p.dSae
        var total = 0.0
        for r in 0..<rows {
            var pre = [Double](repeating: 0, count: dSae)
            for j in 0..<dSae {
                var s = Double(p.bEnc[j])
                for i in 0..<dIn { s += (Double(x[r * dIn + i]) - Double(p.bDec[i])) * Double(p.wEncT[j * dIn + i]) }
                pre[j] = s
            }
            var f = pre.map { max($0, 0) }
            if arch == .topk {
                let keep = Set((0..<dSae).sorted { pre[$0] > pre[$1] }.prefix(k))
                for j in 0..<dSae where !keep.contains(j) { f[j] = 0 }
            }
            for i in 0..<dIn {
                var xh = Double(p.bDec[i])
                for j in 0..<dSae { xh += f[j] * Double(p.wDec[j * dIn + i]) }
                let d = xh - Double(x[r * dIn + i])
                total += d * d
            }
            if arch == .standard && weighted {
                for j in 0..<dSae {
                    var n = 0.0
                    for i in 0..<dIn { n += Double(p.wDec[j * dIn + i]) * Double(p.wDec[j * dIn + i]) }
                    total += l1 * f[j] * n.squareRoot()
                }
            } else if arch == .standard {
                total += l1 * f.reduce(0, +)
            }
        }
        return total / Double(rows)
    }

    func testGradientsMatchFiniteDifferencesOfDoubleLoss() {
        for arch in [SAEArchitecture.standard, .topk] {
            let dIn = 6, dSae = 9, rows = 5, k = 3
            let p = parameters(arch, dIn: dIn, dSae: dSae, seed: 11)
            let x = activationRows(rows, dIn, seed: 12)
            var o = TrainingStep.Options(architecture: arch)
            o.k = k; o.l1Coefficient = 0.25; o.threads = 1
            let (outcome, g) = run(p, x, rows: rows, o, .sparse)
            XCTAssertEqual(outcome.loss, doubleLoss(p, x, rows: rows, arch: arch, k: k, l1: 0.25), accuracy: 1e-4)
            func fd(_ mutate: (inout TrainingParameters, Float) -> Void) -> Double {
                let h: Float = 1e-3
                var plus = p, minus = p
                mutate(&plus, h); mutate(&minus, -h)
                return (doubleLoss(plus, x, rows: rows, arch: arch, k: k, l1: 0.25) - doubleLoss(minus, x, rows: rows, arch: arch, k: k, l1: 0.25)) / Double(2 * h)
            }
            for idx in [0, 7, 20, 33, 50] {
                XCTAssertEqual(Double(g.wEncT[idx]), fd { $0.wEncT[idx] += $1 }, accuracy: 2e-3, "\(arch) dW_enc[\(idx)]")
                XCTAssertEqual(Double(g.wDec[idx]), fd { $0.wDec[idx] += $1 }, accuracy: 2e-3, "\(arch) dW_dec[\(idx)]")
            }
            for j in [0, 4, 8] { XCTAssertEqual(Double(g.bEnc[j]), fd { $0.bEnc[j] += $1 }, accuracy: 2e-3, "\(arch) db_enc[\(j)]") }
            for i in [0, 3, 5] { XCTAssertEqual(Double(g.bDec[i]), fd { $0.bDec[i] += $1 }, accuracy: 2e-3, "\(arch) db_dec[\(i)]") }
        }
    }

    /// AuxK: only dead latents receive encoder/decoder gradient from the aux term.
    func testAuxKTouchesOnlyDeadLatents() {
        let dIn = 8, dSae = 30, rows = 12
        let p = parameters(.topk, dIn: dIn, dSae: dSae, seed: 21)
        let x = activationRows(rows, dIn, seed: 22)
        var o = TrainingStep.Options(architecture: .topk)
        o.k = 3; o.threads = 1
        let (_, base) = run(p, x, rows: rows, o, .sparse)
        let dead: [Int32] = [2, 5, 11, 17, 29]
        o.deadLatents = dead; o.kAux = 2; o.auxCoefficient = 1
        let (out, withAux) = run(p, x, rows: rows, o, .sparse)
        XCTAssertGreaterThan(out.auxLoss, 0)
        for j in 0..<dSae {
            let changed = (0..<dIn).contains { withAux.wDec[j * dIn + $0] != base.wDec[j * dIn + $0] }
            if !dead.contains(Int32(j)) { XCTAssertFalse(changed, "live latent \(j) got aux gradient") }
        }
        XCTAssertTrue(dead.contains { j in (0..<dIn).contains { withAux.wDec[Int(j) * dIn + $0] != base.wDec[Int(j) * dIn + $0] } })
    }

    /// BatchTopK keeps exactly the k * B largest post-ReLU pre-activations of the batch, even
    /// when one row holds more than its candidate quota.
    func testBatchTopKIsExact() {
        let dIn = 5, dSae = 40, rows = 6, k = 3
        var p = parameters(.batchtopk, dIn: dIn, dSae: dSae, seed: 31)
        for j in 0..<dSae { p.bEnc[j] = 0 }
        var x = activationRows(rows, dIn, seed: 32)
        for i in 0..<dIn { x[i] *= 20 }  // row 0 dominates: it takes far more than 4k latents
        let (codes, _) = x.withUnsafeBufferPointer { xp in p.wEncT.withUnsafeBufferPointer { we in p.bEnc.withUnsafeBufferPointer { be in
            BatchTopK.select(x: xp.baseAddress!, rows: rows, dIn: dIn, dSae: dSae, wEncT: we.baseAddress!, bEnc: be.baseAddress!,
                             k: k, candidatesPerRow: k, threads: 1)
        }}}
        var all: [(Float, Int, Int)] = []
        for r in 0..<rows { for j in 0..<dSae {
            var s = p.bEnc[j]
            for i in 0..<dIn { s += x[r * dIn + i] * p.wEncT[j * dIn + i] }
            all.append((max(s, 0), r, j))
        }}
        let cut = all.sorted { $0.0 > $1.0 }[k * rows - 1].0
        let want = Set(all.filter { $0.0 >= cut && $0.0 > 0 }.map { "\($0.1),\($0.2)" })
        var got = Set<String>()
        for r in 0..<rows { for e in codes.offsets[r]..<codes.offsets[r + 1] { got.insert("\(r),\(codes.indices[e])") } }
        XCTAssertEqual(got, want)
        XCTAssertGreaterThan(codes.offsets[1], 4 * k, "row 0 should exceed the first candidate quota")
    }

    /// Decoder rows of different norms (0.1 to 2), as an L1-weighted SAE's become.
    func l1WeightedParameters(dIn: Int, dSae: Int, seed: UInt64) -> TrainingParameters {
        var p = parameters(.standard, dIn: dIn, dSae: dSae, seed: seed)
        for j in 0..<dSae {
            let scale = 0.1 + 1.9 * Float(j % 7) / 6
            for i in 0..<dIn { p.wDec[j * dIn + i] *= scale }
        }
        return p
    }

    /// The L1-weighted standard SAE (SAELens v6): loss and gradients, sparse and dense paths,
    /// against central differences of the Double loss with the norm-weighted L1.
    func testL1WeightedGradientsMatchFiniteDifferencesOfDoubleLoss() {
        let dIn = 6, dSae = 9, rows = 5, l1 = 0.25
        let p = l1WeightedParameters(dIn: dIn, dSae: dSae, seed: 13)
        let x = activationRows(rows, dIn, seed: 14)
        var o = TrainingStep.Options(architecture: .standard)
        o.l1Coefficient = Float(l1); o.threads = 1; o.decoderNorm = .l1Weighted
        func fd(_ mutate: (inout TrainingParameters, Float) -> Void) -> Double {
            let h: Float = 1e-3
            var plus = p, minus = p
            mutate(&plus, h); mutate(&minus, -h)
            return (doubleLoss(plus, x, rows: rows, arch: .standard, k: 0, l1: l1, weighted: true)
                - doubleLoss(minus, x, rows: rows, arch: .standard, k: 0, l1: l1, weighted: true)) / Double(2 * h)
        }
        let reference = doubleLoss(p, x, rows: rows, arch: .standard, k: 0, l1: l1, weighted: true)
        XCTAssertNotEqual(reference, doubleLoss(p, x, rows: rows, arch: .standard, k: 0, l1: l1), accuracy: 1e-3,
                          "the weighting must change the loss for this test to mean anything")
        for path in [TrainingStep.Path.sparse, .dense] {
            let (outcome, g) = run(p, x, rows: rows, o, path)
            XCTAssertGreaterThan(outcome.codes.nonzeroCount, rows, "\(path): too few active codes")
            XCTAssertEqual(outcome.loss, reference, accuracy: 1e-4, "\(path) loss")
            for idx in [0, 7, 20, 33, 50] {
                XCTAssertEqual(Double(g.wEncT[idx]), fd { $0.wEncT[idx] += $1 }, accuracy: 2e-3, "\(path) dW_enc[\(idx)]")
                XCTAssertEqual(Double(g.wDec[idx]), fd { $0.wDec[idx] += $1 }, accuracy: 2e-3, "\(path) dW_dec[\(idx)]")
            }
            for j in 0..<dSae { XCTAssertEqual(Double(g.bEnc[j]), fd { $0.bEnc[j] += $1 }, accuracy: 2e-3, "\(path) db_enc[\(j)]") }
            for i in 0..<dIn { XCTAssertEqual(Double(g.bDec[i]), fd { $0.bDec[i] += $1 }, accuracy: 2e-3, "\(path) db_dec[\(i)]") }
        }
    }

    /// On a larger batch the two paths of the L1-weighted step agree with each other, and its
    /// decoder gradient differs from the unweighted one by exactly the L1 share.
    func testL1WeightedSparseAndDensePathsAgree() {
        let dIn = 19, dSae = 67, rows = 23
        let p = l1WeightedParameters(dIn: dIn, dSae: dSae, seed: 5)
        let x = activationRows(rows, dIn, seed: 6)
        var o = TrainingStep.Options(architecture: .standard)
        o.l1Coefficient = 0.3; o.threads = 2; o.decoderNorm = .l1Weighted
        let (a, ga) = run(p, x, rows: rows, o, .sparse)
        let (b, gb) = run(p, x, rows: rows, o, .dense)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * max(1, abs(b.loss)))
        assertArraysClose(ga.wEncT, gb.wEncT, relative: 1e-4, "W_enc gradient")
        assertArraysClose(ga.wDec, gb.wDec, relative: 1e-4, "W_dec gradient")
        assertArraysClose(ga.bEnc, gb.bEnc, relative: 1e-4, "b_enc gradient")
        assertArraysClose(ga.bDec, gb.bDec, relative: 1e-4, "b_dec gradient")
        // The decoder-row share, l1 (sum_r f_rj) W_dec[j] / (B ||W_dec[j]||), computed here in Double.
        o.decoderNorm = .unitNorm
        o.l1Coefficient = 0
        let (_, plain) = run(p, x, rows: rows, o, .sparse)
        var expected = plain.wDec
        for j in 0..<dSae {
            var sum = 0.0, n = 0.0
            for r in 0..<rows { for e in a.codes.offsets[r]..<a.codes.offsets[r + 1] where Int(a.codes.indices[e]) == j { sum += Double(a.codes.values[e]) } }
            for i in 0..<dIn { n += Double(p.wDec[j * dIn + i]) * Double(p.wDec[j * dIn + i]) }
            for i in 0..<dIn { expected[j * dIn + i] += Float(0.3 * sum / Double(rows) * Double(p.wDec[j * dIn + i]) / n.squareRoot()) }
        }
        assertArraysClose(ga.wDec, expected, relative: 1e-5, "W_dec gradient's L1 share")
        XCTAssertNotEqual(ga.wDec, plain.wDec)
    }
}
