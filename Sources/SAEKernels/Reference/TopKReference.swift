extension Reference {
    /// Naive twin of `TopK.select`: sort each row's (value, index) pairs by decreasing value,
    /// then increasing index, and keep the first k (`max(v, 0)` with `relu`).
    package static func topK(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, k: Int, relu: Bool = false,
        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let order: [Int] = (0..<n).sorted { (a: Int, b: Int) -> Bool in
                let va = x[r * n + a], vb = x[r * n + b]
                return va > vb || (va == vb && a < b)
            }
            for e in 0..<k {
                let v = x[r * n + order[e]]
                values[r * k + e] = relu ? max(v, 0) : v
                indices[r * k + e] = Int32(order[e])
            }
        }
    }
}
