/**
 * Child process of record-crash.test.ts: records noisy frames forever with small chunks and
 * reports on stdout how many frames it has written, until the test SIGKILLs it mid-write.
 */
import { McapRecorder } from "../src/record/mcap-recorder.js";

const [file] = process.argv.slice(2);
const W = 160;
const H = 120;
const recorder = await McapRecorder.create(file, { modelId: "crash-test", cameraId: "head", imageEncoding: "jpeg", chunkBytes: 32 * 1024 });
const T0 = 1_764_250_000_000_000_000n;
let state = 12345;
for (let seq = 0; ; seq++) {
  const data = Buffer.alloc(W * H * 3);
  // Pseudo-random noise: ~20 KB JPEGs, so a 32 KiB chunk closes every two frames.
  for (let i = 0; i < data.length; i++) data[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
  recorder.onSourceFrame({ seq, captureTimeNs: T0 + BigInt(seq) * 33_333_333n, width: W, height: H, encoding: "rgb24", data });
  await recorder.whenIdle();
  process.stdout.write(`${recorder.framesWritten}\n`);
}
