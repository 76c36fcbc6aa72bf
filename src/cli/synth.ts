import type { Command } from "commander";

/** Registers the `fovea synth` command(s). Owned by the synth work; placeholder until it lands. */
export function registerSynth(_program: Command): void {}
