import type { OpenSourceOptions } from "../core/frame.js";
import { cameraStreamOptions } from "./camera-source.js";
import { OffThreadStreamSource } from "./off-thread-stream-source.js";

/**
 * `--source lavfi:FILTER`: the camera's path exactly (live, read on a worker, latest frame wins,
 * reconnecting) with ffmpeg's pattern generator in place of V4L2, so benchmarks and tests measure
 * a camera's frame path on machines without one. Sized and paced from --width/--height/--fps,
 * paced by `-re` unless unpaced.
 */
export async function openFromSpec(filter: string, o: OpenSourceOptions): Promise<OffThreadStreamSource> {
  const width = o.width ?? 640;
  const height = o.height ?? 480;
  const fps = o.fps ?? 30;
  const stream = cameraStreamOptions({
    device: `lavfi:${filter}`,
    width,
    height,
    fps,
    cameraId: o.cameraId ?? filter,
    stallTimeoutMs: o.stallTimeoutMs,
    events: o.events,
  });
  const inputArgs = [...(o.unpaced ? [] : ["-re"]), "-f", "lavfi", "-i", `${filter}=size=${width}x${height}:rate=${fps}`];
  return OffThreadStreamSource.open({
    ...stream,
    inputArgs,
    description: `lavfi:${filter} ${width}x${height}@${o.unpaced ? "unpaced" : fps}`,
  });
}
