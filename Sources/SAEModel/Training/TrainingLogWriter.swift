import Foundation

/// Appends JSON lines to `<path>.partial` and renames it to `<path>` when closed, so a
/// reader never mistakes an interrupted run's log for a finished one.
package final class TrainingLogWriter {
    package let url: URL
    let partial: URL
    let handle: FileHandle

    package convenience init(url: URL) throws { try self.init(url: url, startingWith: []) }

    /// A log whose partial file starts with `lines` (a resumed run's log up to its
    /// checkpoint; written atomically over any partial file there), then appended to.
    package init(url: URL, startingWith lines: [String]) throws {
        self.url = url
        partial = url.appendingPathExtension("partial")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            try AtomicFile.write(to: partial) { out in for line in lines { try out.append(Array((line + "\n").utf8)) } }
            handle = try FileHandle(forWritingTo: partial)
            try handle.seekToEnd()
        } catch {
            throw TrainingError.invalidConfig("cannot create the training log at \(partial.path): \(error)")
        }
    }

    package func append(_ line: String) {
        handle.write(Data((line + "\n").utf8))
    }

    /// Closes the file and moves it to its final name.
    package func finish() throws {
        try handle.close()
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: partial, to: url)
    }
}
