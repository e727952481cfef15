import SAEFuzzTargets

/// libFuzzer's entry point: the input as a safetensors file (`SafetensorsFile`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.safetensors(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
