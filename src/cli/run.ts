import type { Command } from "commander";

/** Registers the `fovea run` command(s). Owned by the run work; placeholder until it lands. */
export function registerRun(_program: Command): void {}
