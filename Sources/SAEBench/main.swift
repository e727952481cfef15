import Foundation
import SAEKernels

// sae-bench: SAEKit's kernels against their naive twins, as a table or JSON lines.

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let cases = (KernelCases.all() + TrainingCases.all() + TransformerCases.all() + SyntheticCases.all()).filter { c in
    options.filters.isEmpty || options.filters.contains { c.kernel.contains($0) || c.shape.contains($0) }
}
if options.list {
    for c in cases { print(c.label) }
    exit(0)
}
if cases.isEmpty { Options.fail("no case matches the filter \(options.filters)") }

let peakPerCore = PeakMeasurement.gflopsPerCore()
let report = Report(json: options.json, peakPerCore: peakPerCore)
report.header()
for c in cases {
    for threads in options.threads {
        let runner = c.setUp(threads)
        let once = c.kernel.hasPrefix("synthetic")  // a whole training run: time it once
        let fastMs = Timing.medianMs(warmup: once ? 0 : 1, repeats: once ? 1 : options.repeats, budgetSeconds: 10, runner.fast)
        var naiveMs: Double? = nil
        if options.naive, let naive = runner.naive {
            naiveMs = Timing.medianMs(warmup: 0, repeats: 1, budgetSeconds: 30, naive)
        }
        report.row(c, threads: threads, fastMs: fastMs, naiveMs: naiveMs, extra: runner.extra.merging(runner.report?() ?? [:]) { $1 })
        blackHole(runner.keepAlive)
    }
}
report.footer()
