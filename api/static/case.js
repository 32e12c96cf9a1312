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
    renderMerge(c);
    renderUrgent(c);
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
    if (T.isUrgent(c)) box.append(T.badge("紧急", "urgent"));
    if (c.overdue) box.append(T.badge("超期", "danger"));
    if (T.needsManualRouting(c)) box.append(T.badge("待人工分派", "warn"));
    if (c.merged_into) box.append(T.caseBadge("已并入 #" + c.merged_into, "ok", c.merged_into));
    else if (T.isDuplicate(c)) box.append(T.duplicateBadge(c));
    if (c.merged && c.merged.length) box.append(T.badge("并单 " + c.merged.length + " 件", "info"));
    if (c.returns > 0) box.append(T.badge("退回 " + c.returns + " 次", "warn"));
  }

  // 并单: the earlier case this one may repeat (merge into it), the case it is merged into
  // (unmerge), or the petitions merged into this one (answered with its reply).
  function renderMerge(c) {
    const open = c.status !== "closed";
    const dup = T.duplicateOf(c);
    const merged = c.merged || [];
    $("duplicate-box").hidden = !(dup && !c.merged_into && open);
    if (dup) {
      const text = T.clear($("duplicate-text"));
      const similar = dup.similarity !== null && dup.similarity !== undefined ? "（相似度 " + Math.round(dup.similarity * 100) + "%）" : "";
      text.append("可能重复：与 ", T.el("a", { href: "/case/" + encodeURIComponent(dup.case_id), text: "案件 #" + dup.case_id }), " 内容相似" + similar + "。");
      $("merge-button").textContent = "并入 #" + dup.case_id;
    }
    $("merged-into-box").hidden = !c.merged_into;
    if (c.merged_into) {
      const text = T.clear($("merged-into-text"));
      text.append("本留言已并入 ", T.el("a", { href: "/case/" + encodeURIComponent(c.merged_into), text: "案件 #" + c.merged_into }), open ? "，随该案答复一并办结。" : "，已随该案答复办结。");
      $("unmerge-button").hidden = !open;
    }
    $("merged-box").hidden = !merged.length;
    const list = T.clear($("merged-list"));
    for (const m of merged) {
      list.append(
        T.el(
          "li",
          { dataset: { caseId: m.id } },
          T.el("a", { href: "/case/" + encodeURIComponent(m.id), text: "#" + m.id }),
          " ",
          T.el("span", { class: "muted small", text: m.external_id }),
          " ",
          T.el("span", { text: m.title || "（无标题）" }),
          " ",
          T.badge(T.STATUS[m.status] || m.status, m.status === "closed" ? "ok" : "")
        )
      );
    }
    $("merge-panel").hidden = $("duplicate-box").hidden && $("merged-into-box").hidden && $("merged-box").hidden;
  }

  // An emergency: what it is, the words that show it, and the line to hand it to, above all else.
  function renderUrgent(c) {
    const u = c.urgent;
    const banner = $("urgent-banner");
    banner.hidden = !u;
    if (!u) return;
    banner.classList.toggle("closed", c.status === "closed");
    $("urgent-transfer").textContent = T.transferText(u) + (c.status === "closed" ? "（已办结）" : "");
    $("urgent-reason").textContent = "紧急事项：" + u.reason + "，须在 " + T.time(c.deadline) + " 前处置";
    $("urgent-evidence").textContent = "依据：“" + u.evidence + "”";
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
    // the model's label (模型类别) and the department the table routes it to (承办部门) are told apart
    if (r.label) {
      line.append("模型类别：", T.el("strong", { class: "model-label", text: r.label }), "（置信度 " + T.pct(r.confidence) + "）");
      line.append(T.el("div", {}, "建议承办部门：", T.el("strong", { class: "suggested-department", text: r.suggested_department || "（路由表无对应部门）" })));
    } else {
      line.append("模型没有给出建议。");
    }
    if (r.state === "accepted" && c.department) line.append(T.el("div", { text: "已接受，承办部门：" + c.department }));
    if (r.state === "overridden" && c.department) line.append(T.el("div", { class: "warn-text", text: "已改派到 " + c.department + "（承办部门）" }));
    if (r.departments && r.departments.assist && r.departments.assist.length) {
      line.append(T.el("div", { class: "muted", text: "协办：" + r.departments.assist.join("、") }));
    }
    renderOutOfScope(c, r.out_of_scope);
    for (const back of r.returned_by || []) {
      line.append(T.el("div", { class: "warn-text", text: back.department + " 于 " + T.time(back.at) + " 退回：" + back.reason }));
    }
    if (r.model_version) line.append(T.el("div", { class: "muted small", text: "模型版本 " + r.model_version }));
    const manual = $("routing-manual");
    manual.hidden = !T.needsManualRouting(c);
    manual.textContent = waitingText(c);

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
    $("routing-actions").hidden = !(open && c.status !== "merged");
    $("accept-routing").hidden = !(open && c.department && r.state === "suggested" && c.status !== "returned");
    $("return-box").hidden = !(open && c.department && c.status !== "returned");
    const list = T.clear($("department-list"));
    const source = $("route-departments-data") || $("departments-data");
    for (const option of source.content.querySelectorAll("option")) {
      list.append(T.el("option", { value: option.value }));
    }
  }

  // Why the case waits for a clerk's routing decision before a reply may go out.
  function waitingText(c) {
    const r = c.routing || {};
    if (c.status === "returned") return "已被退回，请改派到承办部门后再答复。";
    if (r.out_of_scope) return "不属受理范围，请确认分派（接受或改派）后再发送答复。";
    if (c.abstain && r.abstain_reason === "label_not_automatic")
      return "“" + (c.label || "该类别") + "”尚不自动分派（训练时该类别未达到准确率要求，置信度 " + T.pct(c.confidence) + " 仅供参考），需人工分派：请接受或改派后再发送答复。";
    if (c.abstain && r.abstain_reason === "below_threshold")
      return "“" + (c.label || "该类别") + "”要求更高的置信度才自动分派（本次 " + T.pct(c.confidence) + "，门槛由训练时的准确率要求定出），需人工分派：请接受或改派后再发送答复。";
    if (c.abstain && r.abstain_reason === "close_runner_up")
      return "模型在前两个类别之间拿不准（置信度 " + T.pct(c.confidence) + "），需人工分派：请接受或改派后再发送答复。";
    if (c.abstain) return "模型不确定（置信度 " + T.pct(c.confidence) + "），需人工分派：请接受或改派后再发送答复。";
    return "需人工分派：请接受或改派后再发送答复。";
  }

  function renderOutOfScope(c, o) {
    const box = $("out-of-scope");
    box.hidden = !o;
    if (!o) return;
    const item = typeof o === "string" ? { reason: o } : o;
    $("oos-reason").textContent = item.reason || "";
    $("oos-evidence").textContent = item.evidence || "—";
    $("oos-template").textContent = item.template || "（没有模板）";
    $("use-template").hidden = !item.template || c.status === "closed";
  }

  function renderDraft(c) {
    const d = c.draft || { text: "", sources: [] };
    const tier = $("draft-tier");
    tier.textContent = { suggest: "有参考，请核对", escalate: "无合适参考，需人工撰写", out_of_scope: "不予受理答复模板", urgent: "紧急：先转办，再答复" }[d.tier] || "";
    tier.hidden = !d.tier;
    $("draft-text").textContent = d.text || "（没有草稿）";
    // facts of the past case the draft was built from: bracketed like every slot, named here
    const checks = (d.missing || []).filter((m) => m.startsWith("核实：")).map((m) => m.slice(3));
    const note = $("draft-checks");
    note.hidden = !checks.length;
    note.textContent = checks.length ? "待核实（取自相似历史案件，发送前请逐项核对或改写）：" + checks.join("、") : "";
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
    renderStyle(d.style || [], d.tier);
  }

  // Where the draft's fixed sentences came from: the house style mined from past replies.
  function renderStyle(parts, tier) {
    const list = T.clear($("draft-style"));
    for (const p of parts) {
      const shown = p.text;
      let origin;
      if (p.scope === "neutral") origin = "通用格式（尚无历史答复）";
      else {
        const whose = p.scope === "department" ? (p.department || "本部门") + "的历史答复" : "全部历史答复";
        // the script part counts the replies to Traditional petitions, not all replies
        origin = p.part === "字体"
          ? whose + "中，" + p.of + " 件繁体来信有 " + p.count + " 件以繁体答复"
          : "见于" + whose + " " + p.of + " 条中的 " + p.count + " 条";
      }
      list.append(
        T.el(
          "li",
          { class: "style-part" },
          T.el("span", { class: "tag", text: p.part }),
          " ",
          T.el("span", { class: "style-text", text: shown || "（不用）" }),
          " ",
          T.el("span", { class: "muted", text: origin })
        )
      );
    }
    if (!list.firstChild) {
      const why = tier === "out_of_scope" ? "不予受理答复模板的原文，没有套用固定用语" : "没有套用固定用语";
      list.append(T.el("li", { class: "muted", text: why }));
    }
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
    // no reply goes out on a guess: the routing must be decided first (the API refuses with 409)
    const waiting = !closed && (T.needsManualRouting(c) || c.status === "merged");
    $("send-reply").disabled = waiting;
    $("send-hint").hidden = !waiting;
    $("send-hint").textContent = c.status === "merged" ? "本留言已并单，请在案件 #" + c.merged_into + " 中答复。" : "发送前请先在“分派建议”中接受或改派承办部门。";
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
    merged: "并单",
    merge_received: "并入留言",
    unmerged: "取消并单",
    merge_undone: "留言取消并单",
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
      case "draft_suggested": {
        const kind = { suggest: "有参考", out_of_scope: "不予受理模板", urgent: "紧急转办答复" }[d.tier] || "需人工撰写";
        const again = "department" in d ? "按" + (d.department || "未分派") + "重新生成，" : "";
        return again + kind + "，来源 " + (d.sources || 0) + " 条";
      }
      case "merged":
        return "并入案件 #" + d.into;
      case "unmerged":
        return "从案件 #" + d.from + " 取消并单";
      case "merge_received":
      case "merge_undone":
        return "案件 #" + d.case + "（" + (d.external_id || "") + "）";
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
        if (d.via_case) parts.push("随案件 #" + d.via_case + " 的答复办结");
        if (d.merged_cases && d.merged_cases.length) parts.push("同时答复并单留言 " + d.merged_cases.map((id) => "#" + id).join("、"));
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

  // Only the draft's own blanks stop a reply (its slots, its facts to check, a template's 【请填写…】):
  // an official reply may cite 长政发【2018】5号. The server holds the same rule (triage/slots.py).
  const SLOTS_NAMED = 12;
  function slotFlags(text) {
    const missing = (current && current.draft && current.draft.missing) || [];
    const blanks = new Set(missing.map((m) => m.replace(/^核实：/, "")));
    const slots = (text.match(SLOT) || []).filter((s) => {
      const name = s.slice(1, -1);
      return name.startsWith("请填写") || blanks.has(name);
    });
    if (!slots.length) return [];
    // Every blank is named (a draft has five or so): "还有 5 处" beside three of them left the clerk
    // looking for the other two.
    const named = slots.slice(0, SLOTS_NAMED).join(" ") + (slots.length > SLOTS_NAMED ? " 等" : "");
    return [{ code: "unfilled_slot", message: "还有 " + slots.length + " 处【…】需要填写或删除。", evidence: named, local: true }];
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
    // The checklist is the checker's own (one home for the rule): a required item that is missing
    // is what makes the verdict "revise", so the page can never show ✗ beside "可以发送".
    const elements = T.clear($("qc-elements"));
    const checklist = result.checklist || Object.entries(result.elements || {}).map(([item, present]) => ({ item: item, present: present, required: false }));
    for (const c of checklist) {
      // ✗ only for what blocks sending; a missing optional part is a hint (○), not a contradiction
      const cls = (c.present ? "present" : "absent") + (c.required ? " required" : "");
      const mark = c.present ? "✓ " : c.required ? "✗ " : "○ ";
      const text = mark + c.item + (c.required ? (c.present ? "（必需）" : "（必需，缺少）") : "");
      elements.append(T.el("li", { class: cls, title: c.evidence || "", dataset: { item: c.item }, text: text }));
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
    $("refused-message").textContent =
      detail.field === "confirm_reason"
        ? "确认理由不是一句理由，答复没有发送。请用一句话写明为什么不改（至少 6 个汉字），不能只写“1”“ok”或重复的字。"
        : "质量检查未通过（" + detail.score + " 分），答复没有发送。请修改后再发送；如确有理由不改，请写明理由后确认发送。";
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
    $("use-template").addEventListener("click", function () {
      const o = (current.routing || {}).out_of_scope;
      $("reply-text").value = (o && o.template) || "";
      edited = true;
      $("refused").hidden = true;
      scheduleCheck();
      T.toast("已将不予受理模板放入答复区。", "ok");
    });
    $("merge-button").addEventListener("click", function () {
      const dup = T.duplicateOf(current);
      if (!dup) return;
      if (!window.confirm("确认将本留言 #" + current.id + " 并入案件 #" + dup.case_id + "？并单后本留言不再单独办理，案件 #" + dup.case_id + " 的答复将同时答复本留言。")) return;
      change("/cases/" + current.id + "/merge", { into: dup.case_id }, "已并入案件 #" + dup.case_id + "。");
    });
    $("unmerge-button").addEventListener("click", function () {
      if (!window.confirm("确认取消并单？本留言将回到待办队列单独办理。")) return;
      change("/cases/" + current.id + "/unmerge", {}, "已取消并单。");
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
