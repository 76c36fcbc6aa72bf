/**
 * Rendering cost of synthetic frames per size, in CPU time (robust on a shared, loaded machine;
 * wall-clock frames/s on N free cores is about N x 1000 / cpu-ms):
 *   npx tsx scripts/synth-speed.ts [frames=60] [sizes=100x100,160x120,320x240,640x480]
 */
import { DEFAULT_CALIBRATION_FILE, loadCalibration } from "../src/calib/calibration.js";
import { deriveSeed } from "../src/core/prng.js";
import { FrameRenderer } from "../src/synth/render-frame.js";
import { sampleScene } from "../src/synth/sample-scene.js";

const frames = Number(process.argv[2] ?? 60);
const sizes = (process.argv[3] ?? "100x100,160x120,320x240,640x480").split(",").map((s) => s.split("x").map(Number));
const calibration = await loadCalibration(DEFAULT_CALIBRATION_FILE);
for (const [width, height] of sizes) {
  const renderer = new FrameRenderer(calibration, width, height);
  const scenes = Array.from({ length: frames }, (_, i) => sampleScene(deriveSeed(1, i), { mount: calibration.mount }));
  for (let i = 0; i < 10; i++) await renderer.render({ index: i, scene: scenes[i % frames], noiseSeed: i, output: "jpeg" }); // JIT warm-up
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < frames; i++) await renderer.render({ index: i, scene: scenes[i], noiseSeed: i, output: "jpeg" });
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / frames;
  const wallMs = (performance.now() - wall) / frames;
  console.log(
    `${width}x${height}: ${cpuMs.toFixed(1)} ms CPU/frame (render + blur + noise + JPEG), ${(1000 / cpuMs).toFixed(0)} frames/s per free core; wall ${wallMs.toFixed(1)} ms/frame here`,
  );
}
