import SAEFuzzTargets

/// libFuzzer's entry point: the input as a TransformerLens `config.json`, with or without weights (`Transformer(contentsOf:)`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.transformerConfig(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
