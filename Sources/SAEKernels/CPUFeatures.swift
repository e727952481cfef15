import Foundation

/// What the CPU this process runs on can execute, read once.
///
/// On Linux the `flags` line of /proc/cpuinfo (the kernel lists a feature there only
/// when it also saves that state across context switches); elsewhere, conservatively,
/// nothing beyond the build's baseline. `SAE_DISABLE_AVX512=1` in the environment turns
/// the AVX-512 kernels off (to compare paths, or on a machine that misreports).
public enum CPUFeatures {
    /// True when the AVX-512 Foundation instructions can be used.
    public static let hasAVX512F: Bool = {
        #if arch(x86_64)
        if ProcessInfo.processInfo.environment["SAE_DISABLE_AVX512"] == "1" { return false }
        #if os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        for line in info.split(separator: "\n") where line.hasPrefix("flags") {
            let flags = line.split(separator: " ")
            return flags.contains("avx512f") && flags.contains("avx512vl") && flags.contains("avx512bw")
                && flags.contains("avx512dq")
        }
        return false
        #else
        return false
        #endif
        #else
        return false
        #endif
    }()
}
