public enum SAEModelInfo { public static let version = "0.1.0" }
