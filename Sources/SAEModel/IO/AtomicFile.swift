#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Musl)
private let posixWrite = Musl.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif

/// Writes a file atomically: the bytes go to a temporary file in the destination's
/// directory (`.<name>.tmp-<pid>-<random>`), which is flushed (`fsync`) and then renamed
/// over the destination. Readers see either the old file or the complete new one; on
/// any error the temporary file is removed and the destination is left untouched.
package enum AtomicFile {
    /// Creates the file at `url` from what `body` appends to the output.
    package static func write(to url: URL, _ body: (BufferedOutput) throws -> Void) throws {
        let path = url.path
        let dir = url.deletingLastPathComponent().path
        let tmpPath = (dir.isEmpty ? "." : dir) + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw FileAccessError(path: path,
                                  reason: "cannot create temporary file \(tmpPath): \(String(cString: strerror(errno)))")
        }
        let output = BufferedOutput(fd: fd, path: path)
        do {
            try body(output)
            try output.flush()
            guard fsync(fd) == 0 else {
                throw FileAccessError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
            }
            guard close(fd) == 0 else {
                output.closed = true
                throw FileAccessError(path: path, reason: "close failed: \(String(cString: strerror(errno)))")
            }
            output.closed = true
            guard rename(tmpPath, path) == 0 else {
                throw FileAccessError(path: path, reason: "cannot rename \(tmpPath) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            if !output.closed { close(fd) }
            unlink(tmpPath)
            throw error
        }
    }

    /// Appends bytes to the temporary file through a 1 MiB buffer.
    package final class BufferedOutput {
        private let fd: Int32
        private let path: String
        private var buffer: [UInt8] = []
        fileprivate var closed = false
        private static let capacity = 1 << 20
        /// Bytes appended so far.
        package private(set) var bytesWritten = 0

        fileprivate init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(Self.capacity)
        }

        package func append(_ bytes: UnsafeRawBufferPointer) throws {
            bytesWritten += bytes.count
            if buffer.count + bytes.count > Self.capacity { try flush() }
            if bytes.count >= Self.capacity {
                try writeAll(bytes)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        package func append(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try append($0) }
        }

        /// Appends the raw (native, little-endian) bytes of `values`.
        package func append<T>(contentsOf values: [T]) throws {
            try values.withUnsafeBytes { try append($0) }
        }

        fileprivate func flush() throws {
            if buffer.isEmpty { return }
            try buffer.withUnsafeBytes { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
        }

        private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            guard var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = posixWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileAccessError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                p += n
                left -= n
            }
        }
    }
}
