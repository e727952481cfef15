import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `CausalAttentionHead` against its naive twin `Reference.causalAttentionHead` (Double,
/// rounded once), on sequence lengths and head widths around the micro-kernel tile (every kernel).
final class CausalAttentionHeadTests: XCTestCase {
    /// Runs the fast head or its twin on `qkv` (`[seq, ld]`, columns `[q | k | v]`), into a
    /// NaN-filled `[seq, ldz]` (so a write past `dHead` shows).
    private func attention(_ qkv: [Float], seq: Int, dHead: Int, ld: Int, ldz: Int, kernel: GEMMKernel?) -> [Float] {
        let scale = 1 / Float(dHead).squareRoot()
        var z = [Float](repeating: .nan, count: seq * ldz)
        qkv.withUnsafeBufferPointer { p in z.withUnsafeMutableBufferPointer { zp in
            let q = p.baseAddress!, k = q + dHead, v = q + 2 * dHead
            if let kernel {
                ScratchPool.withScratch(count: CausalAttentionHead.scratchCount(seq: seq, dHead: dHead, kernel: kernel)) { s in
                    CausalAttentionHead.forward(q: q, k: k, v: v, ld: ld, seq: seq, dHead: dHead, scale: scale,
                                                z: zp.baseAddress!, ldz: ldz, scratch: s, kernel: kernel)
                }
            } else {
                Reference.causalAttentionHead(q: q, k: k, v: v, ld: ld, seq: seq, dHead: dHead, scale: scale,
                                              z: zp.baseAddress!, ldz: ldz)
            }
        }}
        return z
    }

    /// `|fast - twin| <= 2e-5 (1 + sum_j p_j |v[j, c]|)`: the twin run on `|v|` gives the
    /// magnitude sum the Float rounding errors scale with.
    func testMatchesNaiveTwin() {
        for kernel in GEMMKernel.available {
            for (seq, dHead) in [(1, 64), (kernel.mr - 1, 64), (kernel.mr + 1, 33), (kernel.nr + 1, kernel.nr), (37, 20), (130, 64)] {
                var rng = SeededRandom(seed: UInt64(seq * 100 + dHead))
                let ld = 3 * dHead + 5, ldz = dHead + 3
                let qkv = randomArray(seq * ld, &rng, scale: 2)
                var absV = qkv
                for i in 0..<seq { for c in 0..<dHead { absV[i * ld + 2 * dHead + c] = Swift.abs(qkv[i * ld + 2 * dHead + c]) } }
                let got = attention(qkv, seq: seq, dHead: dHead, ld: ld, ldz: ldz, kernel: kernel)
                let twin = attention(qkv, seq: seq, dHead: dHead, ld: ld, ldz: ldz, kernel: nil)
                let magnitude = attention(absV, seq: seq, dHead: dHead, ld: ld, ldz: ldz, kernel: nil)
                // NaN stays NaN past dHead (neither writes there), so the whole rows compare.
                assertClose(got, twin.map(Double.init), atol: { magnitude[$0].isNaN ? 0 : 2e-5 * (Double(magnitude[$0]) + 1) },
                            "\(kernel) seq=\(seq) dHead=\(dHead)")
                for i in 0..<seq { for c in dHead..<ldz { XCTAssertTrue(got[i * ldz + c].isNaN, "wrote past dHead") } }
            }
        }
    }

    /// The twin against the softmax-attention formula on a hand-sized case: two keys with
    /// scores 0 and ln 3 give weights 1/4 and 3/4.
    func testNaiveTwinByHand() {
        // seq 2, dHead 1, ld 3: rows [q k v]; scale 1. Row 1: scores q1*k0 = 0, q1*k1 = ln 3.
        let ln3 = Float(Foundation.log(3.0))
        let qkv: [Float] = [5, 0, 10,
                            1, ln3, 2]
        let z = attention(qkv, seq: 2, dHead: 1, ld: 3, ldz: 1, kernel: nil)
        XCTAssertEqual(z[0], 10, "the first query sees only the first key")
        assertClose([z[1]], [0.25 * 10 + 0.75 * 2], atol: 0, rtol: 1e-6, "softmax-weighted values")
    }
}

extension CausalAttentionHeadTests {
    /// All heads of a sequence at once give each head's `forward` result, bitwise.
    func testSequenceOfHeadsEqualsHeadByHead() {
        for kernel in GEMMKernel.available {
            for (heads, seq, dHead) in [(3, 1, 16), (2, kernel.mr + 1, 33), (4, 45, 64)] {
                var rng = SeededRandom(seed: UInt64(heads * 1000 + seq))
                let ld = 3 * heads * dHead + 2, ldz = heads * dHead + 1
                let qkv = randomArray(seq * ld, &rng)
                let scale = 1 / Float(dHead).squareRoot()
                var one = [Float](repeating: .nan, count: seq * ldz), all = one
                qkv.withUnsafeBufferPointer { p in
                    one.withUnsafeMutableBufferPointer { zp in
                        ScratchPool.withScratch(count: CausalAttentionHead.scratchCount(seq: seq, dHead: dHead, kernel: kernel)) { s in
                            for h in 0..<heads {
                                let q = p.baseAddress! + h * dHead
                                CausalAttentionHead.forward(q: q, k: q + heads * dHead, v: q + 2 * heads * dHead, ld: ld, seq: seq,
                                                            dHead: dHead, scale: scale, z: zp.baseAddress! + h * dHead, ldz: ldz,
                                                            scratch: s, kernel: kernel)
                            }
                        }
                    }
                    all.withUnsafeMutableBufferPointer { zp in
                        let count = CausalAttentionHead.sequenceScratchCount(heads: heads, seq: seq, dHead: dHead, kernel: kernel)
                        ScratchPool.withScratch(count: count) { s in
                            CausalAttentionHead.forwardSequence(qkv: p.baseAddress!, ld: ld, heads: heads, seq: seq, dHead: dHead,
                                                                scale: scale, z: zp.baseAddress!, ldz: ldz, scratch: s, kernel: kernel)
                        }
                    }
                }
                assertBitwiseEqual(all, one, "\(kernel) heads=\(heads) seq=\(seq) dHead=\(dHead)")
            }
        }
    }
}
