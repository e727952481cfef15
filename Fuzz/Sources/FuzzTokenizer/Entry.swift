import SAEFuzzTargets

/// libFuzzer's entry point: the input as a `tokenizer.json` (`BPETokenizer`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.tokenizer(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
