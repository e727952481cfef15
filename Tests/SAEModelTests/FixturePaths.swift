import Foundation

/// Where the test fixtures are: `Tests/Fixtures`, found from this source file's path
/// (no SwiftPM resources, so the same files serve tests, benchmarks and the CLI).
enum Fixtures {
    /// `Tests/Fixtures`.
    static let dir: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SAEModelTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures", isDirectory: true)

    /// A path under `Tests/Fixtures`, e.g. `url("tiny-gelu-1l/model.safetensors")`.
    static func url(_ relative: String) -> URL {
        dir.appendingPathComponent(relative)
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
