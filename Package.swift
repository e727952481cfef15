// swift-tools-version:6.2
// SAEKit: sparse autoencoders on transformer MLP activations, on the CPU, in pure Swift.
import PackageDescription

// MARK: - Code generation for the hot kernels
// A default x86_64 build lowers SIMD8<Float>.addProduct to eight calls to `fmaf`
// (~0.6 GFLOP/s). The kernels module is compiled for Haswell-class CPUs (AVX2 + FMA:
// ymm registers and vfmadd) on x86_64; other architectures keep their defaults
// (NEON on arm64). `.ci/run` disassembles the release object to prove it.
// `_SAEKernelsAVX512` holds the AVX-512 GEMM micro-kernel, compiled for Skylake-AVX512
// (zmm registers); SAEKernels calls it only when the CPU reports avx512f at run time.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell", "-Xcc", "-march=x86-64-v3", "-Xcc", "-fno-math-errno"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
#else
let kernelFlags: [SwiftSetting] = []
let avx512Flags: [SwiftSetting] = []
#endif

let package = Package(
    name: "SAEKit",
    products: [
        // MARK: - Public API
        .library(name: "SAEKernels", targets: ["SAEKernels"]),
        .library(name: "SAEModel", targets: ["SAEModel"]),
        .executable(name: "sae-bench", targets: ["SAEBench"]),
        .executable(name: "sae", targets: ["SAECLI"]),
    ],
    targets: [
        // MARK: - Implementation
        .target(name: "SAEKernels", dependencies: ["_SAEKernelsAVX512"], swiftSettings: kernelFlags),
        // Resources/tiny-gelu-1l: the bundled model and tokens (`BundledModel`), what `sae train`
        // trains on with no options; the tests read the same files.
        .target(name: "SAEModel", dependencies: ["SAEKernels"], resources: [.copy("Resources/tiny-gelu-1l")],
                swiftSettings: kernelFlags),
        .executableTarget(name: "SAEBench", dependencies: ["SAEKernels", "SAEModel", "SAETestSupport"]),
        .executableTarget(name: "SAECLI", dependencies: ["SAEModel"]),

        // MARK: - Implementation details
        .target(name: "_SAEKernelsAVX512", swiftSettings: avx512Flags),

        // MARK: - Test support (not products)
        // The closeness rule (`Tolerance`, `Closeness`) and seeded test data, shared by the
        // test bundles and sae-bench; no XCTest, no kernels (the naive twins stay in
        // SAEKernels/Reference).
        .target(name: "SAETestSupport", dependencies: ["SAEKernels"]),
        // XCTest assertions over SAETestSupport, for the test bundles only.
        .target(name: "SAETestAssertions", dependencies: ["SAETestSupport"]),

        // MARK: - Unit test bundles
        .testTarget(name: "SAEKernelsTests", dependencies: ["SAEKernels", "_SAEKernelsAVX512", "SAETestSupport", "SAETestAssertions"]),
        .testTarget(name: "SAEModelTests", dependencies: ["SAEModel", "SAEKernels", "SAETestSupport", "SAETestAssertions"]),
        // Runs the built `sae` executable (and compares it with the library's `TrainingRun`).
        .testTarget(name: "SAECLITests", dependencies: ["SAECLI", "SAEModel", "SAETestSupport", "SAETestAssertions"]),
    ],
    // Kernels hand raw buffers to Dispatch workers that write disjoint ranges; the
    // Swift 5 language mode lets such closures capture pointers without wrappers.
    swiftLanguageModes: [.v5]
)
