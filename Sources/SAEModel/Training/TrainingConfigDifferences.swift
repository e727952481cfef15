extension TrainingConfig {
    /// Fields that do not change the weights a run reaches (how many threads, where and how
    /// often checkpoints go, how often the log writes): a run may resume with other values.
    public static let fieldsOutsideTheTrajectory: Set<String> = ["threads", "checkpointTokens", "checkpointDirectory", "logEverySteps"]

    /// The fields (by Swift name) in which `self` and `other` differ, each as
    /// `name: <self's value> vs <other's value>`, in declaration order, leaving out `ignoring`.
    /// Compares the `resolved()` forms: a value left to its derived default and the same value
    /// written in do not differ.
    public func differences(from other: TrainingConfig, ignoring: Set<String> = []) -> [String] {
        func describe(_ value: Any) -> String {
            let m = Mirror(reflecting: value)
            if m.displayStyle == .optional { return m.children.first.map { describe($0.value) } ?? "none" }
            let s = String(describing: value)
            return s.count > 60 ? String(s.prefix(57)) + "..." : s
        }
        let other = Mirror(reflecting: other.resolved()).children
        var out: [String] = []
        for (mine, theirs) in zip(Mirror(reflecting: resolved()).children, other) {
            guard let name = mine.label, !ignoring.contains(name) else { continue }
            // Full descriptions compare the values (shortest round-trip forms for the floats).
            if String(describing: mine.value) != String(describing: theirs.value) {
                out.append("\(name): \(describe(mine.value)) vs \(describe(theirs.value))")
            }
        }
        return out
    }
}
