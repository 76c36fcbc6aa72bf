/**
 * The terminal rendering of a bench report: plain aligned columns. A dozen lines of padding do
 * not justify a table-drawing dependency, and plain text pastes cleanly into issues and READMEs.
 */
import type { BenchReport, LatencySummarySchema } from "./bench-report.js";
import type { z } from "zod";

type Summary = z.infer<typeof LatencySummarySchema>;

/** Columns padded to their widest cell; text left-aligned, numbers right-aligned. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]+[%x*]?$|^-$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Milliseconds with precision that suits the magnitude (µs resolution below 10 ms). */
export function ms(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

const p50p99 = (s: Summary) => `${ms(s.p50)}/${ms(s.p99)}`;

type Run = BenchReport["pipelineRuns"][number];

/**
 * Engine, device, the intra-op threads that ran the frames (the frame path's for `graph` runs)
 * and where frames were preprocessed (`js!` when graph was asked for but no frame path applied).
 */
function engineCell(p: Run): string {
  const threads = p.preprocess === "graph" ? p.framePathThreads : p.threads;
  const spin = p.preprocess === "graph" && p.framePathSpinning ? "s" : "";
  const pre = p.preprocess ? ` ${p.preprocess}${p.preprocessAsked && p.preprocessAsked !== p.preprocess ? "!" : ""}` : "";
  return `${p.engine}/${p.device}${threads ? ` x${threads}${spin}` : ""}${pre}`;
}

/** The pacing mode, with the rate the source really ran at when it is not the one asked for. */
function modeCell(p: BenchReport["pipelineRuns"][number]): string {
  const mode =
    p.sourceFps !== null && p.targetFps !== null && Math.abs(p.sourceFps - p.targetFps) > 0.01
      ? `${p.mode}@${+p.sourceFps.toFixed(2)}`
      : p.mode;
  return `${mode}${p.viewer ? "+viewer" : ""}${p.idleSubscribers ? `+${p.idleSubscribers.count} idle` : ""}`;
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `fovea bench — ${m.cpuModel}, ${m.cores} cores, ${(m.totalMemoryMiB / 1024).toFixed(1)} GiB, Node ${m.node}, ` +
      `onnxruntime-node ${m.libraries["onnxruntime-node"] ?? "-"}, tfjs ${m.libraries["@tensorflow/tfjs"] ?? "-"}`,
  );
  out.push(
    `model ${r.model.id} (${r.model.inputWidth}x${r.model.inputHeight} input${r.model.trained ? "" : ", UNTRAINED stand-in"}), ` +
      `source ${r.settings.source}; warm-up ${r.settings.warmup} frames excluded per run; load average ${m.loadAverageStart.map((x) => x.toFixed(2)).join(" ")} at start`,
  );

  if (r.pipelineRuns.length > 0) {
    out.push("", "Pipeline (capture -> publish over ZeroMQ), end-to-end latency in ms:");
    out.push(
      formatTable(
        ["engine/device", "input", "mode", "frames", "src fps", "fps", "dropped", "CPU", "RSS MiB", "p50", "p90", "p99", "p99.9", "max"],
        r.pipelineRuns.map((p) => [
          engineCell(p),
          `${p.width}x${p.height}`,
          modeCell(p),
          `${p.measuredFrames}${p.truncated ? "*" : ""}`,
          p.sourceDeliveredFps.toFixed(1),
          p.sustainedFps.toFixed(1),
          `${p.droppedPercent.toFixed(1)}%`,
          `${(p.resources.cpuCores * 100).toFixed(0)}%`,
          p.resources.peakRssMiB.toFixed(0),
          ms(p.stages.total.p50),
          ms(p.stages.total.p90),
          ms(p.stages.total.p99),
          ms(p.stages.total.p999),
          ms(p.stages.total.max),
        ]),
      ),
    );
    out.push("", "Per stage, p50/p99 ms:");
    out.push(
      formatTable(
        ["engine/device", "input", "mode", "capture", "preprocess", "inference", "detect", "publish", "total"],
        r.pipelineRuns.map((p) => [
          engineCell(p),
          `${p.width}x${p.height}`,
          modeCell(p),
          p50p99(p.stages.capture),
          p50p99(p.stages.preprocess),
          p50p99(p.stages.inference),
          p50p99(p.stages.detect),
          p50p99(p.stages.publish),
          p50p99(p.stages.total),
        ]),
      ),
    );
    const withGc = r.pipelineRuns.filter((p) => p.gc);
    if (withGc.length > 0) {
      out.push("", "GC pauses over the measured frames (PerformanceObserver 'gc'):");
      out.push(
        formatTable(
          ["engine/device", "input", "mode", "pauses", "major", "per 1000 frames", "total ms", "max ms"],
          withGc.map((p) => [
            engineCell(p),
            `${p.width}x${p.height}`,
            modeCell(p),
            String(p.gc!.count),
            String(p.gc!.major),
            p.gc!.per1000Frames.toFixed(1),
            ms(p.gc!.totalMs),
            ms(p.gc!.maxMs),
          ]),
        ),
      );
    }
    if (r.pipelineRuns.some((p) => modeCell(p).includes("@")))
      out.push("mode@N: the source ran at its own N fps (a video file replays at its recorded rate), not the mode's.");
    for (const p of r.pipelineRuns.filter((p) => p.truncated)) {
      const why = p.endReason === "time-limit" ? `stopped at the ${r.settings.maxSecondsPerRun} s per-run limit` : "the source ended";
      out.push(
        `* ${p.engine}/${p.device} ${p.width}x${p.height} ${p.mode}: ${why} before ${r.settings.frames} frames${p.lastError ? ` (last error: ${p.lastError})` : ""}`,
      );
    }
    out.push(
      "CPU: fovea process CPU time / wall time over the measured frames (100% = one core busy; an ffmpeg decoder child is not included).",
    );
    out.push("x N after the engine: the intra-op threads that ran the frames (s: spinning between runs).");
    if (r.pipelineRuns.some((p) => p.preprocess)) {
      out.push(
        "graph: resize and normalisation inside the model's onnxruntime session (preprocess stage 0, inference holds both); " +
          "js: preprocessed on the loop thread, then the model on all cores but one; js!: graph asked for, but the model has no frame path for this size and kernel.",
      );
    }
    out.push("src fps: frames the source delivered per second; fps: frames processed and published per second.");
    if (r.pipelineRuns.some((p) => p.idleSubscribers))
      out.push(
        "+N idle: the run repeated with N ZeroMQ subscribers connected to the publisher, subscribed to everything and never reading.",
      );
    out.push("End to end: capture time stamp until the DetectionFrame was handed to ZeroMQ (wire total_us + publish).");
  }

  if (r.inference.length > 0) {
    const baseline = r.inference.find((i) => i.model !== undefined)?.model;
    out.push(
      "",
      `Inference alone (engine.run on a fixed input), ms per call${baseline ? `; ${baseline} measured call by call in turn with ${r.model.id}` : ""}:`,
    );
    out.push(
      formatTable(
        [
          "engine/device",
          ...(baseline ? ["model", "vs baseline"] : []),
          "batch",
          "runs",
          "p50",
          "p90",
          "p99",
          "max",
          "per frame p50",
          "frames/s",
        ],
        r.inference.map((i) => [
          `${i.engine}/${i.device}${i.threads ? ` x${i.threads}` : ""}`,
          ...(baseline ? [i.model ?? r.model.id, i.p50VsBaseline === undefined ? "" : `${i.p50VsBaseline.toFixed(2)}x`] : []),
          String(i.batch),
          String(i.measuredRuns),
          ms(i.perCall.p50),
          ms(i.perCall.p90),
          ms(i.perCall.p99),
          ms(i.perCall.max),
          ms(i.perFrameP50),
          i.framesPerSecond.toFixed(0),
        ]),
      ),
    );
  }

  if (r.peers) {
    const ref = r.peers.reference;
    out.push(
      "",
      `Peers, batch 1, same model and input${ref ? ` (ratio = peer p50 / fovea ${ref.engine}/${ref.device} p50 ${ms(ref.p50Ms)} ms)` : ""}:`,
    );
    if (r.peers.skipped) out.push(`  skipped: ${r.peers.skipped}`);
    for (const p of r.peers.peers)
      if (p.note) out.push(`  ${p.name}: ${p.note}`);
      else
        out.push(
          formatTable(
            ["runtime", "version", "runs", "p50", "p99", "ratio"],
            r.peers.peers.map((p) =>
              p.available
                ? [
                    p.name,
                    p.version ?? "-",
                    String(p.measuredRuns ?? "-"),
                    ms(p.p50Ms ?? 0),
                    ms(p.p99Ms ?? 0),
                    p.ratioToFovea !== undefined ? `${p.ratioToFovea.toFixed(2)}x` : "-",
                  ]
                : [p.name, p.version ?? "-", "-", "skipped", p.reason ?? "", "-"],
            ),
          ),
        );
  }

  if (r.skipped.length > 0) {
    out.push("", "Not benchmarked:");
    for (const s of r.skipped) out.push(`  ${s.engine}/${s.device}: ${s.reason}`);
  }
  out.push(
    "",
    `Load average at end: ${m.loadAverageEnd.map((x) => x.toFixed(2)).join(" ")} (other work on the machine makes figures noisy).`,
  );
  return out.join("\n");
}
