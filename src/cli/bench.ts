import type { Command } from "commander";

/** Registers the `fovea bench` command(s). Owned by the bench work; placeholder until it lands. */
export function registerBench(_program: Command): void {}
