import { CommanderError, type Command } from "commander";

/**
 * Runs a commander program set up with `exitOverride()`: null when the command ran, else the exit
 * code — 0 after --help or --version, the error's code after a usage error (commander printed it),
 * 1 after any other failure, which is printed as `<tool>: message`. A CommanderError whose code
 * starts with `<tool>.` is the tool's own usage error and printed the same way.
 */
export async function runCommandLine(program: Command, argv: readonly string[], tool: string, err: (line: string) => void): Promise<number | null> {
  try {
    await program.parseAsync([...argv], { from: "user" });
    return null;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      if (e.code.startsWith(`${tool}.`)) err(`${tool}: ${e.message}`);
      return e.exitCode || 1;
    }
    err(`${tool}: ${(e as Error).message}`);
    return 1;
  }
}
