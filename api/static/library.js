// The curated answer library: list, filter, add, edit and retire entries through /answers.
//
// Entries are written by clerks and may quote petitions, so every value goes into the page
// through textContent (T.el), never as HTML.
"use strict";

(function () {
  const T = window.Triage;
  const $ = T.byId;
  let entries = [];

  function validity(a) {
    if (!a.valid_from && !a.valid_until) return "长期";
    return (a.valid_from || "…") + " 至 " + (a.valid_until || "…");
  }

  function expired(a) {
    const today = T.localToday();
    return Boolean(a.valid_until && a.valid_until < today);
  }

  function state(a) {
    if (a.retired) return T.badge("已停用", "");
    if (expired(a)) return T.badge("已过期", "warn");
    return T.badge("使用中", "ok");
  }

  function matches(a, needle) {
    if (!needle) return true;
    const hay = [a.question, a.answer, a.department, (a.keywords || []).join(" ")].join("\n");
    return hay.toLowerCase().includes(needle.toLowerCase());
  }

  function row(a) {
    const actions = T.el("td", { class: "row-actions" });
    if (!a.retired) {
      actions.append(
        T.el("button", { type: "button", class: "edit", text: "编辑", onclick: () => edit(a) }),
        " ",
        T.el("button", { type: "button", class: "retire", text: "停用", onclick: () => retire(a) })
      );
    }
    return T.el(
      "tr",
      { dataset: { id: a.id }, class: a.retired ? "retired" : null },
      T.el("td", { text: a.department || "通用" }),
      T.el("td", { class: "question", text: a.question || "—" }),
      T.el("td", { class: "answer", text: a.answer }),
      T.el("td", { text: (a.keywords || []).join("、") || "—" }),
      T.el("td", { text: validity(a) }),
      T.el("td", { text: a.author || "—" }),
      T.el("td", {}, state(a)),
      actions
    );
  }

  function render() {
    const needle = $("filter-text").value.trim();
    const shown = entries.filter((a) => matches(a, needle));
    const body = T.clear(document.querySelector("#library tbody"));
    for (const a of shown) body.append(row(a));
    if (!shown.length) {
      body.append(T.el("tr", {}, T.el("td", { colspan: 8, class: "muted", text: "没有符合条件的条目。" })));
    }
    $("library-summary").className = "muted";
    $("library-summary").textContent = "共 " + entries.length + " 条，显示 " + shown.length + " 条";
  }

  async function load() {
    const params = new URLSearchParams();
    const department = $("filter-department").value;
    if (department) params.set("department", department);
    if ($("filter-retired").checked) params.set("include_retired", "true");
    try {
      const data = await T.api("GET", "/answers" + (params.toString() ? "?" + params : ""));
      entries = data.items || [];
    } catch (err) {
      $("library-summary").textContent = T.errorText(err);
      $("library-summary").className = "error";
      return;
    }
    render();
  }

  function showError(message) {
    $("answer-error").textContent = message || "";
    $("answer-error").hidden = !message;
  }

  function reset() {
    $("answer-form").reset();
    $("answer-id").value = "";
    editingVersion = null;
    $("editor-title").textContent = "新增条目";
    $("answer-cancel").hidden = true;
    showError("");
  }

  // The version the clerk opened: saving it after a colleague's edit is refused (409), not lost.
  let editingVersion = null;

  function edit(a) {
    $("answer-id").value = a.id;
    editingVersion = a.version;
    $("answer-department").value = a.department || "";
    $("answer-question").value = a.question || "";
    $("answer-text").value = a.answer || "";
    $("answer-keywords").value = (a.keywords || []).join("，");
    $("answer-from").value = a.valid_from || "";
    $("answer-until").value = a.valid_until || "";
    $("editor-title").textContent = "编辑条目 " + a.id;
    $("answer-cancel").hidden = false;
    showError("");
    $("answer-text").focus();
  }

  async function retire(a) {
    if (!window.confirm("停用这条答复？停用后不再用于起草。")) return;
    try {
      await T.api("DELETE", "/answers/" + encodeURIComponent(a.id) + "?version=" + encodeURIComponent(a.version));
      T.toast("已停用。", "ok");
    } catch (err) {
      T.toast(T.errorText(err), "error");
    }
    await load();
  }

  function formFields() {
    const keywords = $("answer-keywords")
      .value.split(/[,，、\s]+/)
      .map((k) => k.trim())
      .filter(Boolean);
    return {
      department: $("answer-department").value,
      question: $("answer-question").value.trim(),
      answer: $("answer-text").value.trim(),
      keywords: keywords,
      valid_from: $("answer-from").value || null,
      valid_until: $("answer-until").value || null,
    };
  }

  async function save(event) {
    event.preventDefault();
    const fields = formFields();
    if (!fields.answer) return showError("答复不能为空。");
    if (fields.valid_from && fields.valid_until && fields.valid_until < fields.valid_from) {
      return showError("失效日期早于生效日期。");
    }
    const id = $("answer-id").value;
    $("answer-save").disabled = true;
    try {
      if (id) await T.api("PUT", "/answers/" + encodeURIComponent(id), Object.assign({ version: editingVersion }, fields));
      else await T.api("POST", "/answers", fields);
      T.toast(id ? "已保存修改。" : "已加入答复库。", "ok");
      reset();
      await load();
    } catch (err) {
      showError(T.errorText(err));
    } finally {
      $("answer-save").disabled = false;
    }
  }

  T.pages.library = function () {
    $("filter-department").addEventListener("change", load);
    $("filter-retired").addEventListener("change", load);
    $("filter-text").addEventListener("input", T.debounce(render, 150));
    $("library-filters").addEventListener("submit", (e) => e.preventDefault());
    $("answer-form").addEventListener("submit", save);
    $("answer-cancel").addEventListener("click", reset);
    load();
  };
})();
