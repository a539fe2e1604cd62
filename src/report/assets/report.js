// ldmground report page: vanilla JS over window.LDMG_REPORT (data.js, written
// by `ldmground report`; layout in src/report/report_data.h). No network.
(function () {
  "use strict";
  const D = window.LDMG_REPORT;
  const $ = (id) => document.getElementById(id);
  if (!D) {
    document.body.insertAdjacentHTML("afterbegin", "<p class=\"error\">data.js is missing or broken: rerun ldmground report.</p>");
    return;
  }

  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]);
  const col = {};
  D.columns.forEach((name, i) => { col[name] = i; });
  const metricKeys = D.metrics.map((m) => m[0]);
  const metricLabel = {};
  D.metrics.forEach((m) => { metricLabel[m[0]] = m[1]; });
  // pairs.csv says cnr_abs, summary.json abs_cnr.
  const summaryKey = (k) => (k === "cnr_abs" ? "abs_cnr" : k);
  const fmt = (v, digits) => (v == null || !isFinite(v) ? "–" : Number(v).toFixed(digits == null ? 3 : digits));
  const sourceLabel = (id) => D.sources[id].label;

  function option(value, text, selected) {
    return "<option value=\"" + esc(value) + "\"" + (selected ? " selected" : "") + ">" + esc(text) + "</option>";
  }

  // ---------- header ----------
  function renderHeader() {
    $("title").textContent = D.title;
    document.title = D.title;
    const r = D.run;
    const b = $("run-status");
    let text = r.dir + ": " + r.units + " units (" + r.pairs + " pairs x " + r.Ts.length + " T), " + r.done + " done, " +
      r.failed + " failed, " + r.pending + " pending.";
    if (!r.complete) {
      text = "RUN IN PROGRESS (or stopped): this report shows the " + (r.done + r.failed) + " of " + r.units +
        " units recorded so far; summaries marked partial. " + text;
      b.classList.add("partial");
    }
    b.textContent = text;
    $("failure-count").textContent = D.failures.length ? "(" + D.failures.length + ")" : "";
  }

  // ---------- summary ----------
  function cell(m) {
    if (!m || m.mean == null) return "<td class=\"num\">–</td>";
    const ci = m.ci95 && m.ci95[0] != null ? "<span class=\"ci\">[" + fmt(m.ci95[0]) + ", " + fmt(m.ci95[1]) + "]</span>" : "";
    return "<td class=\"num\">" + fmt(m.mean) + " ± " + fmt(m.std) + ci + "</td>";
  }
  function sourceHead(s) {
    const p = s.summary.pairs || {};
    return esc(s.label) + (s.partial ? " <em>(partial)</em>" : "") + "<span class=\"ci\">" + esc(s.kind) + ", n=" +
      (p.scored == null ? "?" : p.scored) + " scored</span>";
  }
  function renderCompare() {
    const metric = $("compare-metric").value;
    const key = summaryKey(metric);
    let h = "<thead><tr><th>Pathology</th>";
    D.sources.forEach((s) => { h += "<th>" + sourceHead(s) + "</th>"; });
    h += "</tr></thead><tbody>";
    D.categories.forEach((cat) => {
      h += "<tr><th>" + esc(cat) + "</th>";
      D.sources.forEach((s) => {
        const c = (s.summary.categories || []).find((x) => x.name === cat);
        h += c ? cell(c[key]).replace("<td class=\"num\">", "<td class=\"num\" title=\"n=" + c.n + "\">") : "<td class=\"num\">–</td>";
      });
      h += "</tr>";
    });
    h += "<tr><th>Average</th>";
    D.sources.forEach((s) => { h += cell((s.summary.average || {})[key]); });
    h += "</tr></tbody>";
    $("compare-table").innerHTML = h;
  }
  function renderSourceTables() {
    let h = "";
    D.sources.forEach((s) => {
      h += "<details><summary>" + sourceHead(s).replace(/<span class="ci">/, " <span class=\"note\">") + "</summary>";
      h += "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th>Pathology</th><th>N</th>";
      metricKeys.forEach((k) => { h += "<th>" + esc(metricLabel[k]) + "</th>"; });
      h += "</tr></thead><tbody>";
      (s.summary.categories || []).forEach((c) => {
        h += "<tr><th>" + esc(c.name) + "</th><td class=\"num\">" + c.n + "</td>";
        metricKeys.forEach((k) => { h += cell(c[summaryKey(k)]); });
        h += "</tr>";
      });
      h += "<tr><th>Average</th><td></td>";
      metricKeys.forEach((k) => { h += cell((s.summary.average || {})[summaryKey(k)]); });
      h += "</tr></tbody></table></div>";
      if (s.dir) h += "<p class=\"note\">" + esc(s.dir) + "</p>";
      h += "</details>";
    });
    $("source-tables").innerHTML = h;
  }

  // ---------- pairs table ----------
  const tableCols = [
    { key: "thumb", label: "", sortable: false },
    { key: "pair", label: "pair", num: true },
    { key: "source", label: "scoring" },
    { key: "category", label: "category" },
    { key: "prompt", label: "prompt" },
    { key: "tokens", label: "tokens" },
    { key: "status", label: "status" },
  ].concat(D.metrics.map((m) => ({ key: m[0], label: m[1], num: true })))
    .concat([{ key: "otsu", label: "Otsu thr.", num: true }]);
  const state = { sortKey: "pair", sortDir: 1, page: 0, view: [] };

  function sortValue(row, key) {
    if (key === "source") return sourceLabel(row[col.source]);
    return row[col[key]];
  }
  function applyFilters() {
    const src = $("filter-source").value, cat = $("filter-category").value, st = $("filter-status").value;
    const text = $("filter-text").value.trim().toLowerCase();
    const out = [];
    for (let i = 0; i < D.rows.length; i++) {
      const r = D.rows[i];
      if (src !== "" && String(r[col.source]) !== src) continue;
      if (cat !== "" && r[col.category] !== cat) continue;
      if (st !== "" && r[col.status] !== st) continue;
      if (text) {
        const hay = ((r[col.prompt] || "") + " " + (r[col.tokens] || "") + " " + (r[col.dicom_id] || "")).toLowerCase();
        if (hay.indexOf(text) < 0) continue;
      }
      out.push(i);
    }
    const key = state.sortKey, dir = state.sortDir;
    const num = tableCols.find((c) => c.key === key).num;
    out.sort((a, b) => {
      const va = sortValue(D.rows[a], key), vb = sortValue(D.rows[b], key);
      const na = va == null || (num && !isFinite(va)), nb = vb == null || (num && !isFinite(vb));
      if (na !== nb) return na ? 1 : -1;  // missing values last, either direction
      if (!na && va !== vb) return (num ? va - vb : String(va).localeCompare(String(vb))) * dir;
      return a - b;
    });
    state.view = out;
  }
  function rowHtml(i) {
    const r = D.rows[i];
    const st = r[col.status];
    let h = "<tr data-row=\"" + i + "\" data-pair=\"" + r[col.pair] + "\" data-category=\"" + esc(r[col.category]) + "\">";
    h += "<td class=\"thumb\">";
    if (r[col.thumb]) {
      h += "<a class=\"overlay-link\" href=\"" + esc(r[col.overlay]) + "\" data-row=\"" + i + "\"><img loading=\"lazy\" src=\"" +
        esc(r[col.thumb]) + "\" alt=\"pair " + r[col.pair] + "\"></a>";
    }
    h += "</td><td class=\"num\">" + r[col.pair] + "</td><td>" + esc(sourceLabel(r[col.source])) + "</td><td>" +
      esc(r[col.category]) + "</td><td class=\"prompt\">" + esc(r[col.prompt]) + "</td><td class=\"tokens\">" +
      esc(r[col.tokens]) + "</td><td class=\"status-" + st + "\">" + st +
      (r[col.error] ? "<div class=\"error\">" + esc(r[col.error]) + "</div>" : "") + "</td>";
    metricKeys.forEach((k) => { h += "<td class=\"num\" data-metric=\"" + k + "\">" + fmt(r[col[k]]) + "</td>"; });
    h += "<td class=\"num\">" + fmt(r[col.otsu]) + "</td></tr>";
    return h;
  }
  function renderPage() {
    const size = Number($("page-size").value);
    const n = state.view.length;
    const pages = size > 0 ? Math.max(1, Math.ceil(n / size)) : 1;
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    const from = size > 0 ? state.page * size : 0, to = size > 0 ? Math.min(n, from + size) : n;
    const parts = [];
    for (let k = from; k < to; k++) parts.push(rowHtml(state.view[k]));
    $("pairs-body").innerHTML = parts.join("");
    $("pairs-count").textContent = n + " of " + D.rows.length + " rows";
    $("page-label").textContent = " page " + (state.page + 1) + " of " + pages + " ";
    $("page-prev").disabled = state.page === 0;
    $("page-next").disabled = state.page >= pages - 1;
  }
  function renderHead() {
    $("pairs-head").innerHTML = tableCols.map((c) => {
      const sort = c.key === state.sortKey ? (state.sortDir > 0 ? "ascending" : "descending") : "none";
      return c.sortable === false ? "<th></th>" :
        "<th class=\"sortable\" data-key=\"" + c.key + "\" aria-sort=\"" + sort + "\">" + esc(c.label) + "</th>";
    }).join("");
  }
  function refresh(resetPage) {
    if (resetPage) state.page = 0;
    applyFilters();
    renderHead();
    renderPage();
  }
  function setupPairs() {
    $("filter-source").innerHTML = option("", "all (" + D.sources.length + ")", false) +
      D.sources.map((s) => option(s.id, s.label, false)).join("");
    $("filter-category").innerHTML = option("", "all", true) + D.categories.map((c) => option(c, c, false)).join("");
    ["filter-source", "filter-category", "filter-status", "page-size"].forEach((id) =>
      $(id).addEventListener("change", () => refresh(true)));
    $("filter-text").addEventListener("input", () => refresh(true));
    $("page-prev").addEventListener("click", () => { state.page--; renderPage(); });
    $("page-next").addEventListener("click", () => { state.page++; renderPage(); });
    $("pairs-head").addEventListener("click", (e) => {
      const th = e.target.closest("th.sortable");
      if (!th) return;
      const key = th.dataset.key;
      if (state.sortKey === key) state.sortDir = -state.sortDir;
      else { state.sortKey = key; state.sortDir = tableCols.find((c) => c.key === key).num ? -1 : 1; }
      refresh(true);
    });
    $("pairs-body").addEventListener("click", (e) => {
      const a = e.target.closest("a.overlay-link");
      if (!a) return;
      e.preventDefault();
      openViewer(Number(a.dataset.row));
    });
    refresh(true);
  }

  // ---------- overlay viewer ----------
  function openViewer(i) {
    const r = D.rows[i];
    let h = "<img src=\"" + esc(r[col.overlay]) + "\" alt=\"overlay of pair " + r[col.pair] + "\">";
    h += "<p><b>pair " + r[col.pair] + "</b> · " + esc(r[col.category]) + " · " + esc(sourceLabel(r[col.source])) + "</p>";
    h += "<p>" + esc(r[col.prompt]) + "</p><p class=\"tokens\">tokens: " + esc(r[col.tokens]) + "</p><p>";
    h += D.metrics.map((m) => esc(m[1]) + " " + fmt(r[col[m[0]]])).join(" · ") + " · Otsu threshold " + fmt(r[col.otsu]);
    h += "</p><p class=\"note\">Heatmap (jet) over the X-ray, ground-truth boxes in green, Otsu region outlined in white. " +
      "<a href=\"" + esc(r[col.overlay]) + "\" target=\"_blank\">open the PNG</a></p>";
    $("viewer-body").innerHTML = h;
    $("viewer").hidden = false;
  }
  function setupViewer() {
    const close = () => { $("viewer").hidden = true; $("viewer-body").innerHTML = ""; };
    $("viewer-close").addEventListener("click", close);
    $("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) close(); });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  }

  // ---------- distributions ----------
  function quantile(sorted, q) {
    const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
  function renderDistributions() {
    const src = Number($("dist-source").value);
    const byCat = {};
    D.categories.forEach((c) => { byCat[c] = []; });
    D.rows.forEach((r) => {
      if (r[col.source] === src && r[col.status] === "ok" && byCat[r[col.category]]) byCat[r[col.category]].push(r);
    });
    const W = 640, left = 150, right = 20, rowH = 22, top = 20;
    let h = "";
    metricKeys.forEach((k) => {
      const vals = [];
      D.categories.forEach((c) => byCat[c].forEach((r) => { if (r[col[k]] != null) vals.push(r[col[k]]); }));
      if (!vals.length) return;
      let lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
      if (hi === lo) { lo -= 0.5; hi += 0.5; }
      const x = (v) => left + (v - lo) / (hi - lo) * (W - left - right);
      const H = top + rowH * D.categories.length + 10;
      let s = "<svg class=\"dist\" width=\"" + W + "\" height=\"" + H + "\" role=\"img\" aria-label=\"" + esc(metricLabel[k]) + "\">";
      s += "<text x=\"" + left + "\" y=\"12\">" + esc(metricLabel[k]) + ": " + fmt(lo) + " … " + fmt(hi) + "</text>";
      D.categories.forEach((c, ci) => {
        const y = top + ci * rowH + rowH / 2;
        const v = byCat[c].map((r) => r[col[k]]).filter((t) => t != null).sort((a, b) => a - b);
        s += "<text x=\"4\" y=\"" + (y + 4) + "\">" + esc(c) + " (" + v.length + ")</text>";
        s += "<line x1=\"" + left + "\" x2=\"" + (W - right) + "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"#eee\"/>";
        if (!v.length) return;
        const q1 = quantile(v, 0.25), q2 = quantile(v, 0.5), q3 = quantile(v, 0.75);
        s += "<rect x=\"" + x(q1) + "\" y=\"" + (y - 7) + "\" width=\"" + Math.max(1, x(q3) - x(q1)) +
          "\" height=\"14\" fill=\"#cfe0fb\" stroke=\"#1f6feb\"/>";
        s += "<line x1=\"" + x(q2) + "\" x2=\"" + x(q2) + "\" y1=\"" + (y - 8) + "\" y2=\"" + (y + 8) + "\" stroke=\"#0b3d91\" stroke-width=\"2\"/>";
        v.forEach((t, j) => {
          s += "<circle cx=\"" + x(t).toFixed(1) + "\" cy=\"" + (y + ((j % 5) - 2) * 1.5).toFixed(1) +
            "\" r=\"2\" fill=\"#cf222e\" fill-opacity=\"0.6\"/>";
        });
      });
      h += s + "</svg>";
    });
    $("dist-plots").innerHTML = h || "<p class=\"note\">No scored pairs in this scoring.</p>";
  }
  function setupDistributions() {
    $("dist-source").innerHTML = D.sources.map((s, i) => option(s.id, s.label, i === 0)).join("");
    $("dist-source").addEventListener("change", renderDistributions);
    renderDistributions();
  }

  // ---------- analysis: search, tables, figures ----------
  function keyValueTable(obj) {
    let h = "<table class=\"grid\"><tbody>";
    Object.keys(obj).forEach((k) => {
      const v = obj[k];
      h += "<tr><th>" + esc(k) + "</th><td>" + (v !== null && typeof v === "object" ? "<code>" + esc(JSON.stringify(v)) + "</code>" : esc(v)) + "</td></tr>";
    });
    return h + "</tbody></table>";
  }
  function renderAnalysis() {
    let h = "";
    D.search.forEach((s) => {
      h += "<h3>search: " + esc(s.dir) + "</h3>";
      const res = s.result || {};
      const per = Array.isArray(res.categories) ? res.categories : [];
      const score = (x) => (x && x.score != null ? fmt(x.score, 4) : "–");
      if (per.length) {
        h += "<p class=\"note\">metric " + esc(res.metric) + ", T=" + esc(res.T) + ", " + esc(res.folds) + "-fold CV, " +
          esc(res.configs_evaluated) + " configs</p><div class=\"scroll\"><table class=\"grid\"><thead><tr><th>pathology</th>" +
          "<th>n</th><th>paper default</th><th>in-sample best</th><th>config</th><th>CV score</th><th>fold choices</th></tr></thead><tbody>";
        per.forEach((p) => {
          h += "<tr><th>" + esc(p.category) + "</th><td class=\"num\">" + esc(p.n) + "</td><td class=\"num\">" +
            fmt(p.paper_default, 4) + "</td><td class=\"num\">" + score(p.in_sample_best) + "</td><td><code>" +
            esc((p.in_sample_best || {}).config) + "</code></td><td class=\"num\">" + score(p.cv) + "</td><td class=\"tokens\">" +
            esc(((p.cv || {}).fold_choices || []).join(", ")) + "</td></tr>";
        });
        const a = res.average || {};
        h += "<tr><th>Average</th><td></td><td class=\"num\">" + fmt(a.paper_default, 4) + "</td><td class=\"num\">" +
          fmt(a.in_sample_best, 4) + "</td><td></td><td class=\"num\">" + fmt(a.cv, 4) + "</td><td></td></tr></tbody></table></div>";
      }
      h += "<details><summary>search.json</summary><pre>" + esc(JSON.stringify(res, null, 1)) + "</pre></details>";
    });
    $("search-results").innerHTML = h;
    $("paper-tables").innerHTML = D.tables.map((t) => "<h3>tables: " + esc(t.dir) + "</h3><pre>" + esc(t.markdown) + "</pre>").join("");
    $("figures").innerHTML = D.figures.map((f) => "<figure><a href=\"" + esc(f.src) + "\" target=\"_blank\"><img loading=\"lazy\" src=\"" +
      esc(f.src) + "\" alt=\"" + esc(f.title) + "\"></a><figcaption>" + esc(f.title) + " — " + esc(f.from) + "</figcaption></figure>").join("");
    $("analysis-empty").hidden = D.search.length + D.tables.length + D.figures.length > 0;
  }

  // ---------- provenance, failures ----------
  function renderProvenance() {
    const p = D.provenance;
    let h = "<table class=\"grid\"><tbody><tr><th>ldmground version</th><td>" + esc(p.version) + "</td></tr>" +
      "<tr><th>model digest</th><td><code>" + esc(p.model_digest) + "</code></td></tr>" +
      "<tr><th>inversion</th><td><code>" + esc(p.settings.inversion) + "</code></td></tr>" +
      "<tr><th>outputs</th><td><code>" + esc(p.settings.outputs) + "</code></td></tr></tbody></table>";
    if (Object.keys(p.files || {}).length) h += "<h3>Model files (SHA-256)</h3>" + keyValueTable(p.files);
    h += "<h3>Job (job.ini)</h3>" + keyValueTable(p.job);
    if (p.runs.length) {
      h += "<h3>Invocations (runs.jsonl)</h3><pre>" + esc(p.runs.map((r) => JSON.stringify(r)).join("\n")) + "</pre>";
    }
    $("provenance-body").innerHTML = h;
  }
  function renderFailures() {
    if (!D.failures.length) {
      $("failures-body").innerHTML = "<p class=\"note\">No failed units.</p>";
      return;
    }
    $("failures-body").innerHTML = "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th>unit</th><th>T</th><th>image</th>" +
      "<th>pairs</th><th>error</th><th>rank</th><th>time</th></tr></thead><tbody>" + D.failures.map((f) =>
        "<tr><td><code>" + esc(f.unit) + "</code></td><td class=\"num\">" + f.T + "</td><td>" + esc(f.path) + "</td><td>" +
        esc(f.pairs.join(", ")) + "</td><td class=\"error\">" + esc(f.error) + "</td><td class=\"num\">" + f.rank +
        "</td><td>" + esc(f.time) + "</td></tr>").join("") + "</tbody></table></div>";
  }

  renderHeader();
  $("compare-metric").innerHTML = D.metrics.map((m, i) => option(m[0], m[1], i === 0)).join("");
  $("compare-metric").addEventListener("change", renderCompare);
  renderCompare();
  renderSourceTables();
  setupViewer();
  setupPairs();
  setupDistributions();
  renderAnalysis();
  renderProvenance();
  renderFailures();
  // Load-time marker for the browser test and the benchmark.
  window.LDMG_READY_MS = performance.now();
  document.documentElement.dataset.ready = "1";
})();
