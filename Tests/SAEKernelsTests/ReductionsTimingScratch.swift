import Foundation
import XCTest
@testable import SAEKernels

final class KernelsTimingScratch: XCTestCase {
    func time(_ name: String, _ elements: Int, reps: Int = 5, _ body: () -> Void) {
        body()
        var best = Double.infinity
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0))
        }
        print(String(format: "TIMING %-28@ %8.3f ms  %6.3f ns/elem", name as NSString, best / 1e6, best / Double(elements)))
    }
    func testTiming() {
        let n = 1 << 22
        var rng = TestRNG(seed: 1)
        let x = randomArray(n, &rng, scale: 3)
        var y = [Float](repeating: 0, count: n), z = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in z.withUnsafeMutableBufferPointer { zp in
            let a = xp.baseAddress!, b = yp.baseAddress!, c = zp.baseAddress!
            for t in [1, 2] {
                time("exp t=\(t)", n) { SIMDMath.exp(a, b, count: n) }
                time("gelu exact fwd t=\(t)", n) { GELU.forward(a, b, count: n, variant: .exact, threads: t) }
                time("gelu tanh fwd t=\(t)", n) { GELU.forward(a, b, count: n, variant: .tanh, threads: t) }
                time("gelu exact bwd t=\(t)", n) { GELU.backward(a, a, b, count: n, variant: .exact, threads: t) }
                time("gelu tanh bwd t=\(t)", n) { GELU.backward(a, a, b, count: n, variant: .tanh, threads: t) }
                time("layernorm 8192x512 t=\(t)", n) { LayerNorm.forward(a, rows: 8192, d: 512, weight: a, bias: a, output: b, threads: t) }
                time("softmax 4096x1024 t=\(t)", n) { b.update(from: a, count: n); Softmax.forwardInPlace(b, rows: 4096, n: 1024, threads: t) }
                time("lse 80x50257 t=\(t)", 80 * 50257) { Softmax.logSumExp(a, rows: 80, n: 50257, output: c, threads: t) }
                time("adam t=\(t)", n) { Adam.step(parameters: b, gradients: a, firstMoment: c, secondMoment: c, count: n, learningRate: 1e-3, step: 3, threads: t) }
                time("project 256x16384 t=\(t)", n) { Adam.projectGradientOrthogonal(a, b, rows: 256, d: 16384, threads: t) }
                time("l2 8192x512 t=\(t)", n) { Reductions.rowL2Norms(a, rows: 8192, d: 512, norms: c, threads: t) }
                var counts = [Int](repeating: 0, count: 16384)
                time("fire 256x16384 t=\(t)", n) { counts.withUnsafeMutableBufferPointer { Reductions.addFireCounts(a, rows: 256, n: 16384, counts: $0.baseAddress!, threads: t) } }
                time("recstats 8192x512 t=\(t)", n) { _ = Reductions.reconstructionStatistics(a, b, rows: 8192, d: 512, threads: t) }
            }
            time("twin gelu exact fwd", n, reps: 1) { Reference.gelu(a, b, count: n, variant: .exact) }
            time("twin exp", n, reps: 1) { Reference.exp(a, b, count: n) }
            time("twin softmax", n, reps: 1) { b.update(from: a, count: n); Reference.softmaxInPlace(b, rows: 4096, n: 1024) }
        }}}
    }
}
