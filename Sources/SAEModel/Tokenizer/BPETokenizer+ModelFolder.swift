import Foundation

extension BPETokenizer {
    /// The `tokenizer.json` of a model folder; nil when the folder has none. A file that is
    /// there but does not parse throws (naming the file).
    public static func inModelFolder(_ folder: URL) throws -> BPETokenizer? {
        let url = folder.appendingPathComponent("tokenizer.json")
        return FileManager.default.fileExists(atPath: url.path) ? try BPETokenizer(contentsOf: url) : nil
    }
}
