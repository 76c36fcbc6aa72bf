// Preload (`node --require`) for start-up tests: at exit, writes to stderr how many
// @tensorflow/* files the process loaded. Under Node, @tensorflow/tfjs and its backends are
// CommonJS (also when imported from ES modules), so every file they load is in require.cache.
"use strict";
process.on("exit", () => {
  const loaded = Object.keys(require.cache).filter((file) =>
    file.includes(`${require("node:path").sep}@tensorflow${require("node:path").sep}`),
  );
  process.stderr.write(`\nFOVEA_TEST_TENSORFLOW_MODULES=${loaded.length}\n`);
});
