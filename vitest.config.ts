import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Real ffmpeg, ZeroMQ, onnxruntime and tfjs-wasm processes share 2 cores: one file at a time
    // per worker keeps tests from starving each other into timeouts.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
