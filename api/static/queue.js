// The queue: GET /cases with the filters of the server-rendered form (kept in the URL, so a
// reload or a shared link shows the same list). The API orders it: open emergencies first, then
// overdue, then by deadline.
"use strict";

(function () {
  const T = window.Triage;
  const LIMIT = 50;

  function query(params) {
    const api = new URLSearchParams();
    const status = params.has("status") ? params.get("status") : "open";
    if (status) api.set("status", status);
    for (const name of ["department", "q"]) {
      const v = (params.get(name) || "").trim();
      if (v) api.set(name, v);
    }
    for (const name of ["overdue", "abstained"]) if (params.get(name) === "true") api.set(name, "true");
    api.set("limit", String(LIMIT));
    api.set("offset", String(Math.max(parseInt(params.get("offset") || "0", 10) || 0, 0)));
    return api;
  }

  function marks(c) {
    const cell = T.el("td", { class: "marks" });
    if (T.isUrgent(c)) {
      const badge = T.badge("紧急", "urgent");
      badge.title = c.urgent.reason + "：" + T.transferText(c.urgent);
      cell.append(badge);
    }
    if (c.overdue) cell.append(T.badge("超期", "danger"));
    if (T.needsManualRouting(c)) cell.append(T.badge("待人工分派", "warn"));
    if (c.merged_into) cell.append(T.caseBadge("已并入 #" + c.merged_into, "ok", c.merged_into));
    else if (T.isDuplicate(c)) cell.append(T.duplicateBadge(c));
    if (c.returns > 0) cell.append(T.badge("退回 " + c.returns + " 次", "warn"));
    return cell;
  }

  function row(c) {
    const href = "/case/" + encodeURIComponent(c.id);
    const dept = c.department || "（未分派）";
    const state = c.department ? T.ROUTING_STATE[c.routing_state] || c.routing_state : "";
    return T.el(
      "tr",
      { class: [T.isUrgent(c) ? "urgent" : "", c.overdue ? "overdue" : ""].join(" ").trim() || null, dataset: { caseId: c.id } },
      T.el("td", {}, T.el("a", { href: href, text: "#" + c.id }), T.el("div", { class: "muted small", text: c.external_id })),
      T.el("td", { class: "title" }, T.el("a", { href: href, text: c.title || "（无标题）" })),
      T.el("td", {}, dept, state ? T.el("div", { class: "muted small", text: state }) : null),
      T.el("td", { text: T.pct(c.confidence) }),
      T.el("td", { text: T.STATUS[c.status] || c.status }),
      T.el("td", { text: T.time(c.deadline) }),
      T.el("td", { class: c.overdue ? "danger-text" : null, text: T.left(c) }),
      marks(c)
    );
  }

  async function load() {
    const params = new URLSearchParams(location.search);
    const api = query(params);
    const summary = T.byId("queue-summary");
    const body = T.clear(document.querySelector("#queue tbody"));
    let data;
    try {
      data = await T.api("GET", "/cases?" + api.toString());
    } catch (err) {
      summary.textContent = T.errorText(err);
      summary.className = "error";
      return;
    }
    for (const c of data.items) body.append(row(c));
    const from = data.total ? data.offset + 1 : 0;
    const to = data.offset + data.items.length;
    summary.className = "muted";
    summary.textContent = data.total ? "共 " + data.total + " 件，显示第 " + from + "–" + to + " 件" : "没有符合条件的案件。";
    T.byId("page-info").textContent = data.total ? "第 " + (Math.floor(data.offset / LIMIT) + 1) + " / " + Math.ceil(data.total / LIMIT) + " 页" : "";
    pager("prev-page", data.offset > 0, Math.max(data.offset - LIMIT, 0));
    pager("next-page", to < data.total, data.offset + LIMIT);
  }

  function pager(id, enabled, offset) {
    const button = T.byId(id);
    button.disabled = !enabled;
    button.onclick = function () {
      const params = new URLSearchParams(location.search);
      params.set("offset", String(offset));
      location.search = params.toString();
    };
  }

  T.pages.queue = load;
})();
