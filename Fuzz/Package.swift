// swift-tools-version:6.2
// libFuzzer targets for SAEKit's parsers, one executable per parser. A separate package, so
// the root package's `swift build` / `swift test` never see them; built only by `Fuzz/run`
// (`swift build --sanitize=fuzzer --sanitize=address -Xswiftc -enable-testing`), which the
// targets need: they reach the package-level parsers (`JSONValue`, `BPETokenizer(jsonData:)`)
// through `@testable import SAEModel`.
import PackageDescription

/// (executable name, file in Sources/<target>/): each executable is one
/// `LLVMFuzzerTestOneInput` calling one function of `SAEFuzzTargets`.
let parsers = ["safetensors", "npy", "json", "tokenizer", "tokens", "saelens", "transformer-config"]

func targetName(_ parser: String) -> String {
    "Fuzz" + parser.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}

let package = Package(
    name: "SAEFuzz",
    products: parsers.map { .executable(name: "fuzz-\($0)", targets: [targetName($0)]) },
    dependencies: [.package(name: "SAEKit", path: "..")],
    targets: [
        // MARK: - What each target does with its input
        .target(name: "SAEFuzzTargets", dependencies: [
            .product(name: "SAEModel", package: "SAEKit"), .product(name: "SAEKernels", package: "SAEKit"),
        ]),
    ] + parsers.map {
        // MARK: - The libFuzzer entry points
        .executableTarget(name: targetName($0), dependencies: ["SAEFuzzTargets"])
    },
    swiftLanguageModes: [.v5]
)
