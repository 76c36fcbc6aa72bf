#!/usr/bin/env node
/**
 * The `fovea` command. Each subcommand lives in its own file and registers itself here.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad input or configuration.
 */
import { Command, CommanderError } from "commander";
import { FoveaInputError } from "../core/errors.js";
import { registerRun } from "./run.js";
import { registerSynth } from "./synth.js";
import { registerTrain } from "./train.js";
import { registerEval } from "./eval.js";
import { registerExport } from "./export.js";
import { registerBench } from "./bench.js";
import { registerRecord } from "./record.js";

export function buildProgram(): Command {
  const program = new Command("fovea")
    .description("Real-time vision for a humanoid soccer robot: frames in, detections out over ZeroMQ")
    .exitOverride()
    .showHelpAfterError();
  registerRun(program);
  registerSynth(program);
  registerTrain(program);
  registerEval(program);
  registerExport(program);
  registerBench(program);
  registerRecord(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
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

main(process.argv).then((code) => {
  process.exitCode = code;
});
