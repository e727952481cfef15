import Foundation
import SAEKernels

/// The machine's FMA peak, measured once by `FMAPeakProbe` on one core.
enum PeakMeasurement {
    static func gflopsPerCore() -> Double {
        let iterations = 2_000_000
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = Timing.now()
            blackHole(FMAPeakProbe.run(iterations: iterations))
            best = min(best, Double(Timing.now() - t0) / 1e9)
        }
        return Double(FMAPeakProbe.flopsPerIteration * iterations) / best / 1e9
    }
}

/// Prints results as an aligned table or as JSON lines.
struct Report {
    let json: Bool
    let peakPerCore: Double

    func header() {
        if json { return }
        let isa = CPUFeatures.hasAVX512F ? "AVX-512" : "AVX2+FMA"
        print("sae-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(isa) kernels, measured FMA peak "
              + String(format: "%.0f", peakPerCore) + " GFLOP/s per core")
        print(pad("kernel", 20) + pad("shape", 30) + lpad("thr", 4) + lpad("fast ms", 11) + lpad("naive ms", 11)
              + "  " + pad("naive shape", 26) + lpad("speed-up", 10) + lpad("GFLOP/s", 9) + lpad("GB/s", 8) + lpad("% peak", 8))
    }

    func row(_ c: BenchCase, threads: Int, fastMs: Double, naiveMs: Double?, extra: [String: Double]) {
        let rate = c.work.amount / (fastMs / 1e3) / 1e9
        var gflops: Double? = nil, gbps: Double? = nil, peakPct: Double? = nil
        switch c.work {
        case .flops: gflops = rate; peakPct = 100 * rate / (peakPerCore * Double(min(threads, ProcessInfo.processInfo.activeProcessorCount)))
        case .bytes: gbps = rate
        case .tokens: break
        }
        var extra = extra
        if case .tokens(let t) = c.work { extra["tokens_per_s"] = t / (fastMs / 1e3) }
        var speedup: Double? = nil
        if let naiveMs {
            let naiveRate = (c.naiveWork ?? c.work.amount) / naiveMs
            speedup = (c.work.amount / fastMs) / naiveRate
        }
        if json {
            var fields: [(String, String)] = [
                ("kernel", quote(c.kernel)), ("shape", quote(c.shape)), ("threads", "\(threads)"),
                ("fast_ms", num(fastMs)), ("naive_ms", naiveMs.map(num) ?? "null"),
                ("naive_shape", quote(c.naiveShape ?? c.shape)), ("speedup", speedup.map(num) ?? "null"),
                ("gflops", gflops.map(num) ?? "null"), ("gbps", gbps.map(num) ?? "null"),
                ("peak_pct", peakPct.map(num) ?? "null"),
            ]
            for (k, v) in extra.sorted(by: { $0.key < $1.key }) { fields.append((k, num(v))) }
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print(pad(c.kernel, 20) + pad(c.shape, 30) + lpad("\(threads)", 4) + lpad(fmt(fastMs), 11)
                  + lpad(naiveMs.map(fmt) ?? "-", 11) + "  " + pad(naiveMs == nil ? "" : (c.naiveShape ?? "same"), 26)
                  + lpad(speedup.map { fmt($0) + "x" } ?? "-", 10) + lpad(gflops.map(fmt) ?? "-", 9)
                  + lpad(gbps.map(fmt) ?? "-", 8) + lpad(peakPct.map { fmt($0) } ?? "-", 8)
                  + extra.sorted { $0.key < $1.key }.map { "  \($0.key)=\(fmt($0.value))" }.joined())
        }
        fflush(stdout)
    }

    func footer() {}

    private func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
    private func num(_ x: Double) -> String { x.isFinite ? String(format: "%.4g", x) : "null" }
    private func fmt(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : x >= 10 ? String(format: "%.1f", x) : String(format: "%.2f", x) }
    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
}
