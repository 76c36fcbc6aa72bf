/**
 * Names of the networks `fovea train` can start from (see presetMetadata in ./network.ts). Kept
 * apart from network.ts so the CLI can list them without loading TensorFlow.js.
 */
export const NETWORK_PRESETS = ["heatmap", "seed", "cells"] as const;
export type NetworkPreset = (typeof NETWORK_PRESETS)[number];
