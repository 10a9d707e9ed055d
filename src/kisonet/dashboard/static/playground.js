// The playground page: settings -> a training session on the server (kisonet), frames -> canvases.
"use strict";

const Play = {
  opts: null,          // names, limits, defaults from /api/play/options
  data: null,          // data settings
  network: null,       // network settings
  lanes: [],           // lane settings (1 normally, 2-4 in race mode)
  race: false,
  sid: null,
  es: null,
  points: null,        // the data points of the session
  frame: null,         // the last frame
  running: false,
  rate: [],            // [time, step] samples for steps/s
  stepsPerSec: 0,
  frames: 0,
  started: false,
};

const LANE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const RACE_PRESETS = [null, { optimizer: "sgd", lr: 0.1 }, { optimizer: "momentum", lr: 0.03 }, { optimizer: "rmsprop", lr: 0.01 }];
const NEG = [245, 147, 34], POS = [8, 119, 189], MID = [232, 234, 235];

function colorRamp(t) {  // t in [0, 1]: orange (negative / class 0) - light grey - blue (positive / class 1)
  const a = t < 0.5 ? NEG : MID, b = t < 0.5 ? MID : POS, u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}
const RAMP = Array.from({ length: 256 }, (_, i) => colorRamp(i / 255));

function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// A heat map of n x n bytes into a canvas region (smoothed by the browser when scaled).
const heatCache = new Map();
function heatCanvas(bytes, n, fade = 1) {
  let c = heatCache.get(n);
  if (!c) { c = document.createElement("canvas"); c.width = c.height = n; heatCache.set(n, c); }
  const ctx = c.getContext("2d"), img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const col = RAMP[bytes[i]];
    img.data[4 * i] = 255 - (255 - col[0]) * fade; img.data[4 * i + 1] = 255 - (255 - col[1]) * fade;
    img.data[4 * i + 2] = 255 - (255 - col[2]) * fade; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

// --- settings UI ---------------------------------------------------------------------------

// A lane's name in a race: its optimizer and learning rate, then every setting that differs
// between the lanes (labelled as in the settings), so a legend says which run is which.
const LANE_SETTINGS = ["momentum", "schedule", "batch_size", "activation", "l1", "l2", "dropout", "input_noise", "batch_norm"];
const SETTING_LABEL = { batch_size: "batch size", input_noise: "input noise", batch_norm: "batch norm", l1: "L1", l2: "L2" };
function laneLabel(i) {
  const L = Play.lanes[i];
  if (!L) return `${App.t("Lane")} ${i + 1}`;
  const parts = [`${L.optimizer} ${L.lr}`];
  for (const k of LANE_SETTINGS) {
    if (!Play.lanes.some((M) => M[k] !== L[k])) continue;
    const v = k === "batch_norm" ? (L[k] ? "✓" : "✗") : L[k];
    parts.push(k === "activation" ? `${v}` : `${App.t(SETTING_LABEL[k] || k)} ${v}`);
  }
  const label = parts.join(", ");
  const twin = Play.lanes.some((_, j) => j !== i && laneSignature(j) === laneSignature(i));
  return twin ? `${App.t("Lane")} ${i + 1}: ${label}` : label;
}
function laneSignature(i) {
  const L = Play.lanes[i];
  return JSON.stringify([L.optimizer, L.lr, ...LANE_SETTINGS.map((k) => L[k])]);
}

// Every place a lane is named (settings, boards, networks; the loss legend on the next frame).
function refreshLaneNames() {
  document.querySelectorAll("[data-lane-name]").forEach((e) => { e.textContent = laneName(Number(e.dataset.laneName)); });
  if (Play.frame) requestDraw();
}
function laneName(i) { return Play.race ? `${App.t("Lane")} ${i + 1}: ${laneLabel(i)}` : App.t("Training"); }
function laneTitle(i) {
  const dot = el("span", { class: "dot" });
  dot.style.background = LANE_COLORS[i];
  return [dot, el("span", { "data-lane-name": i, text: laneName(i) })];
}

function numberInput(value, lim, step, onchange) {
  const i = el("input", { type: "number", min: lim[0], max: lim[1], step: step || "any" });
  i.value = value;
  i.addEventListener("change", () => {
    const v = Number(i.value);
    if (!isFinite(v) || v < lim[0] || v > lim[1]) { showError(`${v}: ${lim[0]} … ${lim[1]}`); i.value = value; return; }
    value = v; onchange(v);
  });
  return i;
}

function selectInput(value, choices, onchange) {
  const s = el("select", {}, ...choices.map((c) => el("option", { value: c, text: c === "default" ? App.t("default") : c })));
  s.value = value;
  s.addEventListener("change", () => onchange(s.value));
  return s;
}

function row(label, input, extra) {
  return el("label", {}, el("span", { "data-t": label, text: App.t(label) }), input, extra || null);
}

function laneBlock(i) {
  const L = Play.lanes[i], lim = Play.opts.limits, names = Play.opts.names;
  const set = (k, live) => (v) => { L[k] = v; refreshLaneNames(); live ? sendUpdate() : sendConfig(); };
  const lrIn = numberInput(L.lr, lim.lr, "any", set("lr", true));
  const fs = el("fieldset", { class: "lane" },
    el("legend", {}, ...(Play.race ? laneTitle(i) : [App.t("Training")])),
    row("optimizer", selectInput(L.optimizer, names.optimizer, (v) => {
      L.optimizer = v; L.lr = Play.opts.default_lr[v] || L.lr; lrIn.value = L.lr; refreshLaneNames(); sendConfig();
    })),
    row("learning rate", lrIn),
    row("momentum", numberInput(L.momentum, lim.momentum, 0.05, set("momentum"))),
    row("schedule", selectInput(L.schedule, names.schedule, set("schedule"))),
    row("schedule epochs", numberInput(L.schedule_epochs, lim.schedule_epochs, 1, set("schedule_epochs"))),
    row("batch size", numberInput(L.batch_size, lim.batch_size, 1, set("batch_size"))),
    row("activation", selectInput(L.activation, names.activation, set("activation"))),
    row("L1", numberInput(L.l1, lim.l1, 0.0001, set("l1", true))),
    row("L2", numberInput(L.l2, lim.l2, 0.0001, set("l2", true))),
    row("dropout", numberInput(L.dropout, lim.dropout, 0.05, set("dropout"))),
    row("input noise", numberInput(L.input_noise, lim.input_noise, 0.05, set("input_noise", true))),
  );
  const bn = el("input", { type: "checkbox" }); bn.checked = L.batch_norm;
  bn.addEventListener("change", () => { L.batch_norm = bn.checked; refreshLaneNames(); sendConfig(); });
  fs.append(row("batch norm", bn));
  fs.style.setProperty("--lc", LANE_COLORS[i]);
  return fs;
}

function renderLaneControls() {
  document.getElementById("pg-lanes").replaceChildren(...Play.lanes.map((_, i) => laneBlock(i)));
}

function renderNetworkControls() {
  document.getElementById("pg-layers").textContent = Play.network.hidden.length;
  const lim = Play.opts.limits.units;
  document.getElementById("pg-units").replaceChildren(...Play.network.hidden.map((u, j) => {
    const minus = el("button", { class: "small", text: "−" }), plus = el("button", { class: "small", text: "+" });
    const out = el("output", { text: u });
    minus.addEventListener("click", () => { if (u > lim[0]) { Play.network.hidden[j] = u - 1; renderNetworkControls(); sendConfig(); } });
    plus.addEventListener("click", () => { if (u < lim[1]) { Play.network.hidden[j] = u + 1; renderNetworkControls(); sendConfig(); } });
    return el("div", { class: "unitrow" }, el("span", { text: `${App.t("units")} ${j + 1}` }), minus, out, plus);
  }));
}

function renderDatasets() {
  const box = document.getElementById("pg-datasets");
  box.replaceChildren(...Play.opts.names.dataset.map((d) => {
    const b = el("button", { "data-dataset": d, text: d, class: d === Play.data.dataset ? "active" : "" });
    b.addEventListener("click", () => { Play.data.dataset = d; renderDatasets(); sendConfig(); });
    return b;
  }));
}

function placeholder(canvas, text) {
  const { ctx, w, h } = Chart.prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#f0f2f5"; ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = "#6b7280"; ctx.font = "14px system-ui"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.fillText(text, w / 2, h / 2);
}

function renderBoards() {
  const boards = document.getElementById("pg-boards");
  boards.classList.toggle("race", Play.race);
  boards.replaceChildren(...Play.lanes.map((L, i) => {
    const title = el("h3", {}, ...(Play.race ? laneTitle(i) : [App.t("Decision boundary")]));
    return el("div", { class: "board" }, title, el("canvas", { class: "boundary", "data-lane": i, width: 380, height: 380 }), el("div", { class: "stats", "data-lane": i }));
  }));
  if (!Play.frame || Play.frame.lanes.length !== Play.lanes.length) {
    boards.querySelectorAll("canvas.boundary").forEach((c) => placeholder(c, App.t("starting the session…")));
  }
  renderNets();
}

// The network panel: one network per lane, each with its own weights and hidden units.
function renderNets() {
  const nets = document.getElementById("pg-nets");
  nets.replaceChildren(...Play.lanes.flatMap((_, i) => {
    const canvas = el("canvas", { class: "net", "data-lane": i, width: 460, height: 300 });
    if (i === 0) canvas.id = "pg-net";
    return Play.race ? [el("h4", {}, ...laneTitle(i)), canvas] : [canvas];
  }));
}

function config() {
  return { data: Play.data, network: Play.network, lanes: Play.lanes };
}

// --- the session ----------------------------------------------------------------------------

let configTimer = null;
function sendConfig() {
  clearTimeout(configTimer);
  configTimer = setTimeout(async () => {
    if (!Play.sid) return startSession();
    Play.rate = [];
    try { await api(`/api/play/${Play.sid}/control`, { action: "config", config: config() }); }
    catch (e) { showError(e.message); }
    if (Play.running) control("run");
  }, 200);
}

let updateTimer = null;
function sendUpdate() {
  clearTimeout(updateTimer);
  updateTimer = setTimeout(() => {
    const lanes = Play.lanes.map((L) => ({ lr: L.lr, l1: L.l1, l2: L.l2, input_noise: L.input_noise }));
    api(`/api/play/${Play.sid}/control`, { action: "update", lanes }).catch((e) => showError(e.message));
    if (Play.race) renderBoards(), Play.frame && drawFrame(Play.frame);
  }, 150);
}

async function control(action, extra = {}) {
  if (!Play.sid) await startSession();
  if (!Play.sid) return;
  if (action === "run") Play.running = true;
  if (action === "pause" || action === "step") Play.running = false;
  if (action === "reset") Play.rate = [];
  updateButtons();
  try { await api(`/api/play/${Play.sid}/control`, { action, ...extra }); }
  catch (e) { showError(e.message); }
}

function updateButtons() {
  document.getElementById("pg-run").disabled = Play.running;
  document.getElementById("pg-pause").disabled = !Play.running;
}

async function startSession() {
  if (Play.starting) return Play.starting;
  Play.starting = (async () => {
    closeSession();
    try {
      const r = await api("/api/play/new", config());
      Play.sid = r.session;
    } catch (e) { showError(e.message); Play.starting = null; return; }
    const es = new EventSource(`/api/play/${Play.sid}/stream`);
    Play.es = es;
    es.addEventListener("data", (ev) => { Play.points = JSON.parse(ev.data).points; Play.rate = []; });
    es.addEventListener("frame", (ev) => {
      const f = JSON.parse(ev.data);
      Play.frame = f; Play.frames++;
      if (!f.running && Play.running && f.lanes.every((l) => l.diverged)) { Play.running = false; updateButtons(); }
      const now = performance.now();
      Play.rate.push([now, f.lanes[0].step]);
      while (Play.rate.length > 2 && now - Play.rate[0][0] > 2000) Play.rate.shift();
      const [t0, s0] = Play.rate[0];
      Play.stepsPerSec = now > t0 + 200 ? ((f.lanes[0].step - s0) * 1000) / (now - t0) : Play.stepsPerSec;
      requestDraw();
    });
    es.addEventListener("error", (ev) => { if (ev.data) showError(JSON.parse(ev.data).error); });
    es.addEventListener("closed", () => { showError(App.t("The session ended; reload the page.")); es.close(); Play.sid = null; Play.running = false; updateButtons(); });
    Play.starting = null;
  })();
  return Play.starting;
}

function closeSession() {
  if (Play.es) Play.es.close();
  if (Play.sid) navigator.sendBeacon(`/api/play/${Play.sid}/close`);
  Play.sid = null; Play.es = null;
}

// --- drawing --------------------------------------------------------------------------------

let drawPending = false;
function requestDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; if (Play.frame) drawFrame(Play.frame); });
}

function drawPoints(ctx, w, h) {
  if (!Play.points) return;
  const E = Play.points.extent, X = (x) => ((x + E) / (2 * E)) * w, Y = (y) => ((E - y) / (2 * E)) * h;
  const r = Play.race ? 2.6 : 3.4;
  for (const [set, test] of [[Play.points.train, false], [Play.points.test, true]]) {
    for (let i = 0; i < set.y.length; i++) {
      const [x, y] = set.x[i];
      ctx.beginPath(); ctx.arc(X(x), Y(y), r, 0, 2 * Math.PI);
      const c = set.y[i] ? POS : NEG;
      if (test) { ctx.fillStyle = "#fff"; ctx.fill(); ctx.lineWidth = 1.6; ctx.strokeStyle = `rgb(${c})`; ctx.stroke(); }
      else { ctx.fillStyle = `rgb(${c})`; ctx.fill(); ctx.lineWidth = 0.8; ctx.strokeStyle = "#fff"; ctx.stroke(); }
    }
  }
}

function pct(v) { return v == null ? "–" : (100 * v).toFixed(1) + "%"; }
function num(v) { return v == null ? "–" : (+v).toFixed(4); }

function drawFrame(f) {
  const G = (Play.points && Play.points.grid) || 100;
  f.lanes.forEach((L, i) => {
    const canvas = document.querySelector(`canvas.boundary[data-lane="${i}"]`);
    if (!canvas) return;
    const { ctx, w, h } = Chart.prepare(canvas);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas(decode(L.p), G, 0.85), 0, 0, w, h);
    drawPoints(ctx, w, h);
    const stats = document.querySelector(`.stats[data-lane="${i}"]`);
    const sps = i === 0 && Play.running ? ` · ${Math.round(Play.stepsPerSec)} ${App.t("steps/s")}` : "";
    stats.textContent = `${App.t("epoch")} ${L.epoch} · ${App.t("step")} ${L.step} · lr ${(+L.lr).toPrecision(3)}${sps}\n` +
      `${App.t("train loss")} ${num(L.train_loss)} · ${App.t("test loss")} ${num(L.test_loss)} · ` +
      `${App.t("train acc")} ${pct(L.train_acc)} · ${App.t("test acc")} ${pct(L.test_acc)}` + (L.diverged ? ` · ${App.t("diverged")}` : "");
    stats.dataset.trainAcc = L.train_acc;
  });
  const series = [];
  f.lanes.forEach((L, i) => {
    // in a race: one entry per lane naming its settings, solid train / dashed test said once
    series.push({ name: Play.race ? laneLabel(i) : App.t("train"), x: L.curve.step, y: L.curve.train_loss, color: LANE_COLORS[i] });
    series.push({ name: Play.race ? "" : App.t("test"), x: L.curve.step, y: L.curve.test_loss, color: LANE_COLORS[i], dash: [5, 3] });
  });
  if (Play.race) {
    series.push({ name: App.t("train"), x: [], y: [], color: "#666" });
    series.push({ name: App.t("test"), x: [], y: [], color: "#666", dash: [5, 3] });
  }
  Chart.draw(document.getElementById("pg-loss"), series, { xlabel: App.t("step"), ylabel: App.t("loss"), ymin: 0, integerX: true });
  f.lanes.forEach((L, i) => drawNetwork(L, document.querySelector(`#pg-nets canvas.net[data-lane="${i}"]`)));
  document.getElementById("pg-status").textContent = Play.running ? `${App.t("running")} · ${Math.round(Play.stepsPerSec)} ${App.t("steps/s")}` : "";
}

function drawNetwork(L, canvas) {
  if (!L.weights || !canvas) return;
  const layers = [L.weights[0].w[0].length, ...L.weights.map((l) => l.w.length)];
  const maxN = Math.max(...layers);
  const H = Play.race ? Math.max(160, Math.min(300, maxN * 22 + 16)) : Math.max(200, Math.min(560, maxN * 30 + 20));
  if (canvas.style.height !== `${H}px`) canvas.style.height = `${H}px`;
  const { ctx, w, h } = Chart.prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  const size = Math.max(12, Math.min(34, (h - 16) / maxN - 6));
  const colX = (j) => 20 + size / 2 + (j * (w - 40 - size)) / (layers.length - 1);
  const rowY = (n, k) => h / 2 + (k - (n - 1) / 2) * (size + 6);
  // weights
  let wmax = 1e-6;
  for (const layer of L.weights) for (const r of layer.w) for (const v of r) wmax = Math.max(wmax, Math.abs(v));
  L.weights.forEach((layer, j) => {
    layer.w.forEach((r, o) => r.forEach((v, inp) => {
      ctx.strokeStyle = v >= 0 ? `rgba(${POS},0.8)` : `rgba(${NEG},0.8)`;
      ctx.lineWidth = 0.3 + 5 * Math.abs(v) / wmax;
      ctx.beginPath(); ctx.moveTo(colX(j), rowY(layers[j], inp)); ctx.lineTo(colX(j + 1), rowY(layers[j + 1], o)); ctx.stroke();
    }));
  });
  // nodes: inputs x1, x2; hidden units as their heat maps; outputs
  const U = (Play.points && Play.points.unit_grid) || 25;
  let u = 0;
  layers.forEach((n, j) => {
    for (let k = 0; k < n; k++) {
      const x = colX(j) - size / 2, y = rowY(n, k) - size / 2;
      if (j > 0 && j < layers.length - 1 && L.units && L.units[u]) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(heatCanvas(decode(L.units[u]), U), x, y, size, size);
        u++;
      } else {
        ctx.fillStyle = "#fff"; ctx.fillRect(x, y, size, size);
        ctx.fillStyle = "#333"; ctx.font = `${Math.round(size * 0.4)}px system-ui`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(j === 0 ? `x${k + 1}` : `y${k}`, x + size / 2, y + size / 2);
      }
      ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.strokeRect(x, y, size, size);
    }
  });
}

// --- page -----------------------------------------------------------------------------------

async function initPlayground() {
  if (Play.started) return;
  Play.started = true;
  try { Play.opts = await api("/api/play/options"); } catch (e) { showError(e.message); Play.started = false; return; }
  const d = Play.opts.defaults;
  Play.data = { ...d.data }; Play.network = { ...d.network, hidden: [...d.network.hidden] }; Play.lanes = [{ ...d.lane }];
  const bind = (id, key, fmt) => {
    const i = document.getElementById(id), out = i.parentElement.querySelector("output");
    i.value = Play.data[key]; if (out) out.textContent = fmt ? fmt(i.value) : i.value;
    i.addEventListener("input", () => { if (out) out.textContent = fmt ? fmt(i.value) : i.value; });
    i.addEventListener("change", () => {
      const v = Number(i.value), lim = Play.opts.limits[key];
      if (!isFinite(v) || v < lim[0] || v > lim[1]) { showError(`${key}: ${lim[0]} … ${lim[1]}`); i.value = Play.data[key]; return; }
      Play.data[key] = v; sendConfig();
    });
  };
  bind("pg-noise", "noise"); bind("pg-ratio", "train_ratio", (v) => `${Math.round(v * 100)}%`); bind("pg-npoints", "n_points"); bind("pg-seed", "seed");
  const init = document.getElementById("pg-init");
  init.replaceChildren(...Play.opts.names.init.map((c) => el("option", { value: c, text: c === "default" ? App.t("default") : c })));
  init.value = Play.network.init;
  init.addEventListener("change", () => { Play.network.init = init.value; sendConfig(); });
  document.getElementById("pg-layer-minus").addEventListener("click", () => {
    if (Play.network.hidden.length > 0) { Play.network.hidden.pop(); renderNetworkControls(); sendConfig(); }
  });
  document.getElementById("pg-layer-plus").addEventListener("click", () => {
    if (Play.network.hidden.length < Play.opts.limits.layers[1]) { Play.network.hidden.push(4); renderNetworkControls(); sendConfig(); }
  });
  const race = document.getElementById("pg-race"), nl = document.getElementById("pg-nlanes");
  const setRace = () => {
    Play.race = race.checked;
    const n = Play.race ? Number(nl.value) : 1;
    const lanes = [Play.lanes[0]];
    for (let i = 1; i < n; i++) lanes.push(Play.lanes[i] || { ...Play.lanes[0], ...RACE_PRESETS[i] });
    Play.lanes = lanes;
    renderLaneControls(); renderBoards(); sendConfig();
  };
  race.addEventListener("change", setRace); nl.addEventListener("change", setRace);
  document.getElementById("pg-run").addEventListener("click", () => control("run"));
  document.getElementById("pg-pause").addEventListener("click", () => control("pause"));
  document.getElementById("pg-step").addEventListener("click", () => control("step", { steps: 1 }));
  document.getElementById("pg-reset").addEventListener("click", () => control("reset"));
  window.addEventListener("pagehide", closeSession);
  App.onLang.push(() => { if (Play.opts) { renderNetworkControls(); renderLaneControls(); renderBoards(); if (Play.frame) drawFrame(Play.frame); } });
  renderDatasets(); renderNetworkControls(); renderLaneControls(); renderBoards(); updateButtons();
  await startSession();
}

App.onTab.play = initPlayground;
