import { defineConfig } from "vitest/config";

/**
 * Tests under src/ that run real processes, engines or training (ffmpeg, ZeroMQ, onnxruntime
 * sessions, tfjs, Python): they belong with the end-to-end tests in test/, out of the fast
 * `npm run test:unit` loop.
 */
const SLOW_SRC_TESTS = [
  "src/capture/ffmpeg-stream-source.test.ts",
  "src/capture/open-source.test.ts",
  "src/cli/export.test.ts",
  "src/cli/train.test.ts",
  "src/engine/engines.test.ts",
  "src/engine/frame-path.test.ts",
  "src/engine/tfjs-backend.test.ts",
  "src/pipeline/pipeline.test.ts",
  "src/publish/publisher.test.ts",
  "src/train/export-model.test.ts",
  "src/train/network.test.ts",
  "src/train/onnx/**/*.test.ts",
  "src/train/parallel-trainer.test.ts",
  "src/train/trainer.test.ts",
  "src/train/wasm-gradient-kernels.test.ts",
];

/** Tests in test/ that only read the source tree. */
const UNIT_TESTS_IN_TEST = ["test/import-cycles.test.ts"];

export default defineConfig({
  test: {
    // Real ffmpeg, ZeroMQ, onnxruntime and tfjs-wasm processes share 2 cores: one file at a time
    // per worker keeps tests from starving each other into timeouts.
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // `npm test` runs both; `npm run test:unit` / `test:e2e` one each.
    projects: [
      { extends: true, test: { name: "unit", include: ["src/**/*.test.ts", ...UNIT_TESTS_IN_TEST], exclude: SLOW_SRC_TESTS } },
      { extends: true, test: { name: "e2e", include: ["test/**/*.test.ts", ...SLOW_SRC_TESTS], exclude: UNIT_TESTS_IN_TEST } },
    ],
  },
});
