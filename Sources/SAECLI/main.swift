import Foundation
import SAEModel

// sae: the SAEKit workflow from the command line. Each command parses its options and calls
// the library; see `sae --help`.

let commands: [Command] = [TrainCommand.command, EvalCommand.command, AnalyzeCommand.command,
                           ActivationsCommand.command, EncodeCommand.command]

func mainHelp() -> String {
    var lines = ["usage: sae COMMAND [options]      (sae COMMAND --help lists a command's options)", "",
                 "Train and study sparse autoencoders on transformer activations, on the CPU.", "", "commands:"]
    for c in commands { lines.append("  " + c.name.padding(toLength: 13, withPad: " ", startingAt: 0) + c.summary.split(separator: "\n")[0]) }
    lines += ["", "With no command, `sae` runs `sae train` on the bundled default model (see sae train --help)."]
    return lines.joined(separator: "\n")
}

func fail(_ command: String?, _ message: String, status: Int32) -> Never {
    let prefix = command.map { "sae \($0): " } ?? "sae: "
    FileHandle.standardError.write(Data((prefix + message + (status == 2 ? " (see sae \(command.map { "\($0) " } ?? "")--help)" : "") + "\n").utf8))
    exit(status)
}

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "--help" || args.first == "-h" || args.first == "help" { print(mainHelp()); exit(0) }
let name = args.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "train"
if args.first == name { args.removeFirst() }
guard let command = commands.first(where: { $0.name == name }) else { fail(nil, "unknown command '\(name)'", status: 2) }
if args.contains("--help") || args.contains("-h") { print(command.helpText); exit(0) }
do {
    let parsed = try ParsedOptions.parse(args, for: command)
    try command.run(parsed)
} catch let e as UsageError {
    fail(command.name, e.message, status: 2)
} catch let e as RunError {
    fail(command.name, "error: " + e.message, status: 1)
} catch {
    fail(command.name, "error: \(error)", status: 1)
}
