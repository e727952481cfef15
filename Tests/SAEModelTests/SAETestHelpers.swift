import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// The naive twin of `SparseAutoencoder.encode` / `decode`: every formula of the type's
/// documentation written as plain loops in Double, one row and one feature at a time.
enum SAENaive {
    /// Dense activations `f` (`rows x dSae`), in Double.
    static func encode(_ sae: SparseAutoencoder, _ x: Matrix) -> [[Double]] {
        let (dIn, dSae) = (sae.dIn, sae.dSae)
        let norms = decoderNorms(sae)
        return (0..<x.rows).map { r in
            var pre = [Double](repeating: 0, count: dSae)
            for j in 0..<dSae {
                var s = Double(sae.bEnc[j])
                for i in 0..<dIn {
                    let c = Double(x[r, i]) - (sae.applyBDecToInput ? Double(sae.bDec[i]) : 0)
                    s += c * Double(sae.wEnc[i, j])
                }
                pre[j] = s
            }
            let rescale = sae.architecture.usesK && sae.rescaleActsByDecoderNorm
            let score = rescale ? (0..<dSae).map { pre[$0] * norms[$0] } : pre
            switch sae.architecture {
            case .standard:
                return pre.map { max($0, 0) }
            case .topk:
                // k largest scores, ties to the lower index, values ReLU'd.
                let order = (0..<dSae).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
                var f = [Double](repeating: 0, count: dSae)
                for j in order.prefix(sae.k!) { f[j] = max(score[j], 0) }
                return f
            case .jumprelu, .batchtopk:
                // SAELens: ReLU(s) * (s > θ)
                return (0..<dSae).map { j in score[j] > Double(sae.threshold![j]) ? max(score[j], 0) : 0 }
            }
        }
    }

    /// `x̂ = f' W_dec + b_dec` from dense activations, in Double.
    static func decode(_ sae: SparseAutoencoder, _ f: [[Double]]) -> [[Double]] {
        let norms = decoderNorms(sae)
        let rescale = sae.architecture.usesK && sae.rescaleActsByDecoderNorm
        return f.map { row in
            (0..<sae.dIn).map { i in
                var s = Double(sae.bDec[i])
                for j in 0..<sae.dSae where row[j] != 0 {
                    s += (rescale ? row[j] / norms[j] : row[j]) * Double(sae.wDec[j, i])
                }
                return s
            }
        }
    }

    static func decoderNorms(_ sae: SparseAutoencoder) -> [Double] {
        (0..<sae.dSae).map { j in (0..<sae.dIn).reduce(0.0) { $0 + Double(sae.wDec[j, $1]) * Double(sae.wDec[j, $1]) }.squareRoot() }
    }
}

/// SAE comparisons beyond `assertClose` / `assertBitwiseEqual`; failures point at the calling line.
enum SAECheck {
    /// Asserts two SAEs hold bitwise-equal weights and equal fields.
    static func assertSameSAE(_ a: SparseAutoencoder, _ b: SparseAutoencoder, ignoringDefaultedKeys: Bool = true,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.architecture, b.architecture, "architecture", file: file, line: line)
        XCTAssertEqual(a.dIn, b.dIn, file: file, line: line)
        XCTAssertEqual(a.dSae, b.dSae, file: file, line: line)
        XCTAssertEqual(a.k, b.k, "k", file: file, line: line)
        assertBitwiseEqual(a.wEnc.values, b.wEnc.values, "W_enc", file: file, line: line)
        assertBitwiseEqual(a.bEnc, b.bEnc, "b_enc", file: file, line: line)
        assertBitwiseEqual(a.wDec.values, b.wDec.values, "W_dec", file: file, line: line)
        assertBitwiseEqual(a.bDec, b.bDec, "b_dec", file: file, line: line)
        XCTAssertEqual(a.threshold == nil, b.threshold == nil, "threshold presence", file: file, line: line)
        if let ta = a.threshold, let tb = b.threshold { assertBitwiseEqual(ta, tb, "threshold", file: file, line: line) }
        XCTAssertEqual(a.applyBDecToInput, b.applyBDecToInput, file: file, line: line)
        XCTAssertEqual(a.rescaleActsByDecoderNorm, b.rescaleActsByDecoderNorm, file: file, line: line)
        XCTAssertEqual(a.normalizeActivations, b.normalizeActivations, file: file, line: line)
        XCTAssertEqual(a.weightDType, b.weightDType, file: file, line: line)
        var ma = a.metadata, mb = b.metadata
        if ignoringDefaultedKeys { ma.defaultedKeys = []; mb.defaultedKeys = [] }
        XCTAssertEqual(ma, mb, "metadata", file: file, line: line)
    }
}

/// A matrix of normal samples times `scale`.
func saeRandomMatrix(_ rows: Int, _ cols: Int, _ rng: inout SeededRandom, scale: Float = 1) -> Matrix {
    var m = Matrix(rows: rows, cols: cols)
    m.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = rng.normal() * scale } }
    return m
}

/// A small SAE of `architecture` with every weight random (biases and thresholds too).
func saeRandomFullSAE(_ architecture: SAEArchitecture, dIn: Int, dSae: Int, k: Int? = nil, seed: UInt64,
                      rescale: Bool = false, applyBDec: Bool = true) -> SparseAutoencoder {
    var rng = SeededRandom(seed: seed)
    var sae = SparseAutoencoder.random(architecture: architecture, dIn: dIn, dSae: dSae, k: k, seed: seed &+ 1,
                                       rescaleActsByDecoderNorm: rescale)
    sae.applyBDecToInput = applyBDec
    // Non-unit decoder norms, so the rescale matters.
    sae.wDec.withUnsafeMutableBufferPointer { w in
        for j in 0..<dSae { let s = rng.uniform(0.3, 2); for i in 0..<dIn { w[j * dIn + i] *= s } }
    }
    sae.bEnc = (0..<dSae).map { _ in rng.normal() * 0.3 }
    sae.bDec = (0..<dIn).map { _ in rng.normal() * 0.3 }
    if architecture.usesThreshold { sae.threshold = (0..<dSae).map { _ in rng.uniform(-0.2, 0.8) } }
    return sae
}
