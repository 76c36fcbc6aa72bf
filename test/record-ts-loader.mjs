// Lets a child process run fovea's TypeScript sources directly: `node --import
// ./test/record-ts-loader.mjs src/cli/main.ts ...`. Tests that must kill or drive a real fovea
// process use it. Node 20 cannot strip types itself; the hooks transpile each file with the
// project's own `typescript` (no type check: tsc does that) and can log what a process loads.
import { register } from "node:module";

register("./record-ts-hooks.mjs", import.meta.url);
