/* 网格通 field app: the report queue on the phone (IndexedDB through idb-keyval).

   A report is written to IndexedDB before anything is sent, with its own Idempotency-Key
   (made once, reused on every retry: the server stores it once). Then, in order:
   POST /api/v1/events → the event id is written into the record → each photo is uploaded to
   POST /api/v1/events/{id}/attachments and taken off the record → the record is removed.
   A network failure, 5xx, 429 or a transient 409 leaves the record for the next try (on the
   "online" event and every 30 s); any other 4xx marks it refused with the person's-language
   message and keeps it for the person to fix, retry or discard. Nothing is dropped silently. */
(function () {
  "use strict";
  var Wg = window.Wg;
  var store = idbKeyval.createStore("wangge-m", "queue");
  var PREFIX = "report:";
  var SENT_KEY = "wg.sent";
  var RETRY_LATER = ["idempotency_in_progress", "territory_changing"];
  var flushing = null;

  Wg.i18n.add({
    zh: {
      "q.pending": "待发送",
      "q.photos_pending": "事件已上报，照片待上传（{n} 张）",
      "q.refused": "被退回",
      "q.retry": "重试",
      "q.edit": "修改",
      "q.delete": "删除",
      "q.confirm_delete": "确认删除？",
      "q.other_user": "属于 {user}，需其登录后发送",
      "q.sent_toast": "已发送：事件 #{id}",
      "q.refused_toast": "上报被退回：{msg}",
      "q.photos": "照片 {n} 张",
      "q.event": "事件 #{id}",
      "q.landed": "网格 {grid} · 单元 {unit} · 网格员 {worker}",
      "q.saved_at": "保存于 {t}"
    },
    en: {
      "q.pending": "Waiting",
      "q.photos_pending": "Event reported; {n} photo(s) waiting to upload",
      "q.refused": "Refused",
      "q.retry": "Retry",
      "q.edit": "Edit",
      "q.delete": "Delete",
      "q.confirm_delete": "Really delete?",
      "q.other_user": "Belongs to {user}; sent when they log in",
      "q.sent_toast": "Sent: event #{id}",
      "q.refused_toast": "Report refused: {msg}",
      "q.photos": "{n} photo(s)",
      "q.event": "Event #{id}",
      "q.landed": "Grid {grid} · unit {unit} · worker {worker}",
      "q.saved_at": "Saved {t}"
    }
  });

  function get(id) { return idbKeyval.get(id, store); }
  function put(rec) { return idbKeyval.set(rec.id, rec, store); }
  function del(id) { return idbKeyval.del(id, store); }

  /* Every queued report (all users), oldest first. */
  function list() {
    return idbKeyval.entries(store).then(function (rows) {
      return rows.filter(function (kv) { return String(kv[0]).indexOf(PREFIX) === 0; })
        .map(function (kv) { return kv[1]; })
        .sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
  }

  function mine(rec) {
    var s = Wg.session();
    return s && rec.user === s.username;
  }

  /* Keep a report: {body, label, photos: [File]} → the stored record. */
  function add(report) {
    var s = Wg.session() || {};
    var key = self.crypto.randomUUID();
    var rec = {
      id: PREFIX + key, kind: "report", key: key, user: s.username || null,
      created_at: new Date().toISOString(), body: report.body, label: report.label || {},
      preview: report.preview || null,
      photos: (report.photos || []).map(function (f) {
        return { name: f.name || "photo.jpg", type: f.type || "image/jpeg", size: f.size, blob: f };
      }),
      event_id: null, event: null, state: "pending", error: null, error_code: null, tries: 0
    };
    return put(rec).then(function () { changed(); return rec; });
  }

  function sent() {
    try { return JSON.parse(localStorage.getItem(SENT_KEY) || "[]"); } catch (e) { return []; }
  }

  function remember(rec) {
    var all = sent();
    all.unshift({ event_id: rec.event_id, user: rec.user, label: rec.label, event: rec.event,
                  at: new Date().toISOString(), photos: rec.uploaded || 0 });
    localStorage.setItem(SENT_KEY, JSON.stringify(all.slice(0, 30)));
  }

  function counts() {
    return list().then(function (all) {
      var c = { pending: 0, refused: 0, total: all.length };
      all.forEach(function (r) { if (mine(r)) c[r.state === "refused" ? "refused" : "pending"]++; });
      return c;
    });
  }

  function changed() {
    return counts().then(function (c) {
      Wg.setPending(c.pending, c.refused);
      Wg.queue.last = c;
      Wg.emit("queue", c);
      return c;
    });
  }

  function transient(r) {
    var code = r.data && r.data.error && r.data.error.code;
    return r.status >= 500 || r.status === 429 || r.status === 408 || r.status === 401 ||
      (r.status === 409 && RETRY_LATER.indexOf(code) >= 0);
  }

  async function refuse(rec, r) {
    rec.state = "refused";
    rec.status = r.status;
    rec.error_code = (r.data && r.data.error && r.data.error.code) || null;
    rec.error = Wg.errorText(r.data || r);
    Wg.toast(Wg.t("q.refused_toast", { msg: rec.error }), "error");
    if (await get(rec.id)) await put(rec);  // not brought back if the person deleted it meanwhile
    return "next";
  }

  /* POST the event (same Idempotency-Key every time), then its photos one by one. */
  async function sendOne(rec) {
    rec.tries = (rec.tries || 0) + 1;
    if (!rec.event_id) {
      var r = await Wg.api("POST", "/api/v1/events",
                           { json: rec.body, headers: { "Idempotency-Key": rec.key } });
      if (!r.ok) return transient(r) ? "stop" : refuse(rec, r);
      var ev = r.data.events ? r.data.events[0] : r.data;
      var loc = ev.location || {};
      rec.event_id = ev.id;
      rec.event = { id: ev.id, grid: loc.grid_name || loc.grid, unit: loc.unit,
                    worker: loc.worker_name || loc.worker, status: ev.status };
      rec.uploaded = 0;
      await put(rec);
    }
    while (rec.photos.length) {
      var ph = rec.photos[0];
      var form = new FormData();
      form.append("step", "report");
      form.append("file", ph.blob, ph.name);
      var a = await Wg.api("POST", "/api/v1/events/" + rec.event_id + "/attachments", { form: form });
      if (!a.ok) return transient(a) ? "stop" : refuse(rec, a);
      rec.photos.shift();
      rec.uploaded = (rec.uploaded || 0) + 1;
      await put(rec);
    }
    remember(rec);
    await del(rec.id);
    Wg.toast(Wg.t("q.sent_toast", { id: rec.event_id }), "ok");
    Wg.emit("sent", rec);
    return "next";
  }

  async function run() {
    var all = await list();
    for (var i = 0; i < all.length; i++) {
      var rec = all[i];
      if (!mine(rec) || rec.state !== "pending") continue;
      var fresh = await get(rec.id);  // deleted or changed meanwhile (another tab, the person)
      if (!fresh || fresh.state !== "pending") continue;
      var how;
      try {
        how = await sendOne(fresh);
      } catch (e) {
        if (!e.offline) console.error(e);
        how = "stop";
      }
      await changed();
      if (how === "stop") break;
    }
  }

  /* Send what waits; one flush at a time (and one tab at a time, by a Web Lock). */
  function flush() {
    if (flushing) return flushing;
    if (!Wg.online() || !Wg.session() || Wg.session().must_change_password) return changed();
    var job = navigator.locks ? navigator.locks.request("wg-report-queue", run) : run();
    flushing = job.catch(function (e) { console.error(e); })
      .then(function () { flushing = null; Wg.queue.runs++; return changed(); });
    return flushing;
  }

  function retry(id) {
    return get(id).then(function (rec) {
      if (!rec) return null;
      rec.state = "pending";
      rec.error = null;
      rec.error_code = null;
      return put(rec).then(function () { return changed(); }).then(flush);
    });
  }

  function remove(id) { return del(id).then(changed); }

  /* -- the list in the "me" tab ------------------------------------------------------------ */
  function item(rec) {
    var s = Wg.session() || {};
    var refused = rec.state === "refused";
    var title = (rec.label.item || rec.body.item) + (rec.label.cls ? " · " + rec.label.cls : "");
    var lines = [
      Wg.el("div", { class: "qtitle" }, [
        Wg.el("span", { class: "badge " + (refused ? "bad" : "wait"),
                        text: Wg.t(refused ? "q.refused" : "q.pending") }), " ", title]),
      Wg.el("div", { class: "meta", text: Wg.t("q.saved_at", { t: Wg.fmtTime(rec.created_at) }) +
        " " + Wg.tz + (rec.photos.length ? " · " + Wg.t("q.photos", { n: rec.photos.length }) : "") })
    ];
    if (rec.body.description) lines.push(Wg.el("div", { class: "desc", text: rec.body.description }));
    if (rec.event_id) {
      lines.push(Wg.el("div", { class: "meta", text: Wg.t("q.photos_pending", { n: rec.photos.length }) +
        " · " + Wg.t("q.event", { id: rec.event_id }) }));
    }
    if (refused) lines.push(Wg.el("div", { class: "error qerror", role: "alert", text: rec.error }));
    if (rec.user && rec.user !== s.username) {
      lines.push(Wg.el("div", { class: "note", text: Wg.t("q.other_user", { user: rec.user }) }));
    }
    var del = Wg.el("button", { type: "button", class: "small danger qdelete", "data-t": "q.delete" });
    del.addEventListener("click", function () {
      if (!del.classList.contains("armed")) {
        del.classList.add("armed");
        del.textContent = Wg.t("q.confirm_delete");
        return;
      }
      remove(rec.id);
    });
    var buttons = [Wg.el("button", { type: "button", class: "small primary qretry", "data-t": "q.retry",
      onclick: function () { retry(rec.id); } })];
    if (refused && !rec.event_id && Wg.report && Wg.report.edit) {
      buttons.push(Wg.el("button", { type: "button", class: "small qedit", "data-t": "q.edit",
        onclick: function () { Wg.report.edit(rec); } }));
    }
    buttons.push(del);
    lines.push(Wg.el("div", { class: "row" }, buttons));
    return Wg.el("li", { class: "qitem " + rec.state, "data-id": rec.id }, lines);
  }

  function renderList(el) {
    return list().then(function (all) {
      var s = Wg.session() || {};
      el.textContent = "";
      el.appendChild(Wg.el("h2", { "data-t": "me.queue" }));
      if (!all.length) el.appendChild(Wg.el("p", { class: "note", id: "queue-empty", "data-t": "me.queue_empty" }));
      else el.appendChild(Wg.el("ul", { class: "queue", id: "queue-list" }, all.map(item)));
      el.appendChild(Wg.el("h2", { "data-t": "me.sent" }));
      var done = sent().filter(function (x) { return x.user === s.username; }).slice(0, 10);
      if (!done.length) el.appendChild(Wg.el("p", { class: "note", "data-t": "me.sent_empty" }));
      else {
        el.appendChild(Wg.el("ul", { class: "sent", id: "sent-list" }, done.map(function (x) {
          var ev = x.event || {};
          return Wg.el("li", {}, [
            Wg.el("div", { class: "qtitle" }, [Wg.el("span", { class: "badge ok", "data-t": "me.sent" }),
              " " + Wg.t("q.event", { id: x.event_id }) + " · " + (x.label.item || "")]),
            Wg.el("div", { class: "meta", text: Wg.fmtTime(x.at) + " " + Wg.tz + " · " +
              Wg.t("q.landed", { grid: ev.grid || "—", unit: ev.unit || "—", worker: ev.worker || "—" }) })]);
        })));
      }
    });
  }

  Wg.queue = { store: store, add: add, list: list, flush: flush, retry: retry, remove: remove,
               renderList: renderList, counts: counts, get: get, put: put, last: null, runs: 0 };

  Wg.on("online", flush);
  Wg.on("login", flush);
  Wg.on("start", function () { changed(); flush(); });
  Wg.on("lang", changed);
  setInterval(function () { if (Wg.online()) flush(); }, 30000);
})();
