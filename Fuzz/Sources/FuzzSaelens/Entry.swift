import SAEFuzzTargets

/// libFuzzer's entry point: the input as an SAELens SAE folder (`SparseAutoencoder.load(from:)`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.saelens(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
