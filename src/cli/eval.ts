import type { Command } from "commander";

/** Registers the `fovea eval` command. Placeholder until its issue's work lands. */
export function registerEval(_program: Command): void {}
