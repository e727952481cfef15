/// The sizes every elementwise or row kernel is swept over (around the 8- and 16-lane
/// vector widths, plus empty and odd lengths).
enum KernelCheck {
    static let sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 127, 1021]
}
