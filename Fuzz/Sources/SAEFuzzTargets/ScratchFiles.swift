#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The files a fuzz target hands to readers that take a URL: one private directory per
/// process (`$TMPDIR/sae-fuzz-<pid>`), each file rewritten in place for every input.
enum ScratchFiles {
    static let directory: URL = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let url = URL(fileURLWithPath: base).appendingPathComponent("sae-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ScratchFiles.directory) }
        return url
    }()

    /// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its URL.
    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) -> URL {
        let url = directory.appendingPathComponent(name)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "fuzz: cannot create \(url.path): \(String(cString: strerror(errno)))")
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "fuzz: cannot write \(url.path): \(String(cString: strerror(errno)))")
            done += n
        }
        close(fd)
        return url
    }

    /// Removes `name` from the scratch directory if it is there.
    static func remove(_ name: String) {
        unlink(directory.appendingPathComponent(name).path)
    }
}
