// Two small inline-SVG charts for the supervisor view: horizontal bars (one row per department,
// long Chinese names fit on the left) and a column sparkline (a topic's daily counts).
// No chart library: a few dozen rectangles do not earn a download, and every label is set
// through textContent like the rest of the page.
"use strict";

(function () {
  const T = (window.Triage = window.Triage || {});
  const NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // rows: [{label, value, part?, text?}]; value null draws no bar and shows "—".
  // `part` (≤ value) is drawn over the bar in the highlight colour (e.g. the overdue share).
  function bars(container, rows, options) {
    const opts = Object.assign({ max: null, labelWidth: 120, width: 560, row: 26, partTitle: "" }, options || {});
    const values = rows.map((r) => (typeof r.value === "number" ? r.value : 0));
    const max = opts.max || Math.max(1, ...values);
    const plot = opts.width - opts.labelWidth - 70;
    const height = Math.max(rows.length, 1) * opts.row + 6;
    const chart = svg("svg", {
      viewBox: "0 0 " + opts.width + " " + height,
      width: "100%",
      role: "img",
      "aria-label": opts.title || "",
      class: "bars",
    });
    rows.forEach(function (r, i) {
      const y = i * opts.row + 4;
      const mid = y + opts.row / 2;
      chart.append(svg("text", { x: opts.labelWidth - 8, y: mid, class: "label", "text-anchor": "end", "dominant-baseline": "middle" }, r.label));
      const has = typeof r.value === "number";
      const w = has ? Math.max((r.value / max) * plot, r.value > 0 ? 2 : 0) : 0;
      const bar = svg("rect", { x: opts.labelWidth, y: y + 3, width: w.toFixed(1), height: opts.row - 8, class: "bar" });
      bar.append(svg("title", {}, r.label + "：" + (r.text !== undefined ? r.text : r.value)));
      chart.append(bar);
      if (has && typeof r.part === "number" && r.part > 0) {
        const pw = Math.max((r.part / max) * plot, 2);
        const part = svg("rect", { x: opts.labelWidth, y: y + 3, width: pw.toFixed(1), height: opts.row - 8, class: "bar-part" });
        part.append(svg("title", {}, r.label + "：" + opts.partTitle + " " + r.part));
        chart.append(part);
      }
      const shown = has ? (r.text !== undefined ? r.text : String(r.value)) : "—";
      chart.append(svg("text", { x: opts.labelWidth + w + 6, y: mid, class: "value", "dominant-baseline": "middle" }, shown));
    });
    T.clear(container).append(chart);
    return chart;
  }

  // counts: [{date, count}] in time order; one column a day, zero days as a baseline tick.
  function sparkline(container, counts, options) {
    const opts = Object.assign({ width: 160, height: 36 }, options || {});
    const n = Math.max(counts.length, 1);
    const max = Math.max(1, ...counts.map((c) => c.count));
    const step = opts.width / n;
    const chart = svg("svg", { viewBox: "0 0 " + opts.width + " " + opts.height, width: opts.width, height: opts.height, class: "spark", role: "img" });
    chart.append(svg("line", { x1: 0, y1: opts.height - 0.5, x2: opts.width, y2: opts.height - 0.5, class: "axis" }));
    counts.forEach(function (c, i) {
      const h = (c.count / max) * (opts.height - 4);
      const col = svg("rect", { x: (i * step + step * 0.1).toFixed(1), y: (opts.height - h).toFixed(1), width: Math.max(step * 0.8, 1).toFixed(1), height: h.toFixed(1), class: "bar" });
      col.append(svg("title", {}, c.date + "：" + c.count + " 件"));
      chart.append(col);
    });
    if (counts.length) {
      chart.setAttribute("aria-label", counts[0].date + " 至 " + counts[counts.length - 1].date + " 每日件数");
    }
    T.clear(container).append(chart);
    return chart;
  }

  T.charts = { bars: bars, sparkline: sparkline };
})();
