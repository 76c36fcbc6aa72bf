/**
 * `fovea bench --html`: one self-contained page (inline SVG, no scripts, no network) with, per
 * pipeline run, the end-to-end latency histogram and the latency over time, plus the tables.
 *
 * Hand-written SVG because no charting library is installed and the two chart types needed here
 * (bars, a polyline) are a few dozen lines; a charting dependency would need a browser or a
 * headless renderer to produce a file, which a robot or CI machine does not have.
 */
import type { BenchReport, PipelineRun } from "./bench-report.js";
import { formatReport } from "./report-table.js";

const W = 460;
const H = 200;
const PAD = { l: 48, r: 10, t: 22, b: 30 };

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function axes(title: string, xLabel: string, yLabel: string, xMax: number, yMax: number): string {
  const x0 = PAD.l;
  const y0 = H - PAD.b;
  const ticks = [0, 0.5, 1].map(
    (f) =>
      `<text x="${x0 + f * (W - PAD.l - PAD.r)}" y="${y0 + 14}" text-anchor="middle">${fmt(f * xMax)}</text>` +
      `<text x="${x0 - 4}" y="${y0 - f * (H - PAD.t - PAD.b) + 4}" text-anchor="end">${fmt(f * yMax)}</text>`,
  );
  return (
    `<text x="${W / 2}" y="14" text-anchor="middle" font-weight="bold">${esc(title)}</text>` +
    `<line x1="${x0}" y1="${y0}" x2="${W - PAD.r}" y2="${y0}" stroke="#333"/><line x1="${x0}" y1="${PAD.t}" x2="${x0}" y2="${y0}" stroke="#333"/>` +
    ticks.join("") +
    `<text x="${W - PAD.r}" y="${H - 2}" text-anchor="end">${esc(xLabel)}</text>` +
    `<text x="4" y="${PAD.t - 8}">${esc(yLabel)}</text>`
  );
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Bar chart of the end-to-end latencies up to a little past p99, so the body of the distribution
 * stays readable; the rare tail beyond is counted in the title (the timeline shows it).
 */
export function histogramSvg(run: PipelineRun, bins = 40): string {
  const xs = run.totalSeriesMs;
  const xMax = Math.max(Math.min(run.stages.total.max, run.stages.total.p99 * 1.25), 1e-3);
  const counts = new Array<number>(bins).fill(0);
  let beyond = 0;
  for (const v of xs) {
    if (v > xMax) beyond++;
    else counts[Math.min(bins - 1, Math.floor((v / xMax) * bins))]++;
  }
  const yMax = Math.max(1, ...counts);
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const bars = counts
    .map((c, i) => {
      const h = (c / yMax) * ph;
      return `<rect x="${(PAD.l + (i * pw) / bins).toFixed(1)}" y="${(H - PAD.b - h).toFixed(1)}" width="${(pw / bins - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#3b7dd8"/>`;
    })
    .join("");
  const p = (v: number, label: string, color: string) =>
    v <= xMax
      ? `<line x1="${PAD.l + (v / xMax) * pw}" y1="${PAD.t}" x2="${PAD.l + (v / xMax) * pw}" y2="${H - PAD.b}" stroke="${color}" stroke-dasharray="3,2"/><text x="${PAD.l + (v / xMax) * pw + 2}" y="${PAD.t + 10}" fill="${color}">${label}</text>`
      : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">` +
    axes(`end-to-end latency histogram${beyond ? ` (${beyond} frames > ${fmt(xMax)} ms not drawn)` : ""}`, "ms", "frames", xMax, yMax) +
    bars +
    p(run.stages.total.p50, "p50", "#090") +
    p(run.stages.total.p99, "p99", "#c00") +
    `</svg>`
  );
}

/** End-to-end latency of each measured frame in arrival order. */
export function timelineSvg(run: PipelineRun): string {
  const ys = run.totalSeriesMs;
  const yMax = Math.max(run.stages.total.max, 1e-3);
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const n = Math.max(1, ys.length - 1);
  const pts = ys.map((v, i) => `${(PAD.l + (i / n) * pw).toFixed(1)},${(H - PAD.b - (v / yMax) * ph).toFixed(1)}`).join(" ");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">` +
    axes("end-to-end latency over time", "frame", "ms", ys.length, yMax) +
    `<polyline fill="none" stroke="#d85b3b" stroke-width="0.8" points="${pts}"/>` +
    `</svg>`
  );
}

export function renderHtml(report: BenchReport): string {
  const sections = report.pipelineRuns
    .map(
      (run) =>
        `<section><h2>${esc(`${run.engine}/${run.device} ${run.width}x${run.height} ${run.mode}${run.preprocess ? ` preprocess ${run.preprocess}` : ""}${run.viewer ? " with a viewer" : ""}${run.idleSubscribers ? ` with ${run.idleSubscribers.count} idle subscribers` : ""}`)}</h2>` +
        `<p>${run.measuredFrames} measured frames after ${run.warmupFrames} warm-up; ${run.sustainedFps.toFixed(1)} fps; ` +
        `${run.droppedFrames} dropped; p50 ${fmt(run.stages.total.p50)} ms, p99 ${fmt(run.stages.total.p99)} ms, max ${fmt(run.stages.total.max)} ms</p>` +
        histogramSvg(run) +
        timelineSvg(run) +
        `</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fovea bench ${esc(report.createdAt)}</title>
<style>body{font-family:sans-serif;margin:1.5em;max-width:1000px}pre{font-size:12px;overflow-x:auto;background:#f6f6f6;padding:.8em}section svg{margin-right:12px}</style>
</head><body>
<h1>fovea bench</h1>
<p>${esc(report.createdAt)} — <code>${esc(report.command.join(" "))}</code></p>
<pre>${esc(formatReport(report))}</pre>
${sections}
</body></html>
`;
}
