// What the platform sent beyond the petition: the citizen's supplements (补充), the caller's
// contact and the attachments' links. Registered as a section the case page renders on each read.
"use strict";

(function () {
  const T = window.Triage;
  const $ = T.byId;
  const CONTACT_NAMES = { name: "姓名", phone: "电话", email: "邮箱", id_number: "证件号码", address: "地址" };

  function size(bytes) {
    if (bytes === null || bytes === undefined) return "";
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function renderSupplements(c) {
    const items = c.supplements || [];
    $("supplements-panel").hidden = items.length === 0;
    $("supplements-count").textContent = items.length ? items.length + " 条" : "";
    const list = T.clear($("supplements"));
    for (const s of items) {
      list.append(
        T.el(
          "li",
          { dataset: { supplement: s.id } },
          T.el("time", { text: T.time(s.received_at) }),
          T.el("div", { class: "supplement-text", text: s.text })
        )
      );
    }
  }

  function renderCaller(c) {
    const contact = c.contact || {};
    const files = c.attachments || [];
    $("caller-panel").hidden = Object.keys(contact).length === 0 && files.length === 0;
    const meta = T.clear($("caller-contact"));
    for (const [key, value] of Object.entries(contact)) {
      if (value === null || value === undefined || value === "") continue;
      meta.append(T.el("dt", { text: CONTACT_NAMES[key] || key }), T.el("dd", { text: value }));
    }
    const list = T.clear($("attachments"));
    for (const f of files) {
      // the API accepts only http(s) links, so href never carries a script
      const name = f.url ? T.el("a", { href: f.url, text: f.name, target: "_blank", rel: "noopener noreferrer" }) : f.name;
      const about = [f.content_type, size(f.size)].filter(Boolean).join("，");
      list.append(T.el("li", {}, name, about ? T.el("span", { class: "muted", text: " " + about }) : null));
    }
  }

  T.caseSections = T.caseSections || [];
  T.caseSections.push(renderSupplements, renderCaller);
})();
