// One case: the petition, the routing suggestion with its reasons, the draft with its sources,
// the reply editor with the quality check as the clerk types, the deadline and the history.
//
// Every change goes through the JSON API with the version of the case this page last read, so a
// change someone else made meanwhile is refused (409) instead of silently overwritten; after
// each change the page reads the case again.
"use strict";

(function () {
  const T = window.Triage;
  const CHECK_DELAY_MS = 400;
  const SLOT = /【[^】]*】/g; // the drafter marks what only staff can fill with 【…】

  let current = null; // the case as last read
  let edited = false; // has the clerk typed since the page filled the editor?
  let checkSeq = 0; // only the newest quality check may update the panel

  const $ = T.byId;

  // -- reading ----------------------------------------------------------------------------------

  async function load() {
    const id = document.body.dataset.caseId;
    try {
      current = await T.api("GET", "/cases/" + encodeURIComponent(id));
    } catch (err) {
      if (err.status === 401) return;
      const box = $("case-error");
      box.textContent = err.status === 404 ? "没有编号为 " + id + " 的案件。" : T.errorText(err);
      box.hidden = false;
      $("case").hidden = true;
      return;
    }
    render(current);
  }

  function render(c) {
    $("case-error").hidden = true;
    $("case").hidden = false;
    document.title = "案件 #" + c.id + " · 留言办理";
    $("case-title").textContent = "#" + c.id + " " + (c.title || "（无标题）");
    renderBadges(c);
    renderPetition(c);
    renderDeadline(c);
    renderRouting(c);
    renderDraft(c);
    renderEditor(c);
    renderHistory(c);
    for (const section of T.caseSections || []) section(c); // case_platform.js: 补充, contact
  }

  function renderBadges(c) {
    const box = T.clear($("case-badges"));
    box.append(T.badge(T.STATUS[c.status] || c.status, c.status === "closed" ? "ok" : ""));
    if (c.overdue) box.append(T.badge("超期", "danger"));
    if (T.needsManualRouting(c)) box.append(T.badge("待人工分派", "warn"));
    if (T.isDuplicate(c)) box.append(T.badge("可能重复", "info"));
    if (c.returns > 0) box.append(T.badge("退回 " + c.returns + " 次", "warn"));
  }

  function renderPetition(c) {
    const meta = T.clear($("petition-meta"));
    const rows = [
      ["平台编号", c.external_id],
      ["渠道", c.channel],
      ["区县", c.district],
      ["诉求类型", c.request_type],
      ["收到时间", T.time(c.received_at)],
    ];
    for (const [name, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      meta.append(T.el("dt", { text: name }), T.el("dd", { text: value }));
    }
    $("petition-body").textContent = c.body || "（无内容）";
  }

  function renderDeadline(c) {
    const text = $("deadline-text");
    const fill = $("deadline-fill");
    const received = Date.parse(c.received_at);
    const due = Date.parse(c.deadline);
    if (c.status === "closed") {
      const late = c.closed_at && Date.parse(c.closed_at) > due;
      text.textContent = "期限 " + T.time(c.deadline) + "；已于 " + T.time(c.closed_at) + " 办结" + (late ? "（逾期）" : "（按期）");
      fill.style.width = "100%";
      fill.className = "bar-fill " + (late ? "danger" : "ok");
      return;
    }
    text.textContent = "期限 " + T.time(c.deadline) + "，" + T.left(c);
    text.className = c.overdue ? "danger-text" : "";
    const used = due > received ? (Date.now() - received) / (due - received) : 1;
    fill.style.width = Math.round(Math.min(Math.max(used, 0), 1) * 100) + "%";
    fill.className = "bar-fill " + (c.overdue ? "danger" : used > 0.75 ? "warn" : "ok");
  }

  function renderRouting(c) {
    const r = c.routing || {};
    const line = T.clear($("routing-suggestion"));
    const suggested = r.suggested_department || r.label;
    if (suggested) {
      line.append("模型建议：", T.el("strong", { text: suggested }), "（置信度 " + T.pct(r.confidence) + "）");
    } else {
      line.append("模型没有给出建议。");
    }
    if (r.state === "accepted" && c.department) line.append(T.el("div", { text: "已接受，由 " + c.department + " 办理" }));
    if (r.state === "overridden" && c.department) line.append(T.el("div", { class: "warn-text", text: "已改派到 " + c.department }));
    if (r.departments && r.departments.assist && r.departments.assist.length) {
      line.append(T.el("div", { class: "muted", text: "协办：" + r.departments.assist.join("、") }));
    }
    if (r.out_of_scope) line.append(T.el("div", { class: "warn-text", text: "不属受理范围：" + describeOutOfScope(r.out_of_scope) }));
    for (const back of r.returned_by || []) {
      line.append(T.el("div", { class: "warn-text", text: back.department + " 于 " + T.time(back.at) + " 退回：" + back.reason }));
    }
    if (r.model_version) line.append(T.el("div", { class: "muted small", text: "模型版本 " + r.model_version }));
    $("routing-manual").hidden = !T.needsManualRouting(c);

    const topk = T.clear($("routing-topk"));
    for (const k of r.top_k || []) topk.append(T.el("li", {}, T.el("span", { text: k.label }), " ", T.el("span", { class: "muted", text: T.pct(k.probability) })));
    if (!topk.firstChild) topk.append(T.el("li", { class: "muted", text: "—" }));

    const terms = T.clear($("routing-terms"));
    for (const t of r.reasons || []) terms.append(T.el("li", { class: "chip", title: "权重 " + t.weight, text: t.term }));
    if (!terms.firstChild) terms.append(T.el("li", { class: "muted", text: "没有可显示的关键词" }));

    const similar = T.clear($("routing-similar"));
    for (const s of (c.draft && c.draft.sources) || []) {
      if (s.kind !== "history") continue;
      similar.append(T.el("li", {}, T.el("span", { class: "tag", text: "历史案件 " + s.id }), " 由 ", T.el("strong", { text: s.department || "—" }), " 办理（匹配分 " + Number(s.score).toFixed(2) + "）"));
    }
    if (!similar.firstChild) similar.append(T.el("li", { class: "muted", text: "没有找到足够相似的历史案件" }));

    const open = c.status !== "closed";
    $("routing-actions").hidden = !open;
    $("accept-routing").hidden = !(open && c.department && r.state === "suggested" && c.status !== "returned");
    $("return-box").hidden = !(open && c.department && c.status !== "returned");
    const list = T.clear($("department-list"));
    for (const option of $("departments-data").content.querySelectorAll("option")) {
      list.append(T.el("option", { value: option.value }));
    }
  }

  function describeOutOfScope(o) {
    if (typeof o === "string") return o;
    return [o.category, o.reason, o.matched].filter(Boolean).join("，") || JSON.stringify(o);
  }

  function renderDraft(c) {
    const d = c.draft || { text: "", sources: [] };
    const tier = $("draft-tier");
    tier.textContent = d.tier === "suggest" ? "有参考，请核对" : d.tier === "escalate" ? "无合适参考，需人工撰写" : "";
    tier.hidden = !d.tier;
    $("draft-text").textContent = d.text || "（没有草稿）";
    $("use-draft").hidden = !d.text || c.status === "closed";
    const list = T.clear($("draft-sources"));
    for (const s of d.sources || []) {
      list.append(
        T.el(
          "li",
          { class: "source " + s.kind },
          T.el("span", { class: "tag " + s.kind, text: T.SOURCE_KIND[s.kind] || s.kind }),
          " ",
          T.el("span", { text: (s.department || "") + " · " + s.id + " · 匹配分 " + Number(s.score).toFixed(2) }),
          T.el("blockquote", { text: s.text })
        )
      );
    }
    if (!list.firstChild) list.append(T.el("li", { class: "muted", text: "没有引用来源" }));
  }

  function renderEditor(c) {
    const editor = $("reply-text");
    const closed = c.status === "closed";
    if (!edited || closed) {
      const latest = c.latest_reply;
      editor.value = closed && c.reply ? c.reply.text : latest && latest.kind !== "final" ? latest.text : (c.draft && c.draft.text) || "";
    }
    editor.readOnly = closed;
    $("save-draft").hidden = closed;
    $("send-reply").hidden = closed;
    $("refused").hidden = true;
    const final = $("final-reply");
    final.hidden = !(closed && c.reply);
    if (closed && c.reply) {
      $("final-text").textContent = c.reply.text;
      const reason = c.reply.confirm_reason ? "；确认发送理由：" + c.reply.confirm_reason : "";
      $("final-meta").textContent = "发送于 " + T.time(c.reply.at) + "，经办 " + (c.reply.actor || "—") + reason;
      $("editor-panel").classList.add("closed");
    }
    scheduleCheck();
  }

  // -- history ----------------------------------------------------------------------------------

  const EVENT = {
    created: "案件登记",
    routing_suggested: "模型建议分派",
    draft_suggested: "生成答复草稿",
    routing_accepted: "接受分派",
    routing_overridden: "改派",
    returned: "退单",
    draft_saved: "保存草稿",
    reply_refused: "发送被质量检查拦下",
    reply_sent: "答复已发送",
    supplement_added: "收到群众补充",
  };

  function flagNames(codes) {
    return (codes || []).map((code) => T.FLAG[code] || code).join("、");
  }

  function eventDetail(e) {
    const d = e.data || {};
    switch (e.kind) {
      case "created":
        return d.channel ? "渠道 " + d.channel : "";
      case "routing_suggested":
        return (d.department || "无建议") + (d.confidence !== null && d.confidence !== undefined ? "（置信度 " + T.pct(d.confidence) + "）" : "") + (d.abstain ? "，需人工分派" : "");
      case "draft_suggested":
        return (d.tier === "suggest" ? "有参考" : "需人工撰写") + "，来源 " + (d.sources || 0) + " 条";
      case "routing_accepted":
        return (d.department || "") + (d.implicit ? "（发送答复时默认接受）" : "");
      case "routing_overridden":
        return (d.previous || "无") + " → " + d.department + "；理由：" + (d.reason || "");
      case "returned":
        return d.department + " 退回；理由：" + d.reason;
      case "supplement_added":
        return "补充 " + (d.chars || 0) + " 字（见“补充”）";
      case "draft_saved":
      case "reply_refused":
      case "reply_sent": {
        const parts = [];
        if (d.score !== null && d.score !== undefined) parts.push("质量得分 " + d.score);
        if (d.flags && d.flags.length) parts.push("问题：" + flagNames(d.flags));
        if (d.confirm_reason) parts.push("确认理由：" + d.confirm_reason);
        return parts.join("；");
      }
      default:
        return Object.keys(d).length ? JSON.stringify(d) : "";
    }
  }

  function renderHistory(c) {
    const list = T.clear($("history"));
    for (const e of c.history || []) {
      list.append(
        T.el(
          "li",
          { dataset: { kind: e.kind } },
          T.el("time", { text: T.time(e.at) }),
          " ",
          T.el("strong", { text: EVENT[e.kind] || e.kind }),
          " ",
          T.el("span", { class: "muted", text: e.actor || "" }),
          T.el("div", { text: eventDetail(e) })
        )
      );
    }
  }

  // -- the quality check as the clerk types ----------------------------------------------------

  function slotFlags(text) {
    const slots = text.match(SLOT) || [];
    if (!slots.length) return [];
    return [{ code: "unfilled_slot", message: "还有 " + slots.length + " 处【…】需要填写或删除。", evidence: slots.slice(0, 3).join(" "), local: true }];
  }

  function flagItem(f) {
    return T.el(
      "li",
      { class: "flag", dataset: { code: f.code } },
      T.el("strong", { text: T.FLAG[f.code] || f.code }),
      "：",
      T.el("span", { text: f.message }),
      f.evidence ? T.el("div", { class: "evidence", text: f.evidence }) : null
    );
  }

  function showCheck(result, text) {
    const flags = (result.flags || []).concat(slotFlags(text));
    $("qc-state").textContent = "质量检查：";
    $("qc-score").textContent = result.score + " 分";
    const verdict = $("qc-verdict");
    const ok = result.verdict === "ok" && !flags.length;
    verdict.textContent = ok ? "可以发送" : "建议修改";
    verdict.className = "tag " + (ok ? "ok" : "warn");
    const list = T.clear($("qc-flags"));
    for (const f of flags) list.append(flagItem(f));
    const elements = T.clear($("qc-elements"));
    for (const [name, present] of Object.entries(result.elements || {})) {
      elements.append(T.el("li", { class: present ? "present" : "absent", text: (present ? "✓ " : "✗ ") + name }));
    }
    $("qc").dataset.state = "done";
  }

  async function runCheck() {
    if (!current) return;
    const seq = ++checkSeq;
    const text = $("reply-text").value;
    const petition = { title: current.title, body: current.body, received_at: current.received_at, request_type: current.request_type };
    const replied = current.status === "closed" && current.reply ? current.reply.at : T.nowAtOffsetOf(current.received_at);
    let result;
    try {
      result = await T.api("POST", "/check", { petition: petition, reply: text, replied_at: replied });
    } catch (err) {
      if (err.status === 422 && petition.request_type && /request_type/.test(err.message)) {
        delete petition.request_type; // a type the checker does not know: check without the deadline rule
        try {
          result = await T.api("POST", "/check", { petition: petition, reply: text, replied_at: replied });
        } catch (again) {
          err = again;
        }
      }
      if (!result) {
        if (seq === checkSeq) {
          $("qc-state").textContent = "质量检查暂不可用：" + T.errorText(err);
          $("qc").dataset.state = "error";
        }
        return;
      }
    }
    if (seq === checkSeq) showCheck(result, text);
  }

  const debouncedCheck = T.debounce(runCheck, CHECK_DELAY_MS);

  function scheduleCheck() {
    $("qc").dataset.state = "pending";
    $("qc-state").textContent = "质量检查中…";
    debouncedCheck();
  }

  // -- changing ---------------------------------------------------------------------------------

  async function change(path, body, done) {
    try {
      await T.api("POST", path, Object.assign({ version: current.version }, body));
    } catch (err) {
      if (err.status !== 401) T.toast(T.errorText(err), "error"); // 401: the sign-in form is shown
      if (err.status === 409) await load();
      return false;
    }
    if (done) T.toast(done, "ok");
    await load();
    return true;
  }

  async function sendReply(confirmReason) {
    const text = $("reply-text").value;
    if (!text.trim()) return T.toast("答复内容为空。", "error");
    const slots = slotFlags(text);
    if (slots.length) return T.toast("发送前请填写或删除草稿中的【…】：" + slots[0].evidence, "error");
    const body = { text: text, send: true };
    if (confirmReason) body.confirm_reason = confirmReason;
    try {
      await T.api("POST", "/cases/" + current.id + "/reply", Object.assign({ version: current.version }, body));
    } catch (err) {
      if (err.status === 422 && err.detail && Array.isArray(err.detail.flags)) {
        await load(); // the refusal is on the record; take the new version
        showRefused(err.detail);
        return;
      }
      if (err.status !== 401) T.toast(T.errorText(err), "error");
      if (err.status === 409) await load();
      return;
    }
    edited = false;
    T.toast("答复已发送，案件已办结。", "ok");
    await load();
  }

  function showRefused(detail) {
    $("refused").hidden = false;
    $("refused-message").textContent = "质量检查未通过（" + detail.score + " 分），答复没有发送。请修改后再发送；如确有理由不改，请写明理由后确认发送。";
    const list = T.clear($("refused-flags"));
    for (const f of detail.flags) list.append(flagItem(f));
    $("confirm-reason").focus();
  }

  function wire() {
    $("reply-text").addEventListener("input", function () {
      edited = true;
      $("refused").hidden = true;
      scheduleCheck();
    });
    $("use-draft").addEventListener("click", function () {
      $("reply-text").value = (current.draft && current.draft.text) || "";
      edited = true;
      scheduleCheck();
    });
    $("accept-routing").addEventListener("click", () => change("/cases/" + current.id + "/routing", { action: "accept" }, "已接受分派建议。"));
    $("override-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const department = $("override-department").value.trim();
      const reason = $("override-reason").value.trim();
      if (!department || !reason) return T.toast("改派需要填写部门和理由。", "error");
      if (await change("/cases/" + current.id + "/routing", { action: "override", department: department, reason: reason }, "已改派到 " + department + "。")) {
        $("override-form").reset();
        $("override-box").open = false;
      }
    });
    $("return-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const reason = $("return-reason").value.trim();
      if (!reason) return T.toast("退单需要填写理由。", "error");
      if (await change("/cases/" + current.id + "/return", { reason: reason }, "已退单。")) {
        $("return-form").reset();
        $("return-box").open = false;
      }
    });
    $("save-draft").addEventListener("click", async function () {
      const text = $("reply-text").value;
      if (!text.trim()) return T.toast("答复内容为空。", "error");
      if (await change("/cases/" + current.id + "/reply", { text: text, send: false }, "草稿已保存。")) edited = false;
    });
    $("send-reply").addEventListener("click", () => sendReply(null));
    $("confirm-send").addEventListener("click", function () {
      const reason = $("confirm-reason").value.trim();
      if (!reason) return T.toast("请写明仍要发送的理由。", "error");
      sendReply(reason);
    });
  }

  let wired = false;

  // Runs again after a clerk signs in anew (an expired key): wire the controls only once.
  T.pages.case = function () {
    if (!wired) wire();
    wired = true;
    load();
  };
})();
