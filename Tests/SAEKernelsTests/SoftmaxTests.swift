import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `Softmax.forwardInPlace`, `logSumExp`, `crossEntropy` against their naive twins (Double
/// inside) and against Double math written without the max subtraction.
final class SoftmaxTests: XCTestCase {

    private func softmax(_ x: [Float], rows: Int, n: Int, lengths: [Int]?, threads: Int = 2, twin: Bool = false) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            func run(_ l: UnsafePointer<Int>?) {
                if twin { Reference.softmaxInPlace(base, rows: rows, n: n, validLengths: l) }
                else { Softmax.forwardInPlace(base, rows: rows, n: n, validLengths: l, threads: threads) }
            }
            if let lengths { lengths.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        }
        return y
    }

    private func logSumExp(_ x: [Float], rows: Int, n: Int, threads: Int = 2, twin: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: rows)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { o in
                if twin { Reference.logSumExp(xp.baseAddress!, rows: rows, n: n, output: o.baseAddress!) }
                else { Softmax.logSumExp(xp.baseAddress!, rows: rows, n: n, output: o.baseAddress!, threads: threads) }
            }
        }
        return out
    }

    private func crossEntropy(_ x: [Float], rows: Int, vocab: Int, targets: [Int32], threads: Int = 2,
                              twin: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: rows)
        x.withUnsafeBufferPointer { xp in
            targets.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    if twin {
                        Reference.crossEntropy(logits: xp.baseAddress!, rows: rows, vocab: vocab,
                                               targets: t.baseAddress!, loss: o.baseAddress!)
                    } else {
                        Softmax.crossEntropy(logits: xp.baseAddress!, rows: rows, vocab: vocab,
                                             targets: t.baseAddress!, loss: o.baseAddress!, threads: threads)
                    }
                }
            }
        }
        return out
    }

    /// Softmax in Double without the max subtraction (fine for |x| <= 30).
    private func softmaxDouble(_ x: [Float], rows: Int, n: Int, lengths: [Int]?) -> [Double] {
        var y = [Double]()
        for r in 0..<rows {
            let length = lengths?[r] ?? n
            let e = (0..<n).map { $0 < length ? Foundation.exp(Double(x[r * n + $0])) : 0 }
            let sum = e.reduce(0, +)
            y += e.map { length == 0 ? 0 : $0 / sum }
        }
        return y
    }

    /// All sizes, with and without valid lengths (0, n and random in between).
    /// Tolerance fast vs twin and vs Double: `rtol 2e-6` (exp 1 ulp, rounding of `x - m`
    /// scaled by `|x - m|`, Float sum), `atol 1e-30`; masked entries exactly 0.
    func testSoftmaxMatchesTwinAndDouble() {
        for n in KernelCheck.sizes {
            for rows in [0, 1, 5] {
                var rng = SeededRandom(seed: UInt64(n * 10 + rows))
                let x = randomArray(rows * n, &rng, scale: 3)
                let lengths = (0..<rows).map { r in r == 0 ? n : r == 1 ? 0 : rng.int(below: n + 1) }
                for l in [nil, lengths] as [[Int]?] {
                    let what = "rows=\(rows) n=\(n) masked=\(l != nil)"
                    let fast = softmax(x, rows: rows, n: n, lengths: l)
                    let twin = softmax(x, rows: rows, n: n, lengths: l, twin: true)
                    let exact = softmaxDouble(x, rows: rows, n: n, lengths: l)
                    assertClose(fast, exact, atol: 1e-30, rtol: 2e-6, "fast vs Double " + what)
                    assertClose(twin, exact, atol: 1e-30, rtol: 1.2e-7, "twin vs Double " + what)
                    assertClose(fast, twin, atol: 1e-30, rtol: 2e-6, "fast vs twin " + what)
                    for r in 0..<rows {
                        let length = l?[r] ?? n
                        XCTAssertTrue(fast[(r * n + length)..<(r * n + n)].allSatisfy { $0 == 0 }, "masked tail " + what)
                    }
                }
            }
        }
    }

    /// Logits far from 0 (1000 + N(0, 1), and -1000 + ...): no overflow, shift invariance.
    func testSoftmaxLargeLogitsAreStable() {
        let rows = 3, n = 127
        var rng = SeededRandom(seed: 11)
        let base = randomArray(rows * n, &rng)
        for offset: Float in [1000, -1000, 80, -80] {
            let fast = softmax(base.map { $0 + offset }, rows: rows, n: n, lengths: nil)
            let reference = softmaxDouble(base, rows: rows, n: n, lengths: nil)
            // x + offset is rounded to Float: ulp(1000) = 6e-5 of relative error in e^x.
            let rtol: Double = Swift.abs(offset) > 100 ? 2e-4 : 1e-5
            assertClose(fast, reference, atol: 1e-30, rtol: rtol, "offset \(offset)")
        }
    }

    func testSoftmaxThreadCountsAreBitwiseIdentical() {
        let rows = 300, n = 1021
        var rng = SeededRandom(seed: 12)
        let x = randomArray(rows * n, &rng, scale: 4)
        let lengths = (0..<rows).map { min(n, $0 * 4) }
        let one = softmax(x, rows: rows, n: n, lengths: lengths, threads: 1)
        for t in [2, 3] {
            assertBitwiseEqual(softmax(x, rows: rows, n: n, lengths: lengths, threads: t), one, "threads=\(t)")
        }
        let lse1 = logSumExp(x, rows: rows, n: n, threads: 1)
        for t in [2, 3] {
            assertBitwiseEqual(logSumExp(x, rows: rows, n: n, threads: t), lse1, "lse threads=\(t)")
        }
    }

    /// Tolerance: `rtol 2.5e-7, atol 5e-7` (the log of a sum with relative error ~1e-7,
    /// then one Float rounding). The vocabulary 50257 (GPT-2) crosses many 256 blocks.
    func testLogSumExpAndCrossEntropyMatchTwinAndDouble() {
        for vocab in KernelCheck.sizes.filter({ $0 > 0 }) + [50257] {
            let rows = vocab > 10_000 ? 2 : 5
            var rng = SeededRandom(seed: UInt64(vocab))
            let x = randomArray(rows * vocab, &rng, scale: 4)
            let targets = (0..<rows).map { _ in Int32(rng.int(below: vocab)) }
            // Double math without max subtraction.
            var lseExact = [Double](), ceExact = [Double]()
            for r in 0..<rows {
                let lse = Foundation.log(x[(r * vocab)..<(r * vocab + vocab)].reduce(0.0) { $0 + Foundation.exp(Double($1)) })
                lseExact.append(lse)
                ceExact.append(lse - Double(x[r * vocab + Int(targets[r])]))
            }
            let what = "rows=\(rows) vocab=\(vocab)"
            let lseFast = logSumExp(x, rows: rows, n: vocab), lseTwin = logSumExp(x, rows: rows, n: vocab, twin: true)
            assertClose(lseFast, lseExact, atol: 5e-7, rtol: 2.5e-7, "lse fast vs Double " + what)
            assertClose(lseTwin, lseExact, atol: 1e-12, rtol: 1e-7, "lse twin vs Double " + what)
            assertClose(lseFast, lseTwin, atol: 5e-7, rtol: 2.5e-7, "lse fast vs twin " + what)
            let ceFast = crossEntropy(x, rows: rows, vocab: vocab, targets: targets)
            let ceTwin = crossEntropy(x, rows: rows, vocab: vocab, targets: targets, twin: true)
            assertClose(ceFast, ceExact, atol: 5e-7, rtol: 2.5e-7, "ce fast vs Double " + what)
            assertClose(ceTwin, ceExact, atol: 1e-12, rtol: 1e-7, "ce twin vs Double " + what)
            assertClose(ceFast, ceTwin, atol: 5e-7, rtol: 2.5e-7, "ce fast vs twin " + what)
        }
        // Large logits: no overflow; cross-entropy of a dominant target is ~0.
        var logits = [Float](repeating: -50, count: 1021)
        logits[17] = 3000
        XCTAssertEqual(logSumExp(logits, rows: 1, n: 1021)[0], 3000)
        XCTAssertEqual(crossEntropy(logits, rows: 1, vocab: 1021, targets: [17])[0], 0)
        XCTAssertEqual(crossEntropy(logits, rows: 1, vocab: 1021, targets: [3])[0], 3050)
    }
}
