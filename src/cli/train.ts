import type { Command } from "commander";

/** Registers the `fovea train` command(s). Owned by the train work; placeholder until it lands. */
export function registerTrain(_program: Command): void {}
