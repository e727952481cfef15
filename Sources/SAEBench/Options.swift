import Foundation
import SAEKernels

/// Command-line options of sae-bench.
struct Options {
    var json = false
    var filters: [String] = []
    var threads: [Int] = [Parallel.defaultThreads]
    var naive = true
    var repeats = 5
    var list = false

    static let usage = """
    usage: sae-bench [--json] [--filter SUBSTRING]... [--threads N[,N...]] [--repeats N] [--no-naive] [--list]

    Times SAEKit's kernels against their naive reference twins, on this machine.
      --json              one JSON object per line: kernel, shape, threads, fast_ms, naive_ms,
                          naive_shape, speedup, gflops, gbps, peak_pct
      --filter S          only cases whose kernel or shape contains S (repeatable: any matches)
      --threads N[,N..]   thread counts to run each case with (default: all cores, \(Parallel.defaultThreads))
      --repeats N         timed runs per measurement, median reported (default 5)
      --no-naive          skip the naive twins
      --list              list the cases and exit
    The naive twin runs on a smaller shape when the full one would take minutes; its shape is
    printed and the speed-up compares work per second.
    """

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var i = 0
        func value(_ flag: String) -> String {
            i += 1
            guard i < args.count else { fail("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--json": o.json = true
            case "--filter": o.filters.append(value(a))
            case "--threads":
                let v = value(a)
                let ts = v.split(separator: ",").compactMap { Int($0) }
                guard !ts.isEmpty, ts.count == v.split(separator: ",").count, ts.allSatisfy({ $0 >= 1 }) else {
                    fail("--threads takes positive integers separated by commas, got '\(v)'")
                }
                o.threads = ts
            case "--repeats":
                let v = value(a)
                guard let n = Int(v), n >= 1 else { fail("--repeats takes a positive integer, got '\(v)'") }
                o.repeats = n
            case "--no-naive": o.naive = false
            case "--list": o.list = true
            case "--help", "-h": print(usage); exit(0)
            default: fail("unknown option '\(a)'")
            }
            i += 1
        }
        return o
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write("sae-bench: \(message) (see --help)\n".data(using: .utf8)!)
        exit(2)
    }
}
