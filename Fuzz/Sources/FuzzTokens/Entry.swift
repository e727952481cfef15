import SAEFuzzTargets

/// libFuzzer's entry point: the input as a token file, .bin or .npy (`TokenDataset`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.tokens(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
