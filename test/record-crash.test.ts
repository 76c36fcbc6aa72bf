/**
 * Crash safety: a real recorder process is SIGKILLed while it writes; the file reads back up to
 * its last complete chunk, both with the sequential reader and as a replay source.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import sharp from "sharp";
import { RecordingReader } from "../src/record/recording-reader.js";
import { McapSource } from "../src/capture/mcap-source.js";
import { channelSchema } from "../src/record/recording-format.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "fovea-crash-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run the recording child until it reports `minFrames` written, then SIGKILL it. */
async function recordAndKill(file: string, minFrames: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--import", path.join(HERE, "record-ts-loader.mjs"), path.join(HERE, "record-crash-child.ts"), file],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  let written = 0;
  const killed = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      written = Number(b.toString().trim().split("\n").pop());
      if (written >= minFrames && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`recorder child exited ${code}: ${stderr}`))));
  });
  await killed;
  return written;
}

test("a recorder killed mid-write leaves a file readable up to its last complete chunk", async () => {
  const file = path.join(dir, "crash.mcap");
  const reported = await recordAndKill(file, 40);
  expect((await stat(file)).size).toBeGreaterThan(0);

  const reader = await RecordingReader.open(file);
  expect(reader.endsCleanly).toBe(false);
  const seqs: number[] = [];
  for await (const m of reader.messages(new Set(["/camera/image"]))) {
    const image = channelSchema("foxglove.CompressedImage").type.decode(m.data) as unknown as { data: Uint8Array };
    const { info } = await sharp(image.data).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([160, 120]);
    seqs.push(m.sequence);
  }
  expect(reader.end?.complete).toBe(false);
  expect(reader.end?.problem).toMatch(/truncated/);
  // Frames of complete chunks survive: at least the ones reported written before the kill,
  // minus what the last (unfinished, 32 KiB) chunk held.
  expect(seqs.length).toBeGreaterThanOrEqual(reported - 4);
  expect(seqs).toEqual([...Array(seqs.length).keys()]);

  const source = await McapSource.open(file, { unpaced: true });
  expect(source.info.description).toMatch(/truncated/);
  const replayed: number[] = [];
  for await (const f of source.frames()) replayed.push(f.seq);
  expect(replayed).toEqual(seqs);
});
