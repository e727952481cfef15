import Foundation
import SAEModel

/// Where the test fixtures are: `Tests/Fixtures`, found from this source file's path, and
/// the bundled model (`BundledModel`, a resource of SAEModel: one copy of the model for the
/// library, the CLI and the tests).
enum Fixtures {
    /// `Tests/Fixtures`.
    static let dir: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SAEModelTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures", isDirectory: true)

    /// The bundled tiny-gelu-1l folder (`BundledModel.folder`): the model, its tokenizer and tokens.
    static let model: URL = try! BundledModel.folder

    /// The model's own files, which `Tests/Fixtures/tiny-gelu-1l` leaves to the bundled model.
    static let bundledFiles: Set<String> = ["config.json", "model.safetensors", "tokenizer.json", "tokens-eval.bin", "tokens-train.bin"]

    /// A path under `Tests/Fixtures`, e.g. `url("tiny-gelu-1l/reference.safetensors")`; the
    /// model's own files (`url("tiny-gelu-1l/model.safetensors")`, `bundledFiles`) are the
    /// bundled model's, in `model`.
    static func url(_ relative: String) -> URL {
        let parts = relative.split(separator: "/").map(String.init)
        if parts.count == 2, parts[0] == "tiny-gelu-1l", bundledFiles.contains(parts[1]) {
            return model.appendingPathComponent(parts[1])
        }
        return dir.appendingPathComponent(relative)
    }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init(_ label: String = "saekit-io") {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)", isDirectory: true)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `bytes` to `name` and returns its URL.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> URL {
        let u = file(name)
        try! Data(bytes).write(to: u)
        return u
    }

    /// The names in the directory (hidden ones included).
    func contents() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.sorted() ?? []
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
