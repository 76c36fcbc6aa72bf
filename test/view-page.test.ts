/**
 * The built-in live view page in a real browser (Debian's chromium, headless, driven by
 * playwright-core) during a real `fovea run --view` with a token: the page asks for the token,
 * frames arrive and change, boxes are drawn in their label's colour, the status panel follows
 * the run. With FOVEA_UPDATE_SCREENSHOT=1 it also writes docs/live-view.png (the README's picture).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { freePort } from "./support.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "pitch-side-7f3a";

let child: ChildProcess | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  child?.kill("SIGKILL");
});

/** Start `fovea run --view` and resolve with the page's URL once it listens. */
async function startRun(): Promise<string> {
  const args = [
    "--import",
    path.join(HERE, "record-ts-loader.mjs"),
    path.join(ROOT, "src/cli/main.ts"),
    "run",
    "--source",
    "synthetic",
    "--view",
    "127.0.0.1:0",
    "--view-token",
    TOKEN,
  ];
  child = spawn(process.execPath, [...args, "--publish", `tcp://127.0.0.1:${await freePort()}`], {
    cwd: ROOT,
    env: { ...process.env, FOVEA_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  return new Promise((resolve, reject) => {
    child!.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /live view at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child!.once("close", (code) => reject(new Error(`fovea run exited (${code}) before listening:\n${stderr}`)));
  });
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  colour: number[];
  label: string;
}

/** The page's document, untyped: this project has no DOM types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PageDocument = any;
/** The page's globals as the browser-side functions below use them. */
type PageGlobals = {
  foveaView: { framesDrawn: number; lastBoxes: Box[]; classes: Array<{ name: string; colour: string }> };
  document: PageDocument;
};

/**
 * Runs in the page (functions, not strings: the page's CSP forbids eval, and so must the test):
 * the boxes of the frame on the canvas, each with the share of its top or bottom edge (a 2 px line
 * on row y covers rows y-1 and y, corners left out: another box's label may cover one) drawn in
 * its colour.
 */
function boxesAndEdges(): { classes: Array<{ name: string; colour: string }>; boxes: Array<Box & { edgeMatch: number }> } {
  const g = globalThis as unknown as PageGlobals;
  const c = g.document.getElementById("frame");
  const px: Uint8ClampedArray = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  const edge = (b: Box, y: number) => {
    let match = 0;
    let total = 0;
    for (let x = Math.max(0, b.x0 + 3); x <= Math.min(c.width - 1, b.x1 - 3); x++) {
      const i = (Math.min(c.height - 1, Math.max(0, y)) * c.width + x) * 4;
      total++;
      if (Math.abs(px[i] - b.colour[0]) <= 2 && Math.abs(px[i + 1] - b.colour[1]) <= 2 && Math.abs(px[i + 2] - b.colour[2]) <= 2) match++;
    }
    return total > 0 ? match / total : 0;
  };
  return {
    classes: g.foveaView.classes,
    boxes: g.foveaView.lastBoxes.map((b) => ({ ...b, edgeMatch: Math.max(edge(b, b.y0 - 1), edge(b, b.y1 - 1)) })),
  };
}

// A CI run installs chromium (.ci/run); elsewhere a machine without it skips, saying why.
const haveBrowser = existsSync(CHROMIUM) || process.env.CI !== undefined;

describe.skipIf(!haveBrowser)(`live view page in ${CHROMIUM}`, () => {
  test("asks for the token, then shows frames that change with boxes in their label's colour", async () => {
    const url = await startRun();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(url);

    // A wrong token is refused in the dialog; the right one connects.
    await page.locator("#token-dialog[open]").waitFor({ timeout: 10_000 });
    await page.fill("#token-input", "wrong");
    await page.click("#token-form button");
    await page.locator("#token-problem", { hasText: "not accepted" }).waitFor({ timeout: 10_000 });
    await page.fill("#token-input", TOKEN);
    await page.click("#token-form button");

    // The synthetic clip may render first (about 16 s on 2 cores without a cache).
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).foveaView.framesDrawn >= 3, null, { timeout: 90_000 });
    const canvas = page.locator("#frame");
    const first = await canvas.screenshot();
    const drawn = await page.evaluate(() => (globalThis as unknown as PageGlobals).foveaView.framesDrawn);
    await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).foveaView.framesDrawn >= n + 3, drawn, { timeout: 10_000 });
    const second = await canvas.screenshot();
    expect(first.equals(second), "the frame changes between two screenshots").toBe(false);

    // Wait for a frame with boxes, then read the canvas at the same moment as the boxes it shows.
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).foveaView.lastBoxes.length > 0, null, { timeout: 30_000 });
    const seen = await page.evaluate(boxesAndEdges);
    const hex = (rgb: number[]) => `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
    const colourOf = new Map(seen.classes.map((c) => [c.name, c.colour]));
    const labelled = seen.boxes.filter((b) => b.label);
    expect(labelled.length, JSON.stringify(seen.boxes)).toBeGreaterThan(0);
    for (const b of labelled) expect(hex(b.colour), `colour of ${b.label}`).toBe(colourOf.get(b.label));
    expect(Math.max(...labelled.map((b) => b.edgeMatch)), JSON.stringify(labelled)).toBeGreaterThan(0.5);

    await expect.poll(() => page.locator("#state").textContent(), { timeout: 10_000 }).toMatch(/RUNNING|DEGRADED/);
    expect(
      Number(
        await page
          .locator("#s-processed")
          .textContent()
          .then((t) => (t ?? "0").replace(/,/g, "")),
      ),
    ).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);

    if (process.env.FOVEA_UPDATE_SCREENSHOT) {
      // Half a minute of charts, and a frame with a few boxes, for the picture.
      await page.waitForTimeout(30_000);
      await page
        .waitForFunction(() => (globalThis as unknown as PageGlobals).foveaView.lastBoxes.length >= 3, null, { timeout: 30_000 })
        .catch(() => undefined);
      await page.screenshot({ path: path.join(ROOT, "docs", "live-view.png") });
    }

    child!.kill("SIGINT");
    await page.locator("#state", { hasText: "STOPPED" }).waitFor({ timeout: 10_000 });
  }, 180_000);
});
