import type { Command } from "commander";

/** Registers the `fovea record` command(s). Owned by the record work; placeholder until it lands. */
export function registerRecord(_program: Command): void {}
