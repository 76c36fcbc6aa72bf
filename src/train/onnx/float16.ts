/** Moved to src/core (the tfjs engine's weight loader uses it; the engine must not depend on training). */
export * from "../../core/float16.js";
