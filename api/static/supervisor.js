// The supervisor view: GET /stats as a table and three bar charts, and the hot topics of
// GET /topics with a sparkline of each topic's daily counts (when that endpoint is there).
"use strict";

(function () {
  const T = window.Triage;
  const $ = T.byId;

  function num(x, digits) {
    return x === null || x === undefined ? "—" : digits ? Number(x).toFixed(digits) : String(x);
  }

  function statsRow(r, tag) {
    const cell = (text, cls) => T.el(tag, { class: cls || null, text: text });
    return T.el(
      "tr",
      { dataset: { department: r.department } },
      cell(r.department, "name"),
      cell(num(r.volume)),
      cell(num(r.overdue), r.overdue > 0 ? "danger-text" : null),
      cell(num(r.closed)),
      cell(num(r.replied_late)),
      cell(num(r.median_hours_to_reply, 1)),
      cell(T.pct(r.unchanged_share)),
      cell(T.pct(r.draft_retention)),
      cell(T.pct(r.revise_share))
    );
  }

  async function loadStats() {
    let data;
    try {
      data = await T.api("GET", "/stats");
    } catch (err) {
      $("stats-at").textContent = T.errorText(err);
      $("stats-at").className = "error";
      return;
    }
    const rows = data.departments || [];
    $("stats-at").className = "muted";
    $("stats-at").textContent = "统计时间 " + T.time(data.at) + "，共 " + rows.length + " 个部门";
    const body = T.clear(document.querySelector("#stats tbody"));
    for (const r of rows) body.append(statsRow(r, "td"));
    if (!rows.length) body.append(T.el("tr", {}, T.el("td", { colspan: 8, class: "muted", text: "还没有案件。" })));
    // The server's own rows: cases nobody has routed yet, and the total of every case, so that
    // the column sums and the case count always agree.
    const foot = T.clear(document.querySelector("#stats tfoot"));
    if (data.unassigned) foot.append(statsRow(Object.assign({}, data.unassigned, { department: "待分派" }), "th"));
    if (data.total && data.total.volume) foot.append(statsRow(Object.assign({}, data.total, { department: "合计" }), "th"));

    T.charts.bars(
      $("chart-volume"),
      rows.map((r) => ({ label: r.department, value: r.volume, part: r.overdue, text: r.volume + (r.overdue ? "（超期 " + r.overdue + "）" : "") })),
      { title: "各部门案件量，深色为未办结超期", partTitle: "超期" }
    );
    T.charts.bars(
      $("chart-unchanged"),
      rows.map((r) => ({ label: r.department, value: r.unchanged_share, text: T.pct(r.unchanged_share) })),
      { title: "各部门建议未改比例", max: 1 }
    );
    T.charts.bars(
      $("chart-hours"),
      rows.map((r) => ({ label: r.department, value: r.median_hours_to_reply, text: num(r.median_hours_to_reply, 1) })),
      { title: "各部门办理时长中位数（小时）" }
    );
  }

  async function loadTopics() {
    const note = $("topics-note");
    const list = T.clear($("topics"));
    let data;
    try {
      data = await T.api("GET", "/topics?limit=10");
    } catch (err) {
      note.textContent = err.status === 404 ? "热点问题功能尚未启用。" : "热点问题暂不可用：" + T.errorText(err);
      return;
    }
    const topics = data.topics || [];
    note.textContent = topics.length ? "按热度排序，共 " + data.total + " 个热点" : "近期没有形成热点的问题。";
    for (const t of topics) {
      const spark = T.el("div", { class: "spark-box" });
      list.append(
        T.el(
          "li",
          { class: "topic" },
          T.el("div", { class: "topic-title" }, T.el("strong", { text: t.title }), t.place ? T.el("span", { class: "muted", text: " · " + t.place }) : null),
          T.el("div", { class: "muted small", text: t.count + " 件 · 热度 " + Number(t.heat).toFixed(1) + " · 近7天" + (t.growth >= 0 ? "增加 " : "减少 ") + Math.abs(t.growth) + " 件 · " + T.time(t.first_time) + " 至 " + T.time(t.last_time) }),
          spark
        )
      );
      T.charts.sparkline(spark, t.daily || []);
    }
  }

  async function loadFlagged() {
    const note = $("flagged-note");
    const body = T.clear(document.querySelector("#flagged tbody"));
    let data;
    try {
      data = await T.api("GET", "/stats/flagged-replies?limit=50");
    } catch (err) {
      note.textContent = "暂不可用：" + T.errorText(err);
      return;
    }
    const items = data.items || [];
    note.textContent = items.length ? "共 " + data.total + " 条，显示最新 " + items.length + " 条" : "没有带问题发送的答复。";
    for (const r of items) {
      const link = T.el("a", { href: "/case/" + encodeURIComponent(r.case_id), text: "#" + r.case_id + " " + (r.title || "") });
      body.append(
        T.el(
          "tr",
          { dataset: { caseId: String(r.case_id) } },
          T.el("td", {}, link),
          T.el("td", { text: r.department || "—" }),
          T.el("td", { text: (r.flags || []).map((c) => T.FLAG[c] || c).join("、") + (r.score !== null && r.score !== undefined ? "（" + r.score + " 分）" : "") }),
          T.el("td", { class: "reason", text: r.reason || "" }),
          T.el("td", { text: r.actor || "—" }),
          T.el("td", { text: T.time(r.at) })
        )
      );
    }
  }

  T.pages.supervisor = function () {
    loadStats();
    loadFlagged();
    loadTopics();
  };
})();
