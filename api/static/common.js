// Shared by every page: the signed-in key, calls to the JSON API, safe DOM building, formatting.
//
// Petition and reply text comes from citizens and clerks, so nothing here ever assigns
// innerHTML: elements are built with createElement and filled through textContent.
"use strict";

(function () {
  const KEY = "triage.staffKey";
  // The sign-in is kept in localStorage, so a new tab of the same browser is signed in too, with
  // an expiry: after SIGN_IN_HOURS the key must be typed again; signing out clears it.
  const SIGN_IN_HOURS = 8;
  const T = (window.Triage = window.Triage || {});
  T.pages = T.pages || {};

  // -- the key ----------------------------------------------------------------------------------

  T.key = function () {
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(KEY) || "null");
    } catch (e) {
      saved = null;
    }
    if (!saved || typeof saved.key !== "string" || !(saved.expires > Date.now())) {
      localStorage.removeItem(KEY);
      return null;
    }
    return saved.key;
  };

  function remember(key) {
    localStorage.setItem(KEY, JSON.stringify({ key: key, expires: Date.now() + SIGN_IN_HOURS * 3600 * 1000 }));
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(T.describe(detail) || "HTTP " + status);
      this.status = status;
      this.detail = detail;
    }
  }
  T.ApiError = ApiError;

  // A readable message from FastAPI's `detail`: a string, an object with `message`, or the list
  // of validation errors pydantic produces.
  T.describe = function (detail) {
    if (detail === null || detail === undefined) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => (d && d.msg ? (d.loc || []).slice(1).join(".") + ": " + d.msg : String(d)))
        .join("；");
    }
    if (typeof detail === "object" && detail.message) return String(detail.message);
    return JSON.stringify(detail);
  };

  const PREFIX = {
    0: "无法连接服务器",
    403: "没有权限",
    404: "未找到",
    409: "冲突（案件已被他人修改或已办结，请刷新）",
    413: "内容过大",
    422: "输入有误",
    429: "请求过于频繁，请稍后再试",
    503: "服务暂不可用",
  };

  // The API's errors are English (for scripts and logs); the page speaks Chinese. Known messages
  // are translated here; an unknown one is shown after the Chinese prefix, marked as the
  // server's own words, so no sentence on the page mixes the two languages.
  const KNOWN = [
    [/^case \d+ changed since you read it/, () => "冲突：案件已被他人修改，请刷新页面后重试。"],
    [/^case \d+ is closed/, () => "冲突：案件已办结，答复已发送，不能再修改。"],
    [/^no case with id (\d+)/, (m) => "没有编号为 " + m[1] + " 的案件。"],
    [/^override needs a department/, () => "改派需要选择部门。"],
    [/^override needs a reason/, () => "改派需要填写理由。"],
    [/^a return needs the reason/, () => "退单需要填写理由。"],
    [/has no department to return from/, () => "案件尚未分派部门，无法退单。"],
    [/^(reply )?text is empty|^reply text is empty/, () => "答复内容为空。"],
    [/route it before sending the reply/, () => "请先确认或改派部门，再发送答复。"],
    [/^the quality check asks for revision/, () => "质量检查建议修改：请按提示修改，或写明理由后确认发送。"],
    [/^the answer library is not loaded/, () => "答复库尚未加载，请稍后再试。"],
    [/^unknown department '([^']*)'/, (m) => "“" + m[1] + "”不是路由表中的部门。"],
    [/^rate limit/i, () => "请求过于频繁，请稍后再试。"],
  ];
  const FIELD = {
    text: "答复内容", reason: "理由", confirm_reason: "确认理由", department: "部门", title: "标题",
    body: "内容", question: "问题", answer: "答复", keywords: "关键词", version: "版本",
  };
  const RULE = [
    [/^Field required/, () => "必须填写"],
    [/at most (\d+) characters?/, (m) => "不能超过 " + m[1] + " 个字"],
    [/at least (\d+) characters?/, (m) => "至少需要 " + m[1] + " 个字"],
  ];

  function match(table, text) {
    for (const [pattern, say] of table) {
      const m = pattern.exec(text);
      if (m) return say(m);
    }
    return null;
  }

  // A validation error list from pydantic, in Chinese: "理由：不能超过 2000 个字".
  function validationText(list) {
    return list
      .map((d) => {
        const field = ((d && d.loc) || []).slice(1).join(".");
        return (FIELD[field] || field || "输入") + "：" + (match(RULE, (d && d.msg) || "") || "格式不正确");
      })
      .join("；");
  }

  T.errorText = function (err) {
    if (!(err instanceof ApiError)) return "页面出错：" + String(err && err.message ? err.message : err);
    if (err.status === 0) return "无法连接服务器，请检查网络后重试。";
    const prefix = PREFIX[err.status] || "出错（HTTP " + err.status + "）";
    if (Array.isArray(err.detail)) return prefix + "：" + validationText(err.detail);
    const said = T.describe(err.detail);
    const known = said ? match(KNOWN, said) : null;
    if (known) return known;
    return said ? prefix + "（服务器说明：" + said + "）" : prefix + "。";
  };

  // One call to the API with the signed-in key. A 401 means the key stopped working (revoked, or
  // a new database): sign out and ask again rather than showing empty pages.
  // A 401 answering a request sent with a key that has since been replaced (the clerk signed in
  // anew while it was on its way) is stale: it must not sign the new key out.
  T.api = async function (method, path, body) {
    const sentKey = T.key();
    const headers = { Accept: "application/json", Authorization: "Bearer " + (sentKey || "") };
    const init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, e && e.message ? e.message : String(e));
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = { detail: text.slice(0, 300) };
      }
    }
    if (resp.status === 401) {
      if (T.key() === sentKey) signOut("登录已失效（密钥无效或已停用），请重新登录。");
      throw new ApiError(401, data && data.detail);
    }
    if (!resp.ok) throw new ApiError(resp.status, data && data.detail !== undefined ? data.detail : data);
    return data;
  };

  // -- safe DOM ---------------------------------------------------------------------------------

  // el("a", {href: "/x", class: "y", text: "z"}, child, …): text goes through textContent only.
  T.el = function (tag, props) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of Array.prototype.slice.call(arguments, 2)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  T.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  T.byId = (id) => document.getElementById(id);

  T.toast = function (message, kind) {
    const box = T.byId("toast");
    box.textContent = message;
    box.className = "toast " + (kind || "info");
    box.hidden = false;
    clearTimeout(T.toast._timer);
    T.toast._timer = setTimeout(() => (box.hidden = true), kind === "error" ? 8000 : 4000);
  };

  T.debounce = function (fn, ms) {
    let timer = null;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(null, args), ms);
    };
  };

  // -- wording ----------------------------------------------------------------------------------

  T.STATUS = { new: "新案件", assigned: "已分派", returned: "被退回", closed: "已办结", merged: "已并单" };
  T.ROUTING_STATE = { suggested: "待确认", accepted: "已接受", overridden: "已改派" };
  T.FLAG = {
    empty_reply: "空答复",
    ack_only: "仅表示已收悉",
    forwarded_only: "仅说明已转办",
    generic_promise: "空泛表态",
    buck_passing: "推诿",
    too_short: "内容过短",
    off_topic: "答非所问",
    unanswered_question: "有问题未答复",
    no_basis: "缺少依据",
    no_contact: "缺少联系方式",
    late: "超期答复",
    near_duplicate: "与历史答复雷同",
    no_decision: "没有实质答复",
    unfilled_slot: "草稿空位未填写",
  };
  T.SOURCE_KIND = { manual: "人工答复库", history: "历史答复" };

  // "2026-11-22T13:38:11+08:00" → "2026-11-22 13:38": shown in the time zone it was stored in
  // (Beijing), whatever the clerk's browser is set to.
  T.time = function (iso) {
    if (!iso) return "—";
    return String(iso).slice(0, 16).replace("T", " ");
  };

  // Now, written with the UTC offset of `ref` ("…+08:00"): the quality checker compares times as
  // wall-clock readings, so "now" must be in the zone the case's received_at was written in.
  T.nowAtOffsetOf = function (ref) {
    const m = /([+-])(\d\d):(\d\d)$/.exec(ref || "");
    if (!m) return new Date().toISOString();
    const minutes = (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10));
    const shifted = new Date(Date.now() + minutes * 60000);
    return shifted.toISOString().slice(0, 19) + m[0];
  };

  // Today in the service's zone (China Standard Time, as the server dates replies and answers'
  // validity): the UTC date is still yesterday's until 08:00 there.
  T.localToday = function () {
    return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
  };

  T.pct = function (x) {
    return x === null || x === undefined ? "—" : Math.round(x * 100) + "%";
  };

  T.duration = function (hours) {
    const h = Math.abs(hours);
    const days = Math.floor(h / 24);
    const rest = Math.round(h - days * 24);
    return days > 0 ? days + " 天 " + rest + " 小时" : rest + " 小时";
  };

  // What is left of the deadline, in words: "剩余 3 天 4 小时" or "已超期 1 天 2 小时".
  T.left = function (c) {
    if (c.status === "closed" || c.hours_left === null || c.hours_left === undefined) return "—";
    return c.hours_left < 0 ? "已超期 " + T.duration(c.hours_left) : "剩余 " + T.duration(c.hours_left);
  };

  // A case's "possible duplicate" mark, whichever field the store uses for it.
  // The earlier case a case may repeat: {case_id, similarity} as POST /cases and GET /cases give it.
  T.duplicateOf = function (c) {
    const d = c.possible_duplicate;
    return d && typeof d === "object" && d.case_id !== undefined && d.case_id !== null ? d : null;
  };

  T.isDuplicate = function (c) {
    if (T.duplicateOf(c) || c.possible_duplicate === true || c.duplicate === true) return true;
    if (c.duplicate_of) return true;
    const lists = [c.duplicates, c.possible_duplicates];
    return lists.some((l) => Array.isArray(l) && l.length > 0);
  };

  // Waiting for a clerk's routing decision: abstained, out of scope or returned, and not decided since.
  T.needsManualRouting = (c) => Boolean(c.manual_queue) && c.status !== "closed" && c.status !== "merged";

  // A badge that links to another case (the earlier one a repeat resembles, the case it is merged into).
  T.caseBadge = function (text, kind, caseId, title) {
    return T.el("a", { class: "badge " + (kind || ""), href: "/case/" + encodeURIComponent(caseId), title: title || "", text: text });
  };

  T.duplicateBadge = function (c) {
    const d = T.duplicateOf(c);
    if (!d) return T.badge("可能重复", "info");
    const similar = d.similarity !== null && d.similarity !== undefined ? "相似度 " + Math.round(d.similarity * 100) + "%" : "";
    return T.caseBadge("可能重复 #" + d.case_id, "info duplicate", d.case_id, "与案件 #" + d.case_id + " 相似 " + similar);
  };

  // An open emergency (gas, fire, people trapped …): a red 紧急 badge, the top of the queue.
  T.isUrgent = (c) => Boolean(c.urgent) && c.status !== "closed";
  T.transferText = (u) => (u.transfer ? "请立即转 " + u.transfer : "请立即处置");

  T.badge = (text, kind) => T.el("span", { class: "badge " + (kind || ""), text: text });

  // -- signing in -------------------------------------------------------------------------------

  function showSignIn(message) {
    T.byId("main").hidden = true;
    T.byId("who").hidden = true;
    T.byId("signin").hidden = false;
    const error = T.byId("signin-error");
    error.textContent = message || "";
    error.hidden = !message;
    T.byId("signin-key").focus();
  }

  function signOut(message) {
    localStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY); // where earlier versions kept it
    showSignIn(message);
  }
  T.signOut = signOut;

  // A key is good for this page when it may read the queue: staff or admin.
  async function signIn(key) {
    let resp;
    try {
      resp = await fetch("/cases?limit=1", { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
    } catch (e) {
      return "无法连接服务器：" + e.message;
    }
    if (resp.status === 401) return "密钥无效或已停用。";
    if (resp.status === 403) return "这个密钥没有办件权限：请使用工作人员（staff）或管理员密钥。";
    if (!resp.ok) return "登录失败（HTTP " + resp.status + "）。";
    remember(key);
    return null;
  }

  // A warning over every page when /health reports the live model and the routing table at odds
  // (a model promoted with --force): the clerk must then route those cases by hand.
  async function checkService() {
    const box = T.byId("service-warning");
    let data = null;
    try {
      const resp = await fetch("/health", { cache: "no-store" });
      data = await resp.json();
    } catch (e) {
      return;
    }
    const routing = (data && data.routing) || {};
    if (routing.status === "unrouted_labels") {
      box.textContent =
        "注意：当前启用的分类模型有 " + routing.missing_labels.length + " 个类别（" + routing.missing_labels.join("、") +
        "）在路由表中没有对应的承办部门，这些新案件不会自动分派，请人工分派，并请管理员更新路由表或回滚模型。";
      box.hidden = false;
    } else if (data && data.model && data.model.status !== "ok") {
      box.textContent = "注意：当前没有可用的分类模型，新案件不会自动分派，请管理员训练或启用模型。";
      box.hidden = false;
    } else {
      box.hidden = true;
    }
  }

  function start() {
    checkService();
    T.byId("signin").hidden = true;
    T.byId("main").hidden = false;
    T.byId("who").hidden = false;
    const init = T.pages[document.body.dataset.page];
    if (init) init();
  }

  document.addEventListener("DOMContentLoaded", function () {
    T.byId("signin-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const key = T.byId("signin-key").value.trim();
      if (!key) return showSignIn("请输入密钥。");
      const problem = await signIn(key);
      if (problem) return showSignIn(problem);
      T.byId("signin-key").value = "";
      start();
    });
    T.byId("signout").addEventListener("click", () => signOut("已退出登录。"));
    if (T.key()) start();
    else showSignIn("");
  });
})();
