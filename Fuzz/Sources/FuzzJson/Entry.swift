import SAEFuzzTargets

/// libFuzzer's entry point: the input as strict JSON text (`JSONValue`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.json(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
