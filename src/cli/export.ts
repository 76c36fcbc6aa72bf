import type { Command } from "commander";

/** Registers the `fovea export` command. Placeholder until its issue's work lands. */
export function registerExport(_program: Command): void {}
