import SAEFuzzTargets

/// libFuzzer's entry point: the input as a .npy file (`NPYFile`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.npy(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
