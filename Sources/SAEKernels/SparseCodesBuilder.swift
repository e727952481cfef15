extension SparseCodes {
    /// The nonzeros of a dense `rows x width` matrix (a ReLU output), per row in increasing
    /// column order.
    public static func nonzeros(of dense: UnsafePointer<Float>, rows: Int, width: Int,
                                threads: Int = Parallel.defaultThreads) -> SparseCodes {
        var b = Builder(width: width)
        b.appendNonzeros(of: dense, rows: rows, threads: threads)
        return b.codes
    }

    /// Appends rows of nonzeros to growing CSR arrays, a block of rows at a time: count per
    /// row in parallel, prefix-sum, then fill in parallel (each row written by one thread).
    package struct Builder {
        package var codes: SparseCodes

        package init(width: Int) {
            codes = SparseCodes(rows: 0, width: width, offsets: [0], indices: [], values: [])
        }

        package mutating func appendNonzeros(of dense: UnsafePointer<Float>, rows: Int,
                                             threads: Int = Parallel.defaultThreads) {
            let width = codes.width
            var counts = [Int](repeating: 0, count: rows)
            let t = rows * width < 1 << 16 ? 1 : threads
            counts.withUnsafeMutableBufferPointer { cp in
                Parallel.forRanges(rows, threads: t) { range in
                    for r in range { cp[r] = countNonzeros(dense + r * width, width) }
                }
            }
            let base = codes.indices.count
            var offsets = [Int](repeating: 0, count: rows + 1)
            for r in 0..<rows { offsets[r + 1] = offsets[r] + counts[r] }
            let added = offsets[rows]
            codes.indices.append(contentsOf: repeatElement(0, count: added))
            codes.values.append(contentsOf: repeatElement(0, count: added))
            codes.indices.withUnsafeMutableBufferPointer { ip in codes.values.withUnsafeMutableBufferPointer { vp in
                offsets.withUnsafeBufferPointer { op in
                    Parallel.forRanges(rows, threads: t) { range in
                        for r in range {
                            var e = base + op[r]
                            let row = dense + r * width
                            for j in 0..<width where row[j] != 0 {
                                ip[e] = Int32(j); vp[e] = row[j]; e += 1
                            }
                        }
                    }
                }
            }}
            codes.offsets.append(contentsOf: offsets.dropFirst().map { $0 + base })
            codes.rows += rows
        }

        @inline(__always)
        private func countNonzeros(_ p: UnsafePointer<Float>, _ n: Int) -> Int {
            var acc = SIMD8<Int32>()
            var j = 0
            let zero = SIMD8<Float>()
            while j + 8 <= n {
                let v = SIMDMath.load(p + j)
                acc &-= unsafeBitCast(v .!= zero, to: SIMD8<Int32>.self)
                j += 8
            }
            var c = Int(acc.wrappedSum())
            while j < n { if p[j] != 0 { c += 1 }; j += 1 }
            return c
        }
    }
}
