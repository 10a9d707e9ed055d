// The dashboard page: language switch, tabs, and the runs page (table, live curves, comparison).
"use strict";

const App = {
  strings: {},
  lang: "en",
  t(s) { return App.strings[s] || s; },
  onLang: [],
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function showError(msg) {
  const box = document.getElementById("error");
  box.textContent = msg;
  box.classList.remove("hidden");
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => box.classList.add("hidden"), 6000);
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: `${r.status} ${r.statusText}` }; }
  if (!r.ok) throw new Error(data && data.error ? data.error : `${r.status}`);
  return data;
}

// --- language -------------------------------------------------------------------------------

async function setLang(lang) {
  try {
    const data = await api(`/api/strings?lang=${encodeURIComponent(lang)}`);
    App.strings = data.strings; App.lang = lang;
  } catch (e) { showError(e.message); return; }
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = App.t(n.dataset.t); });
  document.querySelectorAll("[data-tp]").forEach((n) => { n.placeholder = App.t(n.dataset.tp); });
  try { localStorage.setItem("kisonet.lang", lang); } catch (e) { /* private mode */ }
  App.onLang.forEach((f) => f());
}

// --- tabs -----------------------------------------------------------------------------------

function showTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((s) => s.classList.toggle("active", s.id === `tab-${name}`));
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  (App.onTab[name] || (() => {}))();
}
App.onTab = {};

// --- runs -----------------------------------------------------------------------------------

const Runs = {
  rows: [],
  histories: {},   // run -> {column: [values]}
  details: {},     // run -> detail (options, metrics, files)
  selected: new Set(),
  sortKey: "modified",
  sortDir: -1,
  metric: "loss",
  colors: {},
  nextColor: 0,
};

function get(obj, key) { return key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj); }

function fmtCell(key, v) {
  if (v == null || v === "") return "–";
  if (key === "modified") {
    const d = new Date(v * 1000), p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  if (key.includes("accuracy")) return (100 * v).toFixed(2) + "%";
  if (typeof v === "number") return String(+v.toPrecision(4));
  return String(v);
}

function colorOf(run) {
  if (!(run in Runs.colors)) Runs.colors[run] = Chart.PALETTE[Runs.nextColor++ % Chart.PALETTE.length];
  return Runs.colors[run];
}

function renderRuns() {
  const q = document.getElementById("filter").value.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  const rows = Runs.rows.filter((r) => {
    const hay = [r.run, r.kind, r.status, r.dataset, r.model, r.optimizer].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  rows.sort((a, b) => {
    const x = get(a, Runs.sortKey), y = get(b, Runs.sortKey);
    if (x == null && y == null) return 0;
    if (x == null) return 1;
    if (y == null) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * Runs.sortDir;
  });
  const body = document.querySelector("#runs-table tbody");
  body.replaceChildren(...rows.map((r) => {
    const box = el("input", { type: "checkbox", "aria-label": r.run });
    box.checked = Runs.selected.has(r.run);
    box.addEventListener("change", () => toggleRun(r.run, box.checked));
    const cells = ["run", "kind", "status", "dataset", "model", "optimizer", "epochs", "best.val_accuracy", "best.test_accuracy", "best.train_loss", "modified"]
      .map((k) => {
        let v = get(r, k);
        if (k === "status") return el("td", {}, el("span", { class: `status ${v}`, text: App.t(v || "") }));
        if (k === "epochs" && r.planned_epochs && r.status === "running") v = `${v ?? 0}/${r.planned_epochs}`;
        const td = el("td", { text: fmtCell(k, v) });
        if (k === "run") { td.classList.add("runname"); td.prepend(el("span", { class: "swatch" })); td.firstChild.style.background = Runs.selected.has(r.run) ? colorOf(r.run) : "transparent"; }
        return td;
      });
    const tr = el("tr", { "data-run": r.run }, el("td", {}, box), ...cells);
    tr.addEventListener("click", (ev) => { if (ev.target !== box) { box.checked = !box.checked; toggleRun(r.run, box.checked); } });
    return tr;
  }));
  document.getElementById("run-count").textContent = `${rows.length} / ${Runs.rows.length}`;
  const empty = document.getElementById("runs-empty");
  empty.classList.toggle("hidden", Runs.rows.length > 0);
  empty.textContent = `${App.t("No run folders found under")} ${Runs.root || ""}`;
  document.querySelectorAll("#runs-table th[data-key]").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.key === Runs.sortKey);
    th.dataset.dir = th.dataset.key === Runs.sortKey ? (Runs.sortDir > 0 ? "▲" : "▼") : "";
  });
}

async function toggleRun(run, on) {
  if (on) Runs.selected.add(run); else Runs.selected.delete(run);
  if (on && !Runs.details[run]) {
    try {
      const d = await api(`/api/run?run=${encodeURIComponent(run)}`);
      Runs.details[run] = d; Runs.histories[run] = d.history;
    } catch (e) { showError(e.message); Runs.selected.delete(run); }
  }
  renderRuns(); renderCompare();
}

function metricChoices() {
  const cols = new Set();
  for (const run of Runs.selected) for (const k of Object.keys(Runs.histories[run] || {})) {
    const m = k.replace(/^(train|val|test)_/, "");
    if (m !== k) cols.add(m);
  }
  const list = [...cols];
  list.sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : a.localeCompare(b)));
  if (!list.length) list.push("loss");
  return list;
}

function renderCurves() {
  const sel = document.getElementById("curve-metric");
  const choices = metricChoices();
  if (!choices.includes(Runs.metric)) Runs.metric = choices[0];
  sel.replaceChildren(...choices.map((m) => el("option", { value: m, text: App.t(m) })));
  sel.value = Runs.metric;
  const series = [];
  const dashes = { train: [], val: [6, 3], test: [2, 3] };
  for (const run of Runs.selected) {
    const h = Runs.histories[run] || {};
    const x = h.epoch || (Object.values(h)[0] || []).map((_, i) => i + 1);
    for (const split of ["train", "val", "test"]) {
      const y = h[`${split}_${Runs.metric}`];
      if (y) series.push({ name: `${run} · ${App.t(split)}`, x, y, color: colorOf(run), dash: dashes[split] });
    }
  }
  document.getElementById("compare-hint").classList.toggle("hidden", Runs.selected.size > 0);
  Chart.draw(document.getElementById("curves"), series, { xlabel: App.t("epoch"), ylabel: App.t(Runs.metric), integerX: true, empty: App.t("Select runs to compare their curves.") });
}

function renderCompare() {
  renderCurves();
  const runs = [...Runs.selected].filter((r) => Runs.details[r]);
  // options: the keys whose values differ (all keys when one run is selected)
  const keys = new Set();
  runs.forEach((r) => Object.keys(Runs.details[r].options || {}).forEach((k) => keys.add(k)));
  const val = (r, k) => { const v = (Runs.details[r].options || {})[k]; return typeof v === "string" ? v : JSON.stringify(v); };
  const shown = [...keys].filter((k) => runs.length < 2 || new Set(runs.map((r) => val(r, k))).size > 1).sort();
  const diff = document.getElementById("diff");
  const head = el("tr", {}, el("th", { text: "" }), ...runs.map((r) => el("th", { text: r })));
  const rows = shown.map((k) => el("tr", {}, el("th", { text: k }), ...runs.map((r) => el("td", { text: val(r, k) ?? "–" }))));
  diff.replaceChildren(runs.length ? el("table", { class: "kv" }, head, ...rows) : "");
  if (runs.length >= 2 && !shown.length) diff.append(el("p", { class: "muted", text: "=" }));
  // metrics
  const mkeys = new Set();
  runs.forEach((r) => Object.keys(Runs.details[r].metrics || {}).forEach((k) => mkeys.add(k)));
  const mrows = [...mkeys].map((k) => el("tr", {}, el("th", { text: k }), ...runs.map((r) => el("td", { text: fmtCell(k, (Runs.details[r].metrics || {})[k]) }))));
  document.getElementById("metrics").replaceChildren(mrows.length ? el("table", { class: "kv" }, head.cloneNode(true), ...mrows) : "");
  // figures and files
  const figs = [], files = [];
  for (const r of runs) {
    for (const f of Runs.details[r].files) {
      // the modification time in the URL: a figure redrawn during the run is fetched again
      const url = `/api/file?run=${encodeURIComponent(r)}&name=${encodeURIComponent(f.name)}&v=${f.mtime || 0}`;
      if (/\.(png|svg|jpg)$/i.test(f.name)) {
        figs.push(el("figure", {}, el("a", { href: url, target: "_blank" }, el("img", { src: url, alt: `${r}/${f.name}`, loading: "lazy" })), el("figcaption", { text: `${r} / ${f.name}` })));
      } else {
        files.push(el("li", {}, el("a", { href: url, target: "_blank", text: `${r} / ${f.name}` }), ` (${(f.size / 1024).toFixed(1)} kB)`));
      }
    }
    if (Runs.details[r].summary_md) files.push(el("li", {}, el("details", {}, el("summary", { text: `${r} / ${App.t("Summary")}` }), el("pre", { text: Runs.details[r].summary_md }))));
  }
  document.getElementById("figures").replaceChildren(...figs);
  document.getElementById("files").replaceChildren(files.length ? el("ul", {}, ...files) : "");
}

async function loadRuns() {
  try {
    const data = await api("/api/runs");
    Runs.rows = data.runs; Runs.root = data.root;
  } catch (e) { showError(e.message); }
  renderRuns();
}

function connectEvents() {
  const conn = document.getElementById("conn");
  const es = new EventSource("/api/events");
  es.onopen = () => { conn.className = "conn on"; conn.dataset.t = "live"; conn.textContent = App.t("live"); };
  es.onerror = () => { conn.className = "conn off"; conn.dataset.t = "disconnected"; conn.textContent = App.t("disconnected"); };
  es.addEventListener("runs", (ev) => {
    const msg = JSON.parse(ev.data);
    const byRun = new Map(Runs.rows.map((r) => [r.run, r]));
    for (const row of msg.changed) byRun.set(row.run, row);
    for (const g of msg.gone) { byRun.delete(g); Runs.selected.delete(g); }
    Runs.rows = [...byRun.values()];
    renderRuns();
  });
  es.addEventListener("history", (ev) => {
    const msg = JSON.parse(ev.data);
    Runs.histories[msg.run] = msg.history;
    if (Runs.selected.has(msg.run)) {
      renderCurves();
      api(`/api/run?run=${encodeURIComponent(msg.run)}`).then((d) => { Runs.details[msg.run] = d; renderCompare(); }).catch(() => {});
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  document.querySelectorAll("#runs-table th[data-key]").forEach((th) => th.addEventListener("click", () => {
    if (Runs.sortKey === th.dataset.key) Runs.sortDir = -Runs.sortDir; else { Runs.sortKey = th.dataset.key; Runs.sortDir = th.dataset.key === "run" ? 1 : -1; }
    renderRuns();
  }));
  document.getElementById("filter").addEventListener("input", renderRuns);
  document.getElementById("curve-metric").addEventListener("change", (e) => { Runs.metric = e.target.value; renderCurves(); });
  const langSel = document.getElementById("lang");
  // the language: the reader's last choice here, else kisonet's (--lang, KISONET_LANG, the locale)
  let lang = null;
  try { lang = localStorage.getItem("kisonet.lang"); } catch (e) { /* private mode */ }
  langSel.addEventListener("change", () => setLang(langSel.value));
  App.onLang.push(() => { renderRuns(); renderCompare(); });
  window.addEventListener("resize", () => renderCurves());
  (lang ? Promise.resolve({ lang }) : api("/api/language")).catch(() => ({ lang: "en" })).then((r) => {
    const l = ["en", "ja"].includes(r.lang) ? r.lang : "en";
    langSel.value = l;
    setLang(l);
  });
  loadRuns().then(connectEvents);
  const tab = (location.hash || "#runs").slice(1);
  showTab(["runs", "play", "paths"].includes(tab) ? tab : "runs");
});
