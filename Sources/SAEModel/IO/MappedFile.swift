#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Why a file could not be opened, mapped or written; the readers and writers wrap it
/// into their own error type.
package struct FileAccessError: Error, CustomStringConvertible {
    package let path: String
    package let reason: String
    package var description: String { "\(path): \(reason)" }
}

/// A read-only memory map of a whole regular file (`mmap(PROT_READ, MAP_PRIVATE)`).
///
/// Pages are read from disk when first touched, so opening a multi-GB file costs
/// nothing until its bytes are used. The mapping lives as long as the object; raw
/// memory is reached only inside `withBytes`. Truncating the file while it is mapped
/// makes later reads fault (SIGBUS), as with any mapped file.
package final class MappedFile: @unchecked Sendable {
    package let url: URL
    /// The file size in bytes.
    package let count: Int
    private let base: UnsafeMutableRawPointer?  // nil for an empty file

    package init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw FileAccessError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FileAccessError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FileAccessError(path: path, reason: "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw FileAccessError(path: path, reason: "cannot mmap \(count) bytes: \(String(cString: strerror(errno)))")
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Calls `body` with the whole file's bytes (an empty buffer for an empty file).
    @inline(__always)
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: count))
    }
}
