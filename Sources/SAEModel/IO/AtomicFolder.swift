import Foundation

/// Writes a folder atomically: its files are written into a hidden temporary folder beside
/// the destination (`.<name>.tmp-<pid>-<random>`), which is then renamed to the destination.
/// A reader (or a run resumed after a crash) sees either no folder, the previous one, or the
/// complete new one, never a partial folder under the final name.
///
/// Replacing an existing folder: the old one is first renamed aside (`.<name>.old-...`), the
/// new one renamed in, then the old one removed. On any error the temporary folder is removed
/// and the destination left as it was.
package enum AtomicFolder {
    /// The infixes of the hidden names, so the leftovers of a killed writer can be found.
    package static let temporaryInfix = ".tmp-"
    package static let replacedInfix = ".old-"

    /// Creates the folder at `directory` from the files `body` writes into the URL it is given.
    package static func write(to directory: URL, _ body: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tag = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let tmp = parent.appendingPathComponent(".\(directory.lastPathComponent)\(temporaryInfix)\(tag)")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
        do {
            try body(tmp)
            if fm.fileExists(atPath: directory.path) {
                let old = parent.appendingPathComponent(".\(directory.lastPathComponent)\(replacedInfix)\(tag)")
                try fm.moveItem(at: directory, to: old)
                do { try fm.moveItem(at: tmp, to: directory) } catch {
                    try? fm.moveItem(at: old, to: directory)
                    throw error
                }
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: directory)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }

    /// Cleans up after writes into `parent` that were interrupted (a killed process leaves its
    /// temporary folder behind): temporary folders are removed; a folder set aside for
    /// replacement is put back when nothing took its name, removed otherwise. Returns the
    /// hidden names handled.
    @discardableResult
    package static func removeLeftovers(in parent: URL) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: parent.path) else { return [] }
        var handled: [String] = []
        for name in names.sorted() where name.hasPrefix(".") {
            let url = parent.appendingPathComponent(name)
            if let r = name.range(of: replacedInfix, options: .backwards) {
                let final = parent.appendingPathComponent(String(name[name.index(after: name.startIndex)..<r.lowerBound]))
                if fm.fileExists(atPath: final.path) { try? fm.removeItem(at: url) } else { try? fm.moveItem(at: url, to: final) }
                handled.append(name)
            } else if name.contains(temporaryInfix) {
                try? fm.removeItem(at: url)
                handled.append(name)
            }
        }
        return handled
    }
}
