// Small canvas line charts (no library): axes with round ticks, several series, a legend.
"use strict";

const Chart = (() => {
  const MAX_LEGEND_ROWS = 4;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function niceStep(span, n) {
    const raw = span / Math.max(1, n);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
  }

  function fmt(v) {
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
    return String(+v.toPrecision(3));
  }

  // Fit the canvas backing store to its CSS size and the device pixel ratio.
  function prepare(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, w, h };
  }

  // series: [{name, x: [], y: [], color, dash: [], width}]; opts: {xlabel, ylabel, logy, ymin, ymax, empty}
  function draw(canvas, series, opts = {}) {
    const { ctx, w, h } = prepare(canvas);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "12px system-ui, sans-serif";
    const named = series.filter((s) => s.name);
    const left = 56, right = 12, bottom = 36, pw = w - left - right;
    // the legend: as many rows above the plot as its entries need, up to MAX_LEGEND_ROWS (then "+N")
    let rows = [];
    for (const s of named) {
      const tw = ctx.measureText(s.name).width + 34, last = rows[rows.length - 1];
      if (last && last.width + tw <= pw) { last.items.push([s, tw]); last.width += tw; }
      else rows.push({ items: [[s, tw]], width: tw });
    }
    if (rows.length > MAX_LEGEND_ROWS) {
      const more = rows.slice(MAX_LEGEND_ROWS).reduce((n, r) => n + r.items.length, 0);
      rows = rows.slice(0, MAX_LEGEND_ROWS);
      rows[rows.length - 1].more = more;
    }
    const legendH = rows.length ? rows.length * 18 + 2 : 0;
    const top = 10 + legendH, ph = h - top - bottom;
    const tf = opts.logy ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of series) {
      for (let i = 0; i < s.x.length; i++) {
        const y = s.y[i] == null ? NaN : tf(s.y[i]);
        if (!isFinite(y) || s.x[i] == null) continue;
        x0 = Math.min(x0, s.x[i]); x1 = Math.max(x1, s.x[i]);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    ctx.strokeStyle = "#999"; ctx.fillStyle = "#555";
    if (!isFinite(x0)) {
      ctx.textAlign = "center";
      ctx.fillText(opts.empty || "no data yet", left + pw / 2, top + ph / 2);
      return;
    }
    if (opts.ymin != null) y0 = tf(opts.ymin);
    if (opts.ymax != null) y1 = tf(opts.ymax);
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + Math.max(1e-3, Math.abs(y0) * 0.1); y0 -= Math.max(1e-3, Math.abs(y0) * 0.1); }
    const pad = (y1 - y0) * 0.04; if (opts.ymin == null) y0 -= pad; if (opts.ymax == null) y1 += pad;
    const X = (v) => left + ((v - x0) / (x1 - x0)) * pw;
    const Y = (v) => top + (1 - (v - y0) / (y1 - y0)) * ph;
    // grid and ticks
    ctx.lineWidth = 1; ctx.strokeStyle = "#e4e4e4"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const ys = niceStep(y1 - y0, 5);
    for (let v = Math.ceil(y0 / ys) * ys; v <= y1 + 1e-12; v += ys) {
      ctx.beginPath(); ctx.moveTo(left, Y(v)); ctx.lineTo(left + pw, Y(v)); ctx.stroke();
      ctx.fillText(opts.logy ? fmt(Math.pow(10, v)) : fmt(v), left - 6, Y(v));
    }
    let xs = niceStep(x1 - x0, Math.max(2, Math.floor(pw / 90)));
    if (opts.integerX) xs = Math.max(1, Math.round(xs));
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (let v = Math.ceil(x0 / xs) * xs; v <= x1 + 1e-12; v += xs) {
      ctx.beginPath(); ctx.moveTo(X(v), top); ctx.lineTo(X(v), top + ph); ctx.stroke();
      ctx.fillText(fmt(v), X(v), top + ph + 4);
    }
    ctx.strokeStyle = "#888"; ctx.strokeRect(left, top, pw, ph);
    if (opts.xlabel) ctx.fillText(opts.xlabel, left + pw / 2, top + ph + 19);
    if (opts.ylabel) {
      ctx.save(); ctx.translate(12, top + ph / 2); ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle"; ctx.fillText(opts.ylabel, 0, 0); ctx.restore();
    }
    // series
    ctx.save(); ctx.beginPath(); ctx.rect(left, top, pw, ph); ctx.clip();
    for (const s of series) {
      ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.8; ctx.setLineDash(s.dash || []);
      ctx.beginPath(); let pen = false;
      for (let i = 0; i < s.x.length; i++) {
        const yv = s.y[i] == null ? NaN : tf(s.y[i]);
        if (!isFinite(yv)) { pen = false; continue; }
        const px = X(s.x[i]), py = Y(yv);
        if (pen) ctx.lineTo(px, py); else { ctx.moveTo(px, py); pen = true; }
      }
      ctx.stroke();
      if (s.x.length === 1) { ctx.fillStyle = s.color; ctx.fillRect(X(s.x[0]) - 2, Y(tf(s.y[0])) - 2, 4, 4); }
    }
    ctx.restore(); ctx.setLineDash([]);
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    rows.forEach((r, k) => {
      let x = left;
      const yy = 10 + k * 18 + 7;
      for (const [s, tw] of r.items) {
        ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.setLineDash(s.dash || []);
        ctx.beginPath(); ctx.moveTo(x, yy); ctx.lineTo(x + 20, yy); ctx.stroke(); ctx.setLineDash([]);
        ctx.fillStyle = "#222"; ctx.fillText(s.name, x + 24, yy);
        x += tw;
      }
      if (r.more) { ctx.fillStyle = "#666"; ctx.fillText(`+${r.more}`, x, yy); }
    });
  }

  return { draw, prepare, PALETTE, fmt };
})();
