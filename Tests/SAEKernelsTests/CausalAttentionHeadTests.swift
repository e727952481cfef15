import Foundation
import XCTest
@testable import SAEKernels

/// `CausalAttentionHead` against causal softmax attention computed plainly in Double, on
/// sequence lengths and head widths around the micro-kernel tile (every kernel).
final class CausalAttentionHeadTests: XCTestCase {
    func testMatchesDoubleReference() {
        for kernel in GEMMKernel.available {
            for (seq, dHead) in [(1, 64), (kernel.mr - 1, 64), (kernel.mr + 1, 33), (kernel.nr + 1, kernel.nr), (37, 20), (130, 64)] {
                var rng = TestRNG(seed: UInt64(seq * 100 + dHead))
                let ld = 3 * dHead + 5, ldz = dHead + 3
                let qkv = randomArray(seq * ld, &rng, scale: 2)
                let scale = 1 / Float(dHead).squareRoot()
                var z = [Float](repeating: .nan, count: seq * ldz)
                qkv.withUnsafeBufferPointer { p in z.withUnsafeMutableBufferPointer { zp in
                    ScratchPool.withScratch(count: CausalAttentionHead.scratchCount(seq: seq, dHead: dHead, kernel: kernel)) { s in
                        CausalAttentionHead.forward(q: p.baseAddress!, k: p.baseAddress! + dHead, v: p.baseAddress! + 2 * dHead, ld: ld,
                                                    seq: seq, dHead: dHead, scale: scale, z: zp.baseAddress!, ldz: ldz,
                                                    scratch: s, kernel: kernel)
                    }
                }}
                for i in 0..<seq {
                    var scores = [Double](repeating: 0, count: i + 1)
                    for j in 0...i {
                        var s = 0.0
                        for c in 0..<dHead { s += Double(qkv[i * ld + c]) * Double(qkv[j * ld + dHead + c]) }
                        scores[j] = s * Double(scale)
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }, total = e.reduce(0, +)
                    for c in 0..<dHead {
                        var want = 0.0, mag = 0.0
                        for j in 0...i {
                            want += e[j] / total * Double(qkv[j * ld + 2 * dHead + c])
                            mag += Swift.abs(e[j] / total * Double(qkv[j * ld + 2 * dHead + c]))
                        }
                        XCTAssertEqual(Double(z[i * ldz + c]), want, accuracy: 2e-5 * (mag + 1),
                                       "\(kernel) seq=\(seq) dHead=\(dHead) row \(i) col \(c)")
                    }
                    for c in dHead..<ldz { XCTAssertTrue(z[i * ldz + c].isNaN, "wrote past dHead") }
                }
            }
        }
    }
}

extension CausalAttentionHeadTests {
    /// All heads of a sequence at once give each head's `forward` result, bitwise.
    func testSequenceOfHeadsEqualsHeadByHead() {
        for kernel in GEMMKernel.available {
            for (heads, seq, dHead) in [(3, 1, 16), (2, kernel.mr + 1, 33), (4, 45, 64)] {
                var rng = TestRNG(seed: UInt64(heads * 1000 + seq))
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
                KernelCheck.assertBitwiseEqual(all, one, "\(kernel) heads=\(heads) seq=\(seq) dHead=\(dHead)")
            }
        }
    }
}
