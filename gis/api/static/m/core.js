/* 网格通 field app: the shell (header, tabs, log-in, password, "me"), the session, the API
   client, times in China Standard Time, the online state and the service worker.
   The contract with the other modules is window.Wg (docs: /work/notes/fieldapp.md). */
(function () {
  "use strict";
  var Wg = (window.Wg = window.Wg || {});
  var SESSION_KEY = "wg.session";
  var API_CACHE = "wg-api";
  var handlers = {};
  var tabs = {};
  var current = null;
  var started = false;

  /* -- events ------------------------------------------------------------------------------ */
  Wg.on = function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); };
  Wg.emit = function (name, arg) {
    (handlers[name] || []).forEach(function (fn) {
      try { fn(arg); } catch (e) { console.error(e); }
    });
  };

  /* -- small DOM helper: Wg.el("button", {class: "big", "data-t": "x"}, [children]) --------- */
  Wg.el = function (tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "onclick" || k === "onchange" || k === "onsubmit" || k === "oninput") {
        el.addEventListener(k.slice(2), v);
      } else el.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    if (attrs && attrs["data-t"]) el.textContent = Wg.t(attrs["data-t"]);
    if (attrs && attrs["data-t-ph"]) el.setAttribute("placeholder", Wg.t(attrs["data-t-ph"]));
    return el;
  };

  /* -- session ----------------------------------------------------------------------------- */
  Wg.session = function () {
    try {
      var s = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
      return s && s.token ? s : null;
    } catch (e) { return null; }
  };
  function saveSession(s) { localStorage.setItem(SESSION_KEY, JSON.stringify(s)); }

  Wg.logout = function (reasonKey) {
    var s = Wg.session();
    localStorage.removeItem(SESSION_KEY);
    if (window.caches) caches.delete(API_CACHE).catch(function () {});
    if (s && navigator.onLine) {
      fetch("/api/v1/session", { method: "DELETE",
        headers: { Authorization: "Bearer " + s.token } }).catch(function () {});
    }
    Wg.emit("logout");
    // every view is drawn again for the next person
    Object.keys(tabs).forEach(function (k) {
      var tab = tabs[k];
      if (tab.el && tab.el.parentNode) tab.el.parentNode.removeChild(tab.el);
      tab.el = null;
      tab.rendered = false;
    });
    current = null;
    showLogin(reasonKey ? Wg.t(reasonKey) : "");
  };

  /* -- online state ------------------------------------------------------------------------ */
  Wg.online = function () { return navigator.onLine !== false; };

  function offlineError() {
    var e = new Error(Wg.t("err.offline"));
    e.offline = true;
    return e;
  }

  /* -- API client -------------------------------------------------------------------------- */
  Wg.api = function (method, path, opts) {
    opts = opts || {};
    if (!Wg.online()) return Promise.reject(offlineError());
    var headers = Object.assign({}, opts.headers || {});
    var s = Wg.session();
    if (s) headers.Authorization = "Bearer " + s.token;
    var body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form) body = opts.form;
    return fetch(path, { method: method, headers: headers, body: body, signal: opts.signal,
                         cache: "no-store" })
      .catch(function (err) {
        if (err && err.name === "AbortError") throw err;
        throw offlineError();
      })
      .then(function (r) {
        var type = r.headers.get("content-type") || "";
        var parse = type.indexOf("json") >= 0 ? r.json().catch(function () { return null; })
                                              : Promise.resolve(null);
        return parse.then(function (data) {
          if (r.status === 401 && s && path !== "/api/v1/session") {
            Wg.logout("err.unauthorized");
          }
          return { ok: r.ok, status: r.status, data: data, headers: r.headers };
        });
      });
  };

  Wg.blobUrl = function (path) {
    var s = Wg.session();
    return fetch(path, { headers: s ? { Authorization: "Bearer " + s.token } : {} })
      .then(function (r) {
        if (!r.ok) throw new Error(Wg.t("err.http", { status: r.status }));
        return r.blob();
      })
      .then(function (b) { return URL.createObjectURL(b); });
  };

  Wg.errorText = function (x) {
    if (!x) return Wg.t("err.http", { status: "?" });
    if (x.offline) return Wg.t("err.offline");
    var err = x.error || (x.data && x.data.error) || x;
    var code = err.code;
    if (code === "invalid_input" && err.details && err.details.length) {
      var d = err.details[0];
      if (d.reason && Wg.i18n.has("err." + d.reason)) return Wg.t("err." + d.reason);
      return Wg.t("err.invalid_input", { msg: (d.field ? d.field + ": " : "") + d.reason });
    }
    if (code && Wg.i18n.has("err." + code)) return Wg.t("err." + code);
    if (err.message) return err.message;
    if (x.status) return Wg.t("err.http", { status: x.status });
    return String(x.message || x);
  };

  /* -- times: China Standard Time, labelled ------------------------------------------------ */
  var fmt = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  Wg.fmtTime = function (iso) {
    if (!iso) return "";
    var d = iso instanceof Date ? iso : new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var p = {};
    fmt.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    var hour = p.hour === "24" ? "00" : p.hour;
    return p.year + "-" + p.month + "-" + p.day + " " + hour + ":" + p.minute;
  };
  Object.defineProperty(Wg, "tz", { get: function () { return Wg.t("app.tz"); } });

  /* -- toast ------------------------------------------------------------------------------- */
  var toastTimer = null;
  Wg.toast = function (text, kind) {
    var el = document.getElementById("wg-toast");
    el.textContent = text;
    el.className = "toast show " + (kind || "info");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.className = "toast"; }, kind === "error" ? 6000 : 3500);
  };

  /* -- tabs -------------------------------------------------------------------------------- */
  Wg.registerTab = function (name, spec) {
    tabs[name] = Object.assign({ order: 50, icon: "•", labelKey: "tab." + name }, spec,
                               { name: name, el: null, rendered: false });
    if (started && Wg.session()) buildTabs();
  };

  function buildTabs() {
    var nav = document.getElementById("wg-tabs");
    var main = document.getElementById("wg-main");
    nav.textContent = "";
    sortedTabs().forEach(function (tab) {
      if (!tab.el) {
        tab.el = Wg.el("section", { class: "view", id: "view-" + tab.name, hidden: true });
        main.appendChild(tab.el);
      }
      var btn = Wg.el("button", { type: "button", class: "tab", "data-tab": tab.name,
        onclick: function () { Wg.show(tab.name); } }, [
        Wg.el("span", { class: "tab-icon", "aria-hidden": "true", text: tab.icon }),
        Wg.el("span", { class: "tab-label", "data-t": tab.labelKey })]);
      if (tab.name === current) btn.classList.add("active");
      nav.appendChild(btn);
    });
  }

  function sortedTabs() {
    return Object.keys(tabs).map(function (k) { return tabs[k]; })
      .sort(function (a, b) { return a.order - b.order; });
  }

  Wg.show = function (name) {
    var tab = tabs[name];
    if (!tab) return;
    if (!tab.el) buildTabs();
    current = name;
    Object.keys(tabs).forEach(function (k) { if (tabs[k].el) tabs[k].el.hidden = k !== name; });
    document.querySelectorAll("#wg-tabs .tab").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-tab") === name);
    });
    if (!tab.rendered) {
      tab.rendered = true;
      try { tab.render(tab.el); } catch (e) { console.error(e); }
    }
    if (tab.onShow) { try { tab.onShow(); } catch (e) { console.error(e); } }
    document.body.setAttribute("data-view", name);
  };
  Wg.current = function () { return current; };

  /* -- header: online indicator, pending count, language switch ---------------------------- */
  function renderNet() {
    var el = document.getElementById("wg-net");
    var on = Wg.online();
    el.textContent = "● " + Wg.t(on ? "app.online" : "app.offline");
    el.className = "net " + (on ? "on" : "off");
  }
  Wg.setPending = function (n, refused) {
    var el = document.getElementById("wg-pending");
    var parts = [];
    if (n) parts.push(Wg.t("app.pending", { n: n }));
    if (refused) parts.push(Wg.t("app.refused", { n: refused }));
    el.hidden = !parts.length;
    el.textContent = parts.join(" · ");
    el.classList.toggle("bad", !!refused);
    el.setAttribute("data-n", String(n || 0));
    el.setAttribute("data-refused", String(refused || 0));
  };

  Wg.setLang = function (lang) {
    Wg.i18n.setLang(lang);
    Wg.i18n.apply(document);
    document.title = Wg.t("app.title");
    renderNet();
    Wg.emit("lang", lang);
  };

  /* -- log-in ------------------------------------------------------------------------------ */
  function showLogin(message) {
    document.body.classList.remove("in");
    document.getElementById("wg-app").hidden = true;
    document.getElementById("wg-password").hidden = true;
    document.getElementById("wg-login").hidden = false;
    var err = document.getElementById("login-error");
    err.textContent = message || "";
    err.hidden = !message;
  }

  function onLogin(ev) {
    ev.preventDefault();
    var u = document.getElementById("login-username").value.trim();
    var p = document.getElementById("login-password").value;
    var err = document.getElementById("login-error");
    var btn = document.getElementById("login-submit");
    function fail(text) { err.textContent = text; err.hidden = false; btn.disabled = false; }
    if (!u || !p) return fail(Wg.t("login.empty"));
    btn.disabled = true;
    err.hidden = true;
    Wg.api("POST", "/api/v1/session", { json: { username: u, password: p } }).then(function (r) {
      if (!r.ok) return fail(Wg.errorText(r.data || r));
      saveSession(r.data);
      document.getElementById("login-password").value = "";
      btn.disabled = false;
      enter();
    }, function (e) { fail(e.offline ? Wg.t("login.offline") : Wg.errorText(e)); });
  }

  /* -- password change (forced first, and in "me") ----------------------------------------- */
  Wg.passwordForm = function (el, forced) {
    var msg = Wg.el("p", { class: "error", hidden: true, role: "alert" });
    var inputs = ["old", "new", "repeat"].map(function (k) {
      return Wg.el("input", { type: "password", name: "pw-" + k, id: (forced ? "fpw-" : "pw-") + k,
        autocomplete: k === "old" ? "current-password" : "new-password", "data-t-ph": "pw." + k });
    });
    var form = Wg.el("form", { class: "card form pwform", onsubmit: function (ev) {
      ev.preventDefault();
      var o = inputs[0].value, n = inputs[1].value, rpt = inputs[2].value;
      function fail(text) { msg.textContent = text; msg.hidden = false; }
      if (n !== rpt) return fail(Wg.t("pw.mismatch"));
      if (n.length < 8) return fail(Wg.t("pw.short"));
      msg.hidden = true;
      Wg.api("POST", "/api/v1/me/password", { json: { old_password: o, new_password: n } })
        .then(function (r) {
          if (!r.ok) return fail(Wg.errorText(r.data || r));
          var s = Wg.session();
          if (s) { s.must_change_password = false; saveSession(s); }
          inputs.forEach(function (i) { i.value = ""; });
          Wg.toast(Wg.t("pw.done"), "ok");
          if (forced) enter();
        }, function (e) { fail(Wg.errorText(e)); });
    } }, [
      Wg.el("h2", { "data-t": "pw.title" }),
      forced ? Wg.el("p", { class: "note", "data-t": "pw.forced" }) : null,
      Wg.el("label", {}, [Wg.el("span", { "data-t": "pw.old" }), inputs[0]]),
      Wg.el("label", {}, [Wg.el("span", { "data-t": "pw.new" }), inputs[1]]),
      Wg.el("label", {}, [Wg.el("span", { "data-t": "pw.repeat" }), inputs[2]]),
      msg,
      Wg.el("button", { type: "submit", class: "big primary", "data-t": "pw.submit" })]);
    el.appendChild(form);
    return form;
  };

  /* -- entering the app -------------------------------------------------------------------- */
  function enter() {
    var s = Wg.session();
    if (!s) return showLogin("");
    document.getElementById("wg-login").hidden = true;
    if (s.must_change_password) {
      var box = document.getElementById("wg-password");
      box.textContent = "";
      Wg.passwordForm(box, true);
      box.hidden = false;
      document.getElementById("wg-app").hidden = true;
      return;
    }
    document.getElementById("wg-password").hidden = true;
    document.getElementById("wg-app").hidden = false;
    document.body.classList.add("in");
    buildTabs();
    var first = sortedTabs()[0];
    Wg.show(current && tabs[current] ? current : (first && first.name));
    Wg.emit("login", s);
  }

  /* -- the "me" tab ------------------------------------------------------------------------ */
  var meName = null;  // {worker, name} of the signed-in worker ("me" tab)

  function renderMe(el) {
    var info = Wg.el("div", { class: "card", id: "me-info" });
    var queueBox = Wg.el("div", { class: "card", id: "me-queue" });
    var langBtns = Wg.el("div", { class: "seg" }, [
      Wg.el("button", { type: "button", class: "big", id: "lang-zh", text: "中文",
        onclick: function () { Wg.setLang("zh"); } }),
      Wg.el("button", { type: "button", class: "big", id: "lang-en", text: "English",
        onclick: function () { Wg.setLang("en"); } })]);
    el.appendChild(info);
    el.appendChild(queueBox);
    el.appendChild(Wg.el("div", { class: "card" }, [Wg.el("h2", { "data-t": "me.lang" }),
                                                     langBtns]));
    Wg.passwordForm(el, false);
    el.appendChild(Wg.el("button", { type: "button", class: "big danger", id: "logout",
      "data-t": "me.logout", onclick: function () { Wg.logout("toast.logged_out"); } }));
    function fill() {
      if (!info.isConnected) return;
      var s = Wg.session() || {};
      info.textContent = "";
      info.appendChild(Wg.el("h2", { "data-t": "tab.me" }));
      if (s.worker && meName === null) askName(s.worker);
      [["me.user", s.username], ["me.name", meName && meName.worker === s.worker
        ? meName.name : ""], ["me.role", s.role ? Wg.t("role." + s.role) : ""],
       ["me.worker", s.worker], ["me.grid", s.area],
       ["me.expires", s.expires_at ? Wg.fmtTime(s.expires_at) + " " + Wg.tz : ""]]
        .forEach(function (row) {
          if (!row[1]) return;
          info.appendChild(Wg.el("div", { class: "kv" }, [
            Wg.el("span", { class: "k", text: Wg.t(row[0]) }),
            Wg.el("span", { class: "v", text: row[1] })]));
        });
      if (Wg.queue && Wg.queue.renderList) Wg.queue.renderList(queueBox);
    }
    // the worker's name, from GET /api/v1/me once online (offline the row is left out)
    function askName(worker) {
      meName = { worker: worker, name: "" };
      Wg.api("GET", "/api/v1/me").then(function (r) {
        if (!r.ok || !r.data || !r.data.worker_name) { meName = null; return; }
        meName = { worker: worker, name: r.data.worker_name };
        fill();
      }, function () { meName = null; });
    }
    fill();
    Wg.on("lang", fill);
    Wg.on("login", fill);
    Wg.on("queue", function () {
      if (queueBox.isConnected && Wg.queue && Wg.queue.renderList) Wg.queue.renderList(queueBox);
    });
  }
  Wg.registerTab("me", { labelKey: "tab.me", icon: "☰", order: 90, render: renderMe });

  /* -- start ------------------------------------------------------------------------------- */
  Wg.start = function () {
    if (started) return;
    started = true;
    Wg.i18n.apply(document);
    document.title = Wg.t("app.title");
    renderNet();
    document.getElementById("login-form").addEventListener("submit", onLogin);
    document.getElementById("wg-lang").addEventListener("click", function () {
      Wg.setLang(Wg.lang() === "zh" ? "en" : "zh");
    });
    window.addEventListener("online", function () {
      renderNet();
      Wg.toast(Wg.t("toast.online"), "ok");
      Wg.emit("online");
    });
    window.addEventListener("offline", function () {
      renderNet();
      Wg.toast(Wg.t("toast.offline"), "warn");
      Wg.emit("offline");
    });
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(function (e) {
        console.warn("service worker", e);
      });
    }
    if (Wg.session()) enter(); else showLogin("");
    document.body.setAttribute("data-ready", "1");
    Wg.emit("start");
  };

  document.addEventListener("DOMContentLoaded", function () { Wg.start(); });
})();
