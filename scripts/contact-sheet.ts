/**
 * Draw rendered synthetic frames with their ground-truth boxes into a PNG grid, to look at the data.
 *   npx tsx scripts/contact-sheet.ts OUT.png [--seed S] [--size WxH] [--sequence]
 * Same as `fovea synth --contact-sheet OUT.png --frames 16 ...` (which it calls).
 */
import { runSynth } from "../src/cli/synth.js";

const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith("--") && (i === 0 || !args[i - 1].startsWith("--") || args[i - 1] === "--sequence"));
if (!out) {
  process.stderr.write("usage: npx tsx scripts/contact-sheet.ts OUT.png [--seed S] [--size WxH] [--sequence]\n");
  process.exit(2);
}
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
await runSynth({
  contactSheet: out,
  frames: "16",
  size: flag("--size", "640x480"),
  seed: flag("--seed", "1"),
  format: "native",
  fps: "30",
  imageFormat: "jpeg",
  sequence: args.includes("--sequence"),
});
process.stderr.write(`contact sheet written to ${out}\n`);
