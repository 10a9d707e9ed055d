// Optimizer paths: the chosen optimizers' walks on a 2-D test function, over its contours.
"use strict";

const Paths = { data: null, chosen: new Set(["SGD", "Momentum", "AdaGrad", "Adam"]), start: null, started: false, anim: 0 };

function levelColor(t) {  // t in [0, 1], low -> high: dark blue -> yellow (viridis-like, 5 stops)
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.999, Math.max(0, t)) * (stops.length - 1), i = Math.floor(x), u = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * u));
}

async function drawPaths() {
  const fn = document.getElementById("op-function").value || "elongated";
  const q = new URLSearchParams({ function: fn, optimizers: [...Paths.chosen].join(",") });
  const steps = document.getElementById("op-steps").value, lr = document.getElementById("op-lr").value;
  if (steps) q.set("steps", steps);
  if (lr) q.set("lr", lr);
  if (Paths.start && Paths.start.fn === fn) { q.set("x0", Paths.start.x.toFixed(4)); q.set("y0", Paths.start.y.toFixed(4)); }
  let d;
  try { d = await api(`/api/paths?${q}`); } catch (e) { showError(e.message); return; }
  Paths.data = d;
  if (!document.getElementById("op-steps").value) document.getElementById("op-steps").placeholder = "";
  animate();
  renderPathTable();
}

function pathColor(name) {
  const i = Paths.data.optimizers.indexOf(name);
  return Chart.PALETTE[i % Chart.PALETTE.length];
}

// Contours as banded colour (quantised log levels) under the paths; paths drawn growing.
let contourCache = null;
function contourImage(d) {
  const key = `${d.function}`;
  if (contourCache && contourCache.key === key) return contourCache.canvas;
  const n = d.grid, c = document.createElement("canvas"); c.width = c.height = n;
  const ctx = c.getContext("2d"), img = ctx.createImageData(n, n);
  const vals = d.z.map((v) => (d.log_levels ? Math.log10(v + 1e-3) : v));
  const lo = Math.min(...vals), hi = Math.max(...vals), bands = 18;
  for (let i = 0; i < n * n; i++) {
    const t = Math.floor(((vals[i] - lo) / (hi - lo + 1e-12)) * bands) / bands;
    const col = levelColor(t);
    img.data[4 * i] = 255 - (255 - col[0]) * 0.55; img.data[4 * i + 1] = 255 - (255 - col[1]) * 0.55;
    img.data[4 * i + 2] = 255 - (255 - col[2]) * 0.55; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  contourCache = { key, canvas: c };
  return c;
}

function animate() {
  cancelAnimationFrame(Paths.anim);
  const t0 = performance.now();
  const tick = () => {
    const frac = Math.min(1, (performance.now() - t0) / 1500);
    renderPaths(frac);
    if (frac < 1) Paths.anim = requestAnimationFrame(tick);
  };
  tick();
}

function renderPaths(frac = 1) {
  const d = Paths.data, canvas = document.getElementById("op-canvas");
  if (!d) return;
  const { ctx, w, h } = Chart.prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(contourImage(d), 0, 0, w, h);
  const X = (x) => ((x - d.xlim[0]) / (d.xlim[1] - d.xlim[0])) * w;
  const Y = (y) => ((d.ylim[1] - y) / (d.ylim[1] - d.ylim[0])) * h;
  ctx.fillStyle = "#111"; ctx.font = "14px system-ui"; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(d.title, 10, 8);
  for (const m of d.minima) { ctx.fillStyle = "#fff"; ctx.strokeStyle = "#111"; ctx.beginPath(); ctx.arc(X(m[0]), Y(m[1]), 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); }
  for (const [name, p] of Object.entries(d.paths)) {
    const n = Math.max(1, Math.round(p.x.length * frac));
    ctx.strokeStyle = pathColor(name); ctx.lineWidth = 2; ctx.beginPath();
    for (let i = 0; i < n; i++) { const px = Math.max(-1e4, Math.min(1e4, X(p.x[i]))), py = Math.max(-1e4, Math.min(1e4, Y(p.y[i]))); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }
    ctx.stroke();
    ctx.fillStyle = pathColor(name);
    const k = n - 1; ctx.beginPath(); ctx.arc(X(p.x[k]), Y(p.y[k]), 4, 0, 2 * Math.PI); ctx.fill();
  }
  ctx.fillStyle = "#111"; ctx.beginPath(); ctx.arc(X(d.start[0]), Y(d.start[1]), 5, 0, 2 * Math.PI); ctx.fill();
}

function renderPathTable() {
  const d = Paths.data;
  const head = el("tr", {}, ...["optimizer", "learning rate", "steps", "f(end)"].map((k) => el("th", { text: App.t(k) })));
  const rows = Object.entries(d.paths).map(([name, p]) => {
    const sw = el("span", { class: "swatch" }); sw.style.background = pathColor(name);
    return el("tr", {}, el("td", {}, sw, name), el("td", { text: p.lr }), el("td", { text: p.steps_run }), el("td", { text: Chart.fmt(p.final_loss) }));
  });
  document.getElementById("op-table").replaceChildren(head, ...rows);
}

async function initPaths() {
  if (Paths.started) return;
  Paths.started = true;
  let d;
  try { d = await api("/api/paths?function=elongated&steps=1&optimizers=SGD"); } catch (e) { showError(e.message); Paths.started = false; return; }
  const fsel = document.getElementById("op-function");
  fsel.replaceChildren(...d.functions.map((f) => el("option", { value: f, text: f })));
  fsel.value = "elongated";
  fsel.addEventListener("change", () => { Paths.start = null; drawPaths(); });
  Paths.data = d;
  document.getElementById("op-optimizers").replaceChildren(...d.optimizers.map((o) => {
    const box = el("input", { type: "checkbox", "data-optimizer": o }); box.checked = Paths.chosen.has(o);
    box.addEventListener("change", () => { if (box.checked) Paths.chosen.add(o); else Paths.chosen.delete(o); drawPaths(); });
    const sw = el("span", { class: "swatch" }); sw.style.background = pathColor(o);
    return el("label", {}, box, sw, o);
  }));
  document.getElementById("op-draw").addEventListener("click", drawPaths);
  document.getElementById("op-canvas").addEventListener("click", (ev) => {
    const dd = Paths.data; if (!dd) return;
    const r = ev.target.getBoundingClientRect();
    Paths.start = { fn: dd.function, x: dd.xlim[0] + ((ev.clientX - r.left) / r.width) * (dd.xlim[1] - dd.xlim[0]), y: dd.ylim[1] - ((ev.clientY - r.top) / r.height) * (dd.ylim[1] - dd.ylim[0]) };
    drawPaths();
  });
  App.onLang.push(() => { if (Paths.data) renderPathTable(); });
  drawPaths();
}

App.onTab.paths = initPaths;
