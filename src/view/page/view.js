// fovea's built-in live view: a Foxglove WebSocket protocol client (the same server Foxglove
// connects to) that draws the camera frame with the ImageAnnotations Foxglove would draw, and
// plots the run's Status and per-frame timings. Plain JavaScript served by fovea: no build step,
// nothing loaded from the internet (the robot's network has none).
import { SchemaRegistry } from "./protobuf.js";

const SUBPROTOCOL = "foxglove.websocket.v1";
const TOKEN_KEY = "fovea.viewToken";
const WINDOW_MS = 60_000;
// Channels are chosen by schema, as Foxglove's panels do, not by topic name.
const WANTED = {
  "foxglove.CompressedImage": "image",
  "foxglove.ImageAnnotations": "annotations",
  "fovea.v1.DetectionFrame": "detections",
  "fovea.v1.Status": "status",
};
const STAGES = [
  ["total_us", "total", "#e6edf3"],
  ["preprocess_us", "preprocess", "#58a6ff"],
  ["inference_us", "inference", "#f0883e"],
  ["detect_us", "detect", "#3fb950"],
  ["capture_us", "capture", "#bc8cff"],
];

/** What the page has seen; tests and curious people read it from the console. */
const view = {
  connected: false,
  serverInfo: null,
  classes: [],
  images: 0,
  framesDrawn: 0,
  lastBoxes: [],
  status: null,
  errors: [],
};
window.foveaView = view;

const $ = (id) => document.getElementById(id);
const registry = new SchemaRegistry();
const channels = new Map(); // channel id -> { role, schemaName }
const subscriptions = new Map(); // subscription id -> channel
const annotationsByStamp = new Map();
const history = { fps: [], timings: [], counts: [] };
let nextSubscription = 1;
let socket = null;
let pendingImage = null;
let decoding = false;

function stampKey(ts) {
  return ts ? `${ts.seconds}.${ts.nanos}` : "";
}

function css(c, alphaScale = 1) {
  if (!c) return "transparent";
  const b = (v) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  return `rgba(${b(c.r)}, ${b(c.g)}, ${b(c.b)}, ${Math.min(1, Math.max(0, c.a)) * alphaScale})`;
}

function fmt(n) {
  return typeof n === "bigint" ? n.toLocaleString("en") : Number(n).toLocaleString("en");
}

// ---- connection --------------------------------------------------------------------------

async function tokenOk(token) {
  const r = await fetch(`auth?token=${encodeURIComponent(token)}`, { cache: "no-store" });
  return r.status === 204;
}

/** The token, asked for once and remembered in this browser; `?token=` in the address also works. */
async function obtainToken() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  let token = fromUrl ?? localStorage.getItem(TOKEN_KEY);
  let problem = "";
  for (;;) {
    if (token && (await tokenOk(token))) {
      localStorage.setItem(TOKEN_KEY, token);
      return token;
    }
    if (token) problem = "That token was not accepted.";
    token = await askToken(problem);
  }
}

function askToken(problem) {
  const dialog = $("token-dialog");
  $("token-problem").textContent = problem;
  $("token-input").value = "";
  dialog.showModal();
  return new Promise((resolve) => {
    $("token-form").addEventListener("submit", () => resolve($("token-input").value), { once: true });
  });
}

async function start() {
  let config = { tokenRequired: false };
  try {
    config = await (await fetch("config.json", { cache: "no-store" })).json();
  } catch (err) {
    note(`config.json: ${err.message}`);
  }
  const token = config.tokenRequired ? await obtainToken() : null;
  connect(token, 1000);
}

function connect(token, retryMs) {
  const url = new URL("/", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (token) url.searchParams.set("token", token);
  const ws = new WebSocket(url, [SUBPROTOCOL]);
  socket = ws;
  ws.binaryType = "arraybuffer";
  setLink("connecting");
  ws.onopen = () => {
    view.connected = true;
    retryMs = 1000;
    setLink(`connected to ${location.host}`);
  };
  ws.onmessage = (ev) => {
    try {
      if (typeof ev.data === "string") onControl(JSON.parse(ev.data));
      else onBinary(ev.data);
    } catch (err) {
      note(`message: ${err.message}`);
    }
  };
  ws.onclose = (ev) => {
    view.connected = false;
    channels.clear();
    subscriptions.clear();
    const why = ev.code === 1001 ? "run stopped" : ev.reason || `closed (${ev.code})`;
    setLink(`offline: ${why}; retrying`);
    setState(ev.code === 1001 ? "STOPPED" : "offline");
    // The run may come back (a restart on the robot): keep trying, slower each time.
    setTimeout(() => connect(token, Math.min(retryMs * 2, 10_000)), retryMs);
  };
}

function send(msg) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function onControl(msg) {
  switch (msg.op) {
    case "serverInfo":
      view.serverInfo = msg;
      try {
        view.classes = JSON.parse(msg.metadata?.classes ?? "[]");
      } catch {
        view.classes = [];
      }
      $("about").textContent = [
        msg.metadata?.modelId && `model ${msg.metadata.modelId}`,
        msg.metadata?.cameraId && `camera ${msg.metadata.cameraId}`,
        msg.metadata?.viewFps && `view ${msg.metadata.viewFps} fps`,
      ]
        .filter(Boolean)
        .join(" · ");
      renderCounts(new Map());
      break;
    case "advertise": {
      const subs = [];
      for (const ch of msg.channels) {
        const role = WANTED[ch.schemaName];
        if (!role || ch.encoding !== "protobuf") continue;
        registry.addBase64(ch.schema);
        const id = nextSubscription++;
        channels.set(ch.id, { role, schemaName: ch.schemaName });
        subscriptions.set(id, { role, schemaName: ch.schemaName });
        subs.push({ id, channelId: ch.id });
      }
      if (subs.length) send({ op: "subscribe", subscriptions: subs });
      break;
    }
    case "unadvertise":
      for (const id of msg.channelIds) channels.delete(id);
      break;
    case "status":
      note(`server: ${msg.message}`);
      break;
  }
}

function onBinary(buffer) {
  const dv = new DataView(buffer);
  if (dv.getUint8(0) !== 1) return; // only message data is ours to read
  const sub = subscriptions.get(dv.getUint32(1, true));
  if (!sub) return;
  const payload = new Uint8Array(buffer, 13);
  const msg = registry.decode(sub.schemaName, payload);
  if (sub.role === "image") onImage(msg);
  else if (sub.role === "annotations") onAnnotations(msg);
  else if (sub.role === "detections") onDetections(msg);
  else if (sub.role === "status") onStatus(msg);
}

// ---- frame and boxes ---------------------------------------------------------------------

function onAnnotations(msg) {
  annotationsByStamp.set(stampKey(msg.timestamp), msg);
  // The server sends a frame's annotations right before its image; a few suffice.
  while (annotationsByStamp.size > 8) annotationsByStamp.delete(annotationsByStamp.keys().next().value);
}

function onImage(msg) {
  view.images++;
  // Latest wins: while one frame decodes, a newer one replaces the waiting one.
  pendingImage = msg;
  if (!decoding) void drawPending();
}

async function drawPending() {
  decoding = true;
  try {
    while (pendingImage) {
      const msg = pendingImage;
      pendingImage = null;
      const bitmap = await createImageBitmap(new Blob([msg.data], { type: `image/${msg.format || "jpeg"}` }));
      drawFrame(bitmap, annotationsByStamp.get(stampKey(msg.timestamp)), msg);
      bitmap.close();
    }
  } catch (err) {
    note(`image: ${err.message}`);
  } finally {
    decoding = false;
  }
}

function drawFrame(bitmap, annotations, msg) {
  const canvas = $("frame");
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const boxes = annotations ? drawAnnotations(ctx, annotations) : [];
  view.lastBoxes = boxes;
  view.framesDrawn++;
  const t = new Date(Number(msg.timestamp.seconds) * 1000 + msg.timestamp.nanos / 1e6);
  $("frame-info").textContent =
    `${bitmap.width}x${bitmap.height} ${msg.format} · ${msg.frame_id || "camera"} · captured ${t.toLocaleTimeString()} · ${boxes.length} ${boxes.length === 1 ? "box" : "boxes"}`;
}

/** Draw ImageAnnotations as Foxglove does: outlines in their colour, texts above with a background. */
function drawAnnotations(ctx, a) {
  const boxes = [];
  for (const p of a.points) {
    if (p.points.length < 2) continue;
    const width = p.thickness || 1;
    // Even widths on whole pixels, odd ones on pixel centres: crisp lines in their true colour.
    const snap = (v) => (width % 2 === 0 ? Math.round(v) : Math.floor(v) + 0.5);
    ctx.lineWidth = width;
    ctx.strokeStyle = css(p.outline_color);
    ctx.beginPath();
    const pts = p.points;
    if (p.type === "LINE_LIST") {
      for (let i = 0; i + 1 < pts.length; i += 2) {
        ctx.moveTo(snap(pts[i].x), snap(pts[i].y));
        ctx.lineTo(snap(pts[i + 1].x), snap(pts[i + 1].y));
      }
    } else {
      ctx.moveTo(snap(pts[0].x), snap(pts[0].y));
      for (const q of pts.slice(1)) ctx.lineTo(snap(q.x), snap(q.y));
      if (p.type === "LINE_LOOP") ctx.closePath();
    }
    ctx.stroke();
    const xs = pts.map((q) => snap(q.x));
    const ys = pts.map((q) => snap(q.y));
    const c = p.outline_color ?? { r: 0, g: 0, b: 0 };
    boxes.push({
      x0: Math.min(...xs),
      y0: Math.min(...ys),
      x1: Math.max(...xs),
      y1: Math.max(...ys),
      thickness: width,
      colour: [c.r, c.g, c.b].map((v) => Math.round(v * 255)),
      label: "",
    });
  }
  for (const t of a.texts) {
    const size = t.font_size || 12;
    ctx.font = `${size}px system-ui, sans-serif`;
    const w = ctx.measureText(t.text).width;
    const { x, y } = t.position ?? { x: 0, y: 0 };
    // position is the text's bottom-left corner (the label sits just above its box, clear of
    // the outline); a label at the top of the frame is kept inside it.
    const top = Math.max(0, y - size - 4);
    ctx.fillStyle = css(t.background_color);
    ctx.fillRect(x, top, w + 6, size + 4);
    ctx.fillStyle = css(t.text_color);
    ctx.textBaseline = "top";
    ctx.fillText(t.text, x + 3, top + 2);
    const box = boxes.find((b) => Math.abs(b.x0 - Math.round(x)) <= 1 && !b.label);
    if (box) box.label = t.text.split(" ")[0];
  }
  return boxes;
}

// ---- detections, status, charts ----------------------------------------------------------

function onDetections(msg) {
  const now = performance.now();
  const counts = new Map();
  for (const d of msg.detections) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
  history.counts.push({ t: now, counts });
  history.timings.push({ t: now, ...msg.timings });
  trim(history.counts, now);
  trim(history.timings, now);
  renderCounts(counts);
  drawLatency();
}

function onStatus(s) {
  view.status = s;
  const now = performance.now();
  history.fps.push({ t: now, v: s.fps });
  trim(history.fps, now);
  setState(s.state);
  $("s-fps").textContent = s.fps.toFixed(1);
  $("s-in").textContent = fmt(s.frames_in);
  $("s-processed").textContent = fmt(s.frames_processed);
  const dropped = Number(s.frames_dropped);
  const seen = Number(s.frames_in) || 1;
  $("s-dropped").textContent = `${fmt(s.frames_dropped)} (${((100 * dropped) / seen).toFixed(1)}%)`;
  $("s-failed").textContent = fmt(s.frames_failed);
  $("s-engine").textContent = `${s.engine}/${s.device}`;
  $("s-source").textContent = s.source;
  $("s-error").textContent = s.last_error || "-";
  drawFps();
}

function trim(series, now) {
  while (series.length && series[0].t < now - WINDOW_MS) series.shift();
}

function setState(state) {
  const el = $("state");
  el.textContent = state;
  el.className = `badge ${state}`;
}

function setLink(text) {
  $("link").textContent = text;
}

function note(text) {
  view.errors.push(text);
  if (view.errors.length > 20) view.errors.shift();
  console.warn(`fovea view: ${text}`);
}

function renderCounts(current) {
  const body = $("classes").tBodies[0];
  const frames = history.counts.length || 1;
  const totals = new Map();
  for (const { counts } of history.counts) for (const [k, v] of counts) totals.set(k, (totals.get(k) ?? 0) + v);
  const known = view.classes.map((c) => c.name);
  const labels = [...known, ...[...totals.keys()].filter((l) => !known.includes(l))];
  const colour = new Map(view.classes.map((c) => [c.name, c.colour]));
  body.replaceChildren(
    ...labels.map((label) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colour.get(label) ?? "#888";
      name.append(sw, label);
      const now = document.createElement("td");
      now.className = "n";
      now.textContent = String(current.get(label) ?? 0);
      const avg = document.createElement("td");
      avg.className = "n";
      avg.textContent = ((totals.get(label) ?? 0) / frames).toFixed(2);
      tr.append(name, now, avg);
      return tr;
    }),
  );
}

/** A small line chart of `series` (each [points, colour]) over the last minute. */
function chart(canvas, series, unit) {
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const pad = { l: 36, r: 6, t: 6, b: 16 };
  ctx.clearRect(0, 0, w, h);
  let max = 0;
  for (const [pts] of series) for (const p of pts) max = Math.max(max, p.v);
  max = niceCeil(max || 1);
  ctx.strokeStyle = "#2c323c";
  ctx.fillStyle = "#8a93a1";
  ctx.font = "10px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = Math.round(pad.t + (h - pad.t - pad.b) * (1 - f)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(w - pad.r, y);
    ctx.stroke();
    ctx.textBaseline = "middle";
    ctx.fillText(`${+(max * f).toFixed(2)}${f === 1 ? ` ${unit}` : ""}`, 2, y);
  }
  ctx.textBaseline = "alphabetic";
  ctx.fillText("-60 s", pad.l, h - 3);
  ctx.fillText("now", w - pad.r - 20, h - 3);
  const now = performance.now();
  for (const [pts, colour] of series) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    pts.forEach((p, i) => {
      const x = pad.l + (w - pad.l - pad.r) * (1 - (now - p.t) / WINDOW_MS);
      const y = pad.t + (h - pad.t - pad.b) * (1 - Math.min(p.v, max) / max);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

function niceCeil(v) {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * e) return m * e;
  return 10 * e;
}

function drawFps() {
  chart($("fps-chart"), [[history.fps, "#3fb950"]], "fps");
}

/** Medians over `binMs` bins: one slow frame shows in the legend's p99 without flattening the chart. */
function binnedMedians(samples, key, binMs) {
  const bins = new Map();
  for (const s of samples) {
    const b = Math.floor(s.t / binMs);
    if (!bins.has(b)) bins.set(b, []);
    bins.get(b).push(s[key] / 1000);
  }
  return [...bins].map(([b, vals]) => {
    vals.sort((x, y) => x - y);
    return { t: (b + 0.5) * binMs, v: vals[Math.floor(vals.length / 2)] };
  });
}

function drawLatency() {
  const series = STAGES.map(([key, , colour]) => [binnedMedians(history.timings, key, 2000), colour]);
  chart($("latency-chart"), series, "ms");
  const last = history.timings.length ? history.timings : [];
  const legend = $("latency-legend");
  legend.replaceChildren(
    ...STAGES.map(([key, name, colour]) => {
      const vals = last.map((t) => t[key] / 1000).sort((a, b) => a - b);
      const p = (q) => (vals.length ? vals[Math.min(vals.length - 1, Math.floor(q * vals.length))].toFixed(2) : "-");
      const span = document.createElement("span");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colour;
      span.append(sw, `${name} ${p(0.5)} / ${p(0.99)}`);
      return span;
    }),
  );
}

start().catch((err) => note(`start: ${err.message}`));
