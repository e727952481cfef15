import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

final class SAEEncodeTests: XCTestCase {
    // MARK: - A hand-built SAE (d_in 3, d_sae 4) with outputs computed by hand

    /// W_enc columns e0 = (1,0,0), e1 = (0,1,0), e2 = (0,0,1), e3 = (1,-1,0.5);
    /// W_dec rows (1,0,0), (0,2,0), (0,0,3), (1,1,0) (norms 1, 2, 3, √2);
    /// b_enc = (0, -0.5, 0.25, 0), b_dec = (0.5, 0, -1).
    ///
    /// Row A, x = (1.5, 2, 0): c = x - b_dec = (1, 2, 1), pre = (1, 1.5, 1.25, -0.5).
    /// Row B, x = (0, 0, 0):   c = (-0.5, 0, 1),        pre = (-0.5, -0.5, 1.25, 0).
    func handBuilt(_ architecture: SAEArchitecture, k: Int? = nil, threshold: [Float]? = nil,
                   rescale: Bool = false, applyBDec: Bool = true) -> SparseAutoencoder {
        SparseAutoencoder(
            architecture: architecture, dIn: 3, dSae: 4, k: k,
            wEnc: Matrix(rows: 3, cols: 4, values: [1, 0, 0, 1,
                                                    0, 1, 0, -1,
                                                    0, 0, 1, 0.5]),
            bEnc: [0, -0.5, 0.25, 0],
            wDec: Matrix(rows: 4, cols: 3, values: [1, 0, 0,
                                                    0, 2, 0,
                                                    0, 0, 3,
                                                    1, 1, 0]),
            bDec: [0.5, 0, -1], threshold: threshold, applyBDecToInput: applyBDec,
            rescaleActsByDecoderNorm: rescale)
    }

    let x = Matrix(rows: 2, cols: 3, values: [1.5, 2, 0,
                                              0, 0, 0])

    func check(_ sae: SparseAutoencoder, acts: [Float], out: [Float], _ what: String,
               file: StaticString = #filePath, line: UInt = #line) {
        assertClose(sae.encode(x).values, acts, atol: 1e-6, rtol: 0, "\(what) encode", file: file, line: line)
        assertClose(sae.encodeSparse(x).dense().values, acts, atol: 1e-6, rtol: 0, "\(what) encodeSparse", file: file, line: line)
        assertClose(sae.reconstruct(x).reconstruction.values, out, atol: 1e-6, rtol: 0, "\(what) reconstruct", file: file, line: line)
        assertClose(sae.decode(dense: sae.encode(x)).values, out, atol: 1e-6, rtol: 0, "\(what) decode(dense:)", file: file, line: line)
        // And the naive twin agrees with the hand values.
        assertClose(acts, SAENaive.encode(sae, x).flatMap { $0 }, atol: 1e-6, rtol: 0, "\(what) naive encode", file: file, line: line)
    }

    func testStandardByHand() {
        // f = ReLU(pre); x̂ = f W_dec + b_dec.
        // A: f = (1, 1.5, 1.25, 0), x̂ = (1, 3, 3.75) + b_dec = (1.5, 3, 2.75)
        // B: f = (0, 0, 1.25, 0),   x̂ = (0, 0, 3.75) + b_dec = (0.5, 0, 2.75)
        check(handBuilt(.standard), acts: [1, 1.5, 1.25, 0, 0, 0, 1.25, 0],
              out: [1.5, 3, 2.75, 0.5, 0, 2.75], "standard")
    }

    func testStandardWithoutBDecOnInputByHand() {
        // c = x: A: pre = (1.5, 2, 0, -0.5) + b_enc = (1.5, 1.5, 0.25, -0.5); B: pre = b_enc.
        // A: x̂ = 1.5 (1,0,0) + 1.5 (0,2,0) + 0.25 (0,0,3) + b_dec = (2, 3, -0.25)
        // B: f = (0, 0, 0.25, 0), x̂ = (0, 0, 0.75) + b_dec = (0.5, 0, -0.25)
        check(handBuilt(.standard, applyBDec: false), acts: [1.5, 1.5, 0.25, 0, 0, 0, 0.25, 0],
              out: [2, 3, -0.25, 0.5, 0, -0.25], "standard, no b_dec on input")
    }

    func testTopKByHand() {
        // k = 1, scores = pre: A keeps e1 (1.5), x̂ = (0,3,0) + b_dec; B keeps e2 (1.25).
        check(handBuilt(.topk, k: 1), acts: [0, 1.5, 0, 0, 0, 0, 1.25, 0],
              out: [0.5, 3, -1, 0.5, 0, 2.75], "topk k=1")
        // k = 2: A keeps e1, e2; B keeps e2 then e3 (score 0 beats -0.5; ReLU(0) = 0).
        check(handBuilt(.topk, k: 2), acts: [0, 1.5, 1.25, 0, 0, 0, 1.25, 0],
              out: [0.5, 3, 2.75, 0.5, 0, 2.75], "topk k=2")
        // All scores negative except... B with k = 3 keeps e2, e3 and e0 (lower index wins the
        // -0.5 tie) with value ReLU(-0.5) = 0.
        let codes = handBuilt(.topk, k: 3).encodeSparse(x)
        XCTAssertEqual(Array(codes.indices[3..<6]), [2, 3, 0])
        XCTAssertEqual(Array(codes.values[3..<6]), [1.25, 0, 0])
    }

    func testTopKRescaledByDecoderNormByHand() {
        // scores = pre ⊙ (1, 2, 3, √2): A = (1, 3, 3.75, -0.707), B = (-0.5, -1, 3.75, 0).
        // k = 1 keeps e2 in both rows with f = 3.75 (what SAELens's encode returns); decode
        // divides by 3: x̂ = 1.25 (0,0,3) + b_dec = (0.5, 0, 2.75).
        check(handBuilt(.topk, k: 1, rescale: true), acts: [0, 0, 3.75, 0, 0, 0, 3.75, 0],
              out: [0.5, 0, 2.75, 0.5, 0, 2.75], "topk k=1 rescaled")
    }

    func testJumpReLUByHand() {
        // θ = (1, 1, 2, -1): keep pre_j where pre_j > max(θ_j, 0).
        // A: pre = (1, 1.5, 1.25, -0.5) -> (0, 1.5, 0, 0) (1 > 1 fails; ReLU kills e3).
        // B: pre = (-0.5, -0.5, 1.25, 0) -> (0, 0, 0, 0) (0 > -1 but ReLU(0) = 0).
        check(handBuilt(.jumprelu, threshold: [1, 1, 2, -1]), acts: [0, 1.5, 0, 0, 0, 0, 0, 0],
              out: [0.5, 3, -1, 0.5, 0, -1], "jumprelu")
    }

    func testBatchTopKInferenceByHand() {
        // Global θ = 1.2 on pre: A -> (0, 1.5, 1.25, 0), B -> (0, 0, 1.25, 0).
        check(handBuilt(.batchtopk, k: 2, threshold: [1.2, 1.2, 1.2, 1.2]), acts: [0, 1.5, 1.25, 0, 0, 0, 1.25, 0],
              out: [0.5, 3, 2.75, 0.5, 0, 2.75], "batchtopk")
        // Rescaled, θ = 2 on pre ⊙ n: A scores (1, 3, 3.75, -0.71) -> (0, 3, 3.75, 0);
        // decode divides by n: (0, 1.5, 1.25, 0) -> x̂ = (0, 3, 3.75) + b_dec.
        check(handBuilt(.batchtopk, k: 2, threshold: [2, 2, 2, 2], rescale: true),
              acts: [0, 3, 3.75, 0, 0, 0, 3.75, 0], out: [0.5, 3, 2.75, 0.5, 0, 2.75], "batchtopk rescaled")
    }

    // MARK: - Fast path vs the naive twin on random SAEs

    func testAllArchitecturesMatchNaiveLoops() {
        let cases: [(SAEArchitecture, Int?, Bool)] = [
            (.standard, nil, false), (.topk, 5, false), (.topk, 5, true),
            (.jumprelu, nil, false), (.batchtopk, 7, false), (.batchtopk, 7, true),
        ]
        for (arch, k, rescale) in cases {
            for applyBDec in [true, false] {
                let sae = saeRandomFullSAE(arch, dIn: 37, dSae: 203, k: k, seed: 11, rescale: rescale, applyBDec: applyBDec)
                var rng = SeededRandom(seed: 99)
                let x = saeRandomMatrix(53, 37, &rng)
                let what = "\(arch) k=\(k.map(String.init) ?? "-") rescale=\(rescale) applyBDec=\(applyBDec)"
                let wantActs = SAENaive.encode(sae, x)
                let wantOut = SAENaive.decode(sae, wantActs)
                let acts = sae.encode(x, threads: 2)
                assertClose(acts.values, wantActs.flatMap { $0 }, atol: 1e-5, rtol: 1e-5, "\(what) encode")
                let (codes, out) = sae.reconstruct(x, threads: 2)
                assertBitwiseEqual(codes.dense().values, acts.values, "\(what) sparse vs dense")
                assertClose(out.values, wantOut.flatMap { $0 }, atol: 1e-5, rtol: 1e-5, "\(what) decode")
                if arch == .topk { XCTAssertEqual(codes.offsets.last, 53 * k!, what) }
            }
        }
    }

    /// Enough rows for the chunked encoders to run several chunks (chunk = 1024 rows at
    /// d_sae 16384), with results identical for any thread count.
    func testChunkedEncodersAcrossChunksAndThreads() {
        for (arch, k, rescale) in [(SAEArchitecture.topk, 3, true), (.jumprelu, nil, false), (.standard, nil, false)] {
            let sae = saeRandomFullSAE(arch, dIn: 8, dSae: 16384, k: k, seed: 5, rescale: rescale)
            var rng = SeededRandom(seed: 6)
            let x = saeRandomMatrix(2100, 8, &rng)
            let one = sae.encodeSparse(x, threads: 1)
            let many = sae.encodeSparse(x, threads: 3)
            XCTAssertEqual(one, many, "\(arch) thread count")
            // Spot-check rows in each chunk against the naive twin.
            let rows = [0, 1023, 1024, 2047, 2048, 2099]
            let sub = Matrix(rows: rows.count, cols: 8, values: rows.flatMap { x.row($0) })
            let want = SAENaive.encode(sae, sub)
            let dense = one.dense()
            for (n, r) in rows.enumerated() {
                assertClose(dense.row(r), want[n], atol: 1e-5, rtol: 1e-5, "\(arch) row \(r)")
            }
        }
    }

    func testEmptyBatch() {
        for arch in SAEArchitecture.allCases {
            let sae = SparseAutoencoder.random(architecture: arch, dIn: 4, dSae: 8, k: 2, seed: 1)
            let x = Matrix(rows: 0, cols: 4)
            XCTAssertEqual(sae.encode(x).rows, 0)
            let (codes, out) = sae.reconstruct(x)
            XCTAssertEqual(codes.rows, 0)
            XCTAssertEqual(out.rows, 0)
        }
    }

    // MARK: - Initialisation and folding

    func testRandomInitialisation() {
        let a = SparseAutoencoder.random(architecture: .topk, dIn: 16, dSae: 40, k: 4, seed: 3)
        let b = SparseAutoencoder.random(architecture: .topk, dIn: 16, dSae: 40, k: 4, seed: 3)
        let c = SparseAutoencoder.random(architecture: .topk, dIn: 16, dSae: 40, k: 4, seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.wDec, c.wDec)
        for n in a.decoderRowNorms() { XCTAssertEqual(n, 1, accuracy: 1e-5) }
        XCTAssertEqual(a.wEnc, a.wDec.transposed())
        XCTAssertEqual(a.bEnc, [Float](repeating: 0, count: 40))
        XCTAssertEqual(a.bDec, [Float](repeating: 0, count: 16))
        let small = SparseAutoencoder.random(architecture: .jumprelu, dIn: 16, dSae: 40, seed: 3, decoderNorm: 0.1)
        for n in small.decoderRowNorms() { XCTAssertEqual(n, 0.1, accuracy: 1e-6) }
        XCTAssertEqual(small.threshold, [Float](repeating: 0.01, count: 40))
        XCTAssertNil(small.k)
        XCTAssertEqual(SparseAutoencoder.random(architecture: .batchtopk, dIn: 4, dSae: 8, k: 2, seed: 1).threshold,
                       [Float](repeating: 0, count: 8))
    }

    func testFoldingDecoderNormsKeepsOutputs() {
        var rng = SeededRandom(seed: 21)
        let x = saeRandomMatrix(40, 24, &rng)
        for (arch, k, rescale) in [(SAEArchitecture.standard, nil as Int?, false), (.jumprelu, nil, false),
                                   (.topk, 6, true), (.batchtopk, 6, true), (.batchtopk, 6, false)] {
            let sae = saeRandomFullSAE(arch, dIn: 24, dSae: 96, k: k, seed: 8, rescale: rescale)
            var folded = sae
            folded.foldDecoderNorms()
            for n in folded.decoderRowNorms() { XCTAssertEqual(n, 1, accuracy: 1e-5, "\(arch)") }
            XCTAssertFalse(folded.rescaleActsByDecoderNorm)
            // Activations change by the norms unless they were already rescaled; x̂ does not.
            let (codes, out) = sae.reconstruct(x)
            let (foldedCodes, foldedOut) = folded.reconstruct(x)
            XCTAssertEqual(codes.indices, foldedCodes.indices, "\(arch) same latents fire")
            assertClose(foldedOut.values, out.values, atol: 1e-4, rtol: 1e-4, "\(arch) folded x̂")
        }
    }

    func testFoldingActivationScale() {
        var rng = SeededRandom(seed: 2)
        let sae = saeRandomFullSAE(.jumprelu, dIn: 10, dSae: 30, seed: 2)
        let x = saeRandomMatrix(12, 10, &rng)
        var folded = sae
        folded.normalizeActivations = .expectedAverageOnlyIn
        folded.foldActivationScale(2.5)
        XCTAssertEqual(folded.normalizeActivations, .none)
        var scaled = x
        scaled.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= 2.5 } }
        // Folded SAE on raw x == original SAE on s·x, with x̂ scaled back by 1/s.
        assertClose(folded.encode(x).values, sae.encode(scaled).values, atol: 1e-5, rtol: 1e-5, "acts")
        let want = sae.reconstruct(scaled).reconstruction.values.map { $0 / 2.5 }
        assertClose(folded.reconstruct(x).reconstruction.values, want, atol: 1e-5, rtol: 1e-5, "x̂")
    }

    // MARK: - SeededRandom

    func testSeededRandom() {
        var r = SeededRandom(seed: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)  // SplitMix64's published first output for seed 0
        var a = SeededRandom(seed: 42)
        for _ in 0..<10 { _ = a.next() }
        var b = SeededRandom(seed: 0)
        b.state = a.state
        XCTAssertEqual((0..<5).map { _ in a.normal() }, (0..<5).map { _ in b.normal() })
        var u = SeededRandom(seed: 7)
        let n = 200_000
        var sum = 0.0, sumSq = 0.0, uSum = 0.0
        for _ in 0..<n {
            let v = Double(u.normal()); sum += v; sumSq += v * v
            let w = u.uniform(); XCTAssert(w >= 0 && w < 1); uSum += Double(w)
        }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.015)
        XCTAssertEqual(sumSq / Double(n), 1, accuracy: 0.015)
        XCTAssertEqual(uSum / Double(n), 0.5, accuracy: 0.005)
        XCTAssertNotEqual(SeededRandom.stream(seed: 1, index: 0), SeededRandom.stream(seed: 1, index: 1))
        XCTAssertEqual(SeededRandom.stream(seed: 1, index: 5), SeededRandom.stream(seed: 1, index: 5))
    }
}
