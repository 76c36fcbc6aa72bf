#!/usr/bin/env node
/**
 * The `fovea` command. Each subcommand lives in its own file and registers itself here.
 * Exit codes: 0 ok or a requested stop, 1 runtime failure, 2 bad input or configuration.
 */
import { Command, CommanderError } from "commander";
import { FoveaInputError } from "../core/errors.js";

type Register = (program: Command) => void;

/**
 * Subcommand modules, imported on demand: `fovea run` must not pay for the training stack
 * (@tensorflow/tfjs alone takes about a second to import) nor for the other commands' modules.
 * `names` are the commands a module registers; a name missing here only costs speed (every
 * module is then loaded), never the command.
 */
const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ["run"], load: async () => (await import("./run.js")).registerRun },
  { names: ["synth"], load: async () => (await import("./synth.js")).registerSynth },
  { names: ["train"], load: async () => (await import("./train.js")).registerTrain },
  { names: ["eval"], load: async () => (await import("./eval.js")).registerEval },
  { names: ["export"], load: async () => (await import("./export.js")).registerExport },
  { names: ["bench"], load: async () => (await import("./bench.js")).registerBench },
  { names: ["record", "compare", "retag"], load: async () => (await import("./record.js")).registerRecord },
  { names: ["keys"], load: async () => (await import("./keys.js")).registerKeys },
];

/**
 * The program with the subcommand `argv` names, or with every subcommand when it names none
 * (`fovea --help`, `fovea help run`, a typo: commander then lists or suggests them all).
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command("fovea")
    .description("Real-time vision for a humanoid soccer robot: frames in, detections out over ZeroMQ")
    .exitOverride()
    .showHelpAfterError();
  const named = COMMANDS.find((c) => c.names.includes(argv[2] ?? ""));
  for (const { load } of named ? [named] : COMMANDS) (await load())(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    // A command that reports its own failure (run: the source died, the recording failed) sets
    // process.exitCode; returning 0 here would tell a supervisor that all went well.
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; unknown options / bad arguments are bad input.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof FoveaInputError) {
      process.stderr.write(`fovea: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`fovea: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

// main reports every failure itself and resolves with the exit code; it never rejects.
void main(process.argv).then((code) => {
  process.exitCode = code;
});
