/* 网格通 field app, tab "patrol" (巡查): start / stop a patrol; while on, every GPS fix is
   written to IndexedDB FIRST, then cut into numbered chunks (up to 50 fixes, or every 30 s)
   that are POSTed to /api/v1/patrols/chunks as the network allows. A chunk once formed keeps
   its seq and its fixes until the server answered 2xx (a retry sends the very same chunk; the
   server stores a chunk once). Closing or reloading the app loses nothing: the unfinished
   track is found in IndexedDB at start-up and recording resumes. The map shows the recorded
   line, today's tracks and the units due for a visit (GET /api/v1/patrols/due). */
(function () {
  "use strict";
  const Wg = window.Wg;
  const K = window.idbKeyval;
  const L = window.L;
  // tests may shorten the timings (window.WG_PATROL_CONFIG set before the page's scripts)
  const CFG = Object.assign({ chunkMax: 50, everyMs: 30000, tickMs: 5000 },
    window.WG_PATROL_CONFIG || {});
  const store = K.createStore("wangge-patrol", "fixes");
  const TRACK = "track";
  const DONE = "done";
  const pad = (n) => String(n).padStart(7, "0");
  const fixKey = (uid, i) => "f:" + uid + ":" + pad(i);
  const chunkKey = (uid, seq) => "c:" + uid + ":" + pad(seq);
  const RETRY = [408, 425, 429, 500, 502, 503, 504];

  Wg.i18n.add({
    zh: {
      "patrol.start": "开始巡查", "patrol.stop": "结束巡查",
      "patrol.recording": "正在记录巡查轨迹", "patrol.idle": "未在巡查",
      "patrol.resumed": "已恢复未结束的巡查，继续记录",
      "patrol.stopping": "巡查已结束，正在上传剩余轨迹",
      "patrol.elapsed": "时长", "patrol.distance": "距离", "patrol.points": "定位点",
      "patrol.pending": "待上传", "patrol.keep_on": "浏览器只在页面可见时提供定位：巡查时请保持屏幕常亮、停留在本页面。",
      "patrol.no_geo": "此设备无法定位", "patrol.geo_denied": "未获得定位权限：请在浏览器设置中允许定位",
      "patrol.geo_error": "定位失败：{msg}", "patrol.no_fix_yet": "正在等待定位…",
      "patrol.empty": "本次巡查没有记录到定位点，未上传",
      "patrol.uploaded": "巡查轨迹已全部上传", "patrol.last": "上次巡查：{start} 起，{km}，{n} 个点",
      "patrol.refused": "{n} 段轨迹被服务器拒绝：{msg}", "patrol.discard": "丢弃被拒绝的轨迹段",
      "patrol.other_user": "本机有另一位网格员未上传的巡查，需其本人登录后上传",
      "patrol.due": "待走访单元", "patrol.due_none": "暂无待走访单元",
      "patrol.due_today": "今日还需巡查 {n} 次", "patrol.last_visit": "上次走访 {time}",
      "patrol.never": "从未走访", "patrol.due_offline": "离线：无法获取待走访单元",
      "patrol.today": "今日巡查记录", "patrol.today_none": "今日暂无已上传的巡查",
      "patrol.track_row": "{start}–{end} · {km}", "patrol.tz": "时间为北京时间",
      "patrol.m": "{n} 米", "patrol.km": "{n} 公里", "patrol.confirm_stop": "确定结束本次巡查？",
    },
    en: {
      "patrol.start": "Start patrol", "patrol.stop": "Stop patrol",
      "patrol.recording": "Recording the patrol", "patrol.idle": "Not patrolling",
      "patrol.resumed": "An unfinished patrol was resumed; recording goes on",
      "patrol.stopping": "Patrol stopped; uploading the rest of the track",
      "patrol.elapsed": "Time", "patrol.distance": "Distance", "patrol.points": "Fixes",
      "patrol.pending": "To upload", "patrol.keep_on": "Browsers give positions only to a visible page: keep the screen on and this page open while patrolling.",
      "patrol.no_geo": "This device cannot give a position",
      "patrol.geo_denied": "No permission to use the position: allow it in the browser settings",
      "patrol.geo_error": "No position: {msg}", "patrol.no_fix_yet": "Waiting for a position…",
      "patrol.empty": "No position was recorded on this patrol; nothing to upload",
      "patrol.uploaded": "The patrol track is uploaded", "patrol.last": "Last patrol: from {start}, {km}, {n} fixes",
      "patrol.refused": "{n} chunk(s) refused by the server: {msg}",
      "patrol.discard": "Discard the refused chunks",
      "patrol.other_user": "Another worker's patrol waits on this phone; it uploads when they log in",
      "patrol.due": "Units due for a visit", "patrol.due_none": "No unit is due",
      "patrol.due_today": "{n} patrol(s) still due today", "patrol.last_visit": "Last visit {time}",
      "patrol.never": "Never visited", "patrol.due_offline": "Offline: units due cannot be loaded",
      "patrol.today": "Today's patrols", "patrol.today_none": "No patrol uploaded today",
      "patrol.track_row": "{start}–{end} · {km}", "patrol.tz": "Times are China Standard Time",
      "patrol.m": "{n} m", "patrol.km": "{n} km", "patrol.confirm_stop": "Stop this patrol?",
    },
  });

  const CSS = `
.wp-root{padding:8px 10px 16px;font-size:15px}
.wp-card{border:1px solid #ddd;border-radius:8px;padding:10px;margin:8px 0;background:#fff}
.wp-btn{width:100%;padding:14px;font-size:18px;border:none;border-radius:8px;color:#fff;
  background:#2e7d32}
.wp-btn.stop{background:#c62828}
.wp-stats{display:grid;grid-template-columns:repeat(4,1fr);gap:4px;text-align:center;
  margin-top:8px}
.wp-stats b{display:block;font-size:17px}
.wp-stats span{font-size:12px;color:#666}
.wp-status{margin-top:6px;font-size:14px;color:#1b5e20}
.wp-note{font-size:12px;color:#8a6d00;background:#fff8e1;padding:4px 6px;border-radius:4px;
  margin-top:6px}
.wp-warn{font-size:13px;color:#b71c1c;margin-top:6px}
.wp-map{height:260px;border-radius:8px;margin:8px 0;background:#eef}
.wp-list{list-style:none;padding:0;margin:0}
.wp-list li{padding:6px 2px;border-bottom:1px solid #eee;font-size:14px}
.wp-list small{color:#666;display:block}
.wp-h{font-weight:bold;margin:12px 0 4px}
.wp-alt{margin-top:6px;padding:8px;border:none;border-radius:6px;background:#eceff1}
`;

  /* -- IndexedDB: one transaction per step -------------------------------------------------- */
  function tx(mode, body) {
    return store(mode, (s) => {
      const box = { out: undefined };
      body(s, box);
      return K.promisifyRequest(s.transaction).then(() => box.out);
    });
  }

  const mem = { st: null, line: [], lineUid: null, watchId: null, wake: null, serial:
    Promise.resolve(), flushing: null, refused: [], other: 0, view: null, geoMsg: "" };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  function metres(a, b) {
    return L.latLng(a.lat, a.lon).distanceTo(L.latLng(b.lat, b.lon));
  }

  /* Append one fix (and the track's counters) in one transaction; the new state. */
  function appendFix(fix) {
    return tx("readwrite", (s, box) => {
      const r = s.get(TRACK);
      r.onsuccess = () => {
        const st = r.result;
        if (!st || st.stopping) return;
        if (st.last && Date.parse(fix.t) <= Date.parse(st.last.t)) return; // no time travel
        s.put(fix, fixKey(st.uid, st.count));
        st.distance_m += st.last ? metres(st.last, fix) : 0;
        st.count += 1;
        st.last = fix;
        s.put(st, TRACK);
        box.out = st;
      };
    });
  }

  /* Cut the next chunk from the fixes not in one yet; true when one was formed. While
     recording, the newest fix stays out (so that stopping always has a fix for the final
     chunk); a chunk is cut at chunkMax fixes, or after everyMs with at least one. */
  function formOne(final) {
    return tx("readwrite", (s, box) => {
      const r = s.get(TRACK);
      r.onsuccess = () => {
        const st = r.result;
        if (!st) return;
        const pending = st.count - st.chunked;
        let n = 0;
        if (final || st.stopping) n = Math.min(CFG.chunkMax, pending);
        else if (pending - 1 >= CFG.chunkMax) n = CFG.chunkMax;
        else if (pending - 1 >= 1 && Date.now() - st.lastChunkAt >= CFG.everyMs) n = pending - 1;
        if (n <= 0) return;
        const isFinal = (final || st.stopping) && n === pending;
        const g = s.getAll(IDBKeyRange.bound(fixKey(st.uid, st.chunked),
          fixKey(st.uid, st.chunked + n - 1)));
        g.onsuccess = () => {
          const chunk = { track_uid: st.uid, seq: st.nextSeq, worker: st.worker, crs: "wgs84",
            fixes: g.result, final: isFinal };
          s.put(chunk, chunkKey(st.uid, st.nextSeq));
          st.chunked += n;
          st.nextSeq += 1;
          st.lastChunkAt = Date.now();
          s.put(st, TRACK);
          mem.st = st;
          box.out = true;
        };
      };
    });
  }

  async function formChunks(final) {
    while (await formOne(final)) { /* cut every chunk that is ready */ }
  }

  /* -- upload ----------------------------------------------------------------------------- */
  function flush() {
    if (!mem.flushing) {
      mem.flushing = sendAll().catch((e) => console.warn("patrol upload", e))
        .finally(() => { mem.flushing = null; draw(); });
    }
    return mem.flushing;
  }

  async function sendAll() {
    const s = Wg.session();
    const keys = (await K.keys(store)).filter((k) => String(k).startsWith("c:")).sort();
    const refused = [];
    let other = 0;
    for (const key of keys) {
      const chunk = await K.get(key, store);
      if (!chunk) continue;
      if (chunk.refused) { refused.push({ key, msg: chunk.refused }); continue; }
      if (!s || (s.worker && chunk.worker && s.worker !== chunk.worker)) { other += 1; continue; }
      if (!Wg.online()) break;
      let res;
      try {
        res = await Wg.api("POST", "/api/v1/patrols/chunks", { json: {
          track_uid: chunk.track_uid, seq: chunk.seq, worker: chunk.worker || undefined,
          crs: chunk.crs, fixes: chunk.fixes, final: chunk.final } });
      } catch (e) {
        break; // offline: the chunk waits, unchanged
      }
      if (res.ok) { await acknowledged(key, chunk, res.data); continue; }
      if (RETRY.includes(res.status) || res.status === 401 || res.status === 403) break;
      chunk.refused = Wg.errorText(res.data || res);
      await K.set(key, chunk, store);
      refused.push({ key, msg: chunk.refused });
    }
    mem.refused = refused;
    mem.other = other;
  }

  /* The server stored a chunk: drop it; after the final one the track is done. */
  function acknowledged(key, chunk, answer) {
    return tx("readwrite", (s) => {
      s.delete(key);
      const r = s.get(TRACK);
      r.onsuccess = () => {
        const st = r.result;
        const mine = st && st.uid === chunk.track_uid;
        if (mine) st.sent += chunk.fixes.length;
        if (!chunk.final) { if (mine) { s.put(st, TRACK); mem.st = st; } return; }
        s.delete(IDBKeyRange.bound(fixKey(chunk.track_uid, 0), fixKey(chunk.track_uid, 9999999)));
        if (!mine) return;
        s.delete(TRACK);
        s.put({ uid: st.uid, started_at: st.started_at, ended_at: st.last && st.last.t,
          count: st.count, distance_m: st.distance_m, track: answer && answer.track }, DONE);
        mem.st = null;
        mem.justDone = true;
      };
    });
  }

  async function discardRefused() {
    await K.delMany(mem.refused.map((r) => r.key), store);
    mem.refused = [];
    draw();
  }

  /* -- recording ---------------------------------------------------------------------------- */
  function onPosition(p) {
    const c = p.coords;
    const fix = { lon: c.longitude, lat: c.latitude, t: new Date(p.timestamp || Date.now())
      .toISOString(), acc: Math.round((c.accuracy || 0) * 10) / 10 };
    mem.geoMsg = "";
    // one fix after the other: IndexedDB first, then the line, chunks and upload
    mem.serial = mem.serial.then(async () => {
      const st = await appendFix(fix);
      if (!st) return;
      mem.st = st;
      if (mem.lineUid === st.uid) mem.line.push([fix.lat, fix.lon]);
      await formChunks(false);
      draw();
      flush();
    }).catch((e) => console.error("patrol fix", e));
  }

  function onGeoError(err) {
    mem.geoMsg = err && err.code === 1 ? Wg.t("patrol.geo_denied")
      : Wg.t("patrol.geo_error", { msg: (err && err.message) || "?" });
    draw();
  }

  function watch() {
    if (mem.watchId !== null) return;
    if (!navigator.geolocation) { mem.geoMsg = Wg.t("patrol.no_geo"); return; }
    mem.watchId = navigator.geolocation.watchPosition(onPosition, onGeoError,
      { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 });
    keepAwake();
  }

  function unwatch() {
    if (mem.watchId !== null) navigator.geolocation.clearWatch(mem.watchId);
    mem.watchId = null;
    if (mem.wake) { mem.wake.release().catch(() => {}); mem.wake = null; }
  }

  /* Ask the screen to stay on while patrolling (where the browser can). */
  function keepAwake() {
    if (!navigator.wakeLock || mem.wake || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").then((w) => { mem.wake = w; }, () => {});
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && mem.watchId !== null) {
      mem.wake = null;
      keepAwake();
    }
  });

  const mine = (st, s) => !!(st && s && (!st.worker || st.worker === s.worker));

  async function start() {
    const s = Wg.session();
    if (!s) return;
    const old = await K.get(TRACK, store);
    if (old && !mine(old, s)) { Wg.toast(Wg.t("patrol.other_user"), "warn"); return; }
    if (old) { mem.st = old; await resume(); return; } // already recording (another view)
    const now = Date.now();
    const st = { uid: uuid(), worker: s.worker || null, username: s.username,
      started_at: new Date(now).toISOString(), count: 0, chunked: 0, sent: 0, nextSeq: 0,
      lastChunkAt: now, distance_m: 0, last: null, stopping: false };
    await K.set(TRACK, st, store);
    mem.st = st;
    mem.line = [];
    mem.lineUid = st.uid;
    mem.resumed = false;
    watch();
    draw();
  }

  async function stop() {
    unwatch();
    await mem.serial; // the fixes already delivered are written first
    const st = await tx("readwrite", (s, box) => {
      const r = s.get(TRACK);
      r.onsuccess = () => {
        const cur = r.result;
        if (!cur) return;
        if (cur.count === 0) { s.delete(TRACK); box.out = { empty: true }; return; }
        cur.stopping = true;
        s.put(cur, TRACK);
        box.out = cur;
      };
    });
    if (st && st.empty) { mem.st = null; Wg.toast(Wg.t("patrol.empty"), "warn"); draw(); return; }
    mem.st = st || null;
    await formChunks(true);
    draw();
    await flush();
  }

  /* At start-up and log-in: an unfinished track goes on recording; its chunks upload. */
  async function resume() {
    const s = Wg.session();
    if (!s) return;
    const st = await K.get(TRACK, store);
    mem.st = mine(st, s) ? st : null; // another worker's track waits for them
    if (mem.st) {
      if (mem.lineUid !== st.uid) {
        const fixes = await store("readonly", (os) => K.promisifyRequest(os.getAll(
          IDBKeyRange.bound(fixKey(st.uid, 0), fixKey(st.uid, 9999999)))));
        mem.line = fixes.map((f) => [f.lat, f.lon]);
        mem.lineUid = st.uid;
      }
      if (st.stopping) await formChunks(true);
      else if (mem.watchId === null) { mem.resumed = true; watch(); }
    }
    draw();
    flush();
  }

  function tick() {
    if (!Wg.session()) return;
    if (mem.st && !mem.st.stopping && mem.watchId !== null) {
      mem.serial = mem.serial.then(() => formChunks(false)).catch(() => {});
    }
    mem.serial.then(() => flush());
  }

  /* -- the view ------------------------------------------------------------------------------ */
  function h(tag, attrs, kids) { return Wg.el(tag, attrs, kids); }

  function km(m) {
    return m >= 1000 ? Wg.t("patrol.km", { n: (m / 1000).toFixed(2) })
      : Wg.t("patrol.m", { n: Math.round(m) });
  }

  function hms(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60]
      .map((v) => String(v).padStart(2, "0")).join(":");
  }

  function render(el) {
    if (!document.getElementById("wp-css")) {
      document.head.appendChild(h("style", { id: "wp-css", text: CSS }));
    }
    const v = {
      btn: h("button", { type: "button", class: "wp-btn", id: "patrol-toggle",
        onclick: toggle }),
      status: h("div", { class: "wp-status", id: "patrol-status" }),
      warn: h("div", { class: "wp-warn", id: "patrol-warn", hidden: true }),
      stats: h("div", { class: "wp-stats", id: "patrol-stats" }),
      extra: h("div", {}),
      map: h("div", { class: "wp-map", id: "patrol-map" }),
      due: h("div", { id: "patrol-due" }),
      today: h("div", { id: "patrol-today" }),
    };
    el.appendChild(h("div", { class: "wp-root" }, [
      h("div", { class: "wp-card" }, [v.btn, v.stats, v.status, v.warn, v.extra,
        h("div", { class: "wp-note", "data-t": "patrol.keep_on" })]),
      v.map,
      h("div", { class: "wp-card" }, [v.due]),
      h("div", { class: "wp-card" }, [v.today]),
    ]));
    mem.view = v;
    v.lmap = Wg.maps.create(v.map, { leaflet: { zoomAnimation: false } });
    v.lineLayer = L.polyline([], { color: "#d6336c", weight: 4, className: "wp-line" }).addTo(v.lmap);
    v.dueLayer = L.layerGroup().addTo(v.lmap);
    v.todayLayer = L.layerGroup().addTo(v.lmap);
    draw();
    loadSide();
  }

  function toggle() {
    const on = mem.st && !mem.st.stopping;
    if (on) stop(); else start();
  }

  function stat(value, key, id) {
    return h("div", {}, [h("b", { id, text: value }), h("span", { "data-t": key })]);
  }

  function draw() {
    const v = mem.view;
    if (!v || !v.btn.isConnected) return;
    const st = mem.st;
    const on = !!(st && !st.stopping);
    v.btn.textContent = Wg.t(on ? "patrol.stop" : "patrol.start");
    v.btn.className = "wp-btn" + (on ? " stop" : "");
    v.btn.setAttribute("data-on", on ? "1" : "0");
    const count = st ? st.count : 0;
    v.stats.replaceChildren(
      stat(st ? hms(Date.now() - Date.parse(st.started_at)) : "00:00:00", "patrol.elapsed",
        "patrol-elapsed"),
      stat(km(st ? st.distance_m : 0), "patrol.distance", "patrol-distance"),
      stat(String(count), "patrol.points", "patrol-points"),
      stat(String(st ? st.count - st.sent : 0), "patrol.pending", "patrol-pending"));
    let status = Wg.t("patrol.idle");
    if (st && st.stopping) status = Wg.t("patrol.stopping");
    else if (on) status = Wg.t(mem.resumed ? "patrol.resumed" : "patrol.recording")
      + (count ? "" : " · " + Wg.t("patrol.no_fix_yet"));
    v.status.textContent = status;
    v.status.setAttribute("data-state", st ? (st.stopping ? "stopping" : "on") : "idle");
    v.warn.textContent = mem.geoMsg;
    v.warn.hidden = !mem.geoMsg;
    drawExtra(v);
    if (mem.lineUid && st && mem.lineUid === st.uid) v.lineLayer.setLatLngs(mem.line);
    else if (!st) v.lineLayer.setLatLngs([]);
    if (mem.justDone) { mem.justDone = false; Wg.toast(Wg.t("patrol.uploaded"), "ok"); loadSide(); }
  }

  function drawExtra(v) {
    const kids = [];
    if (mem.refused.length) {
      kids.push(h("div", { class: "wp-warn", text: Wg.t("patrol.refused", {
        n: mem.refused.length, msg: mem.refused[0].msg }) }));
      kids.push(h("button", { type: "button", class: "wp-alt", "data-t": "patrol.discard",
        onclick: discardRefused }));
    }
    if (mem.other) kids.push(h("div", { class: "wp-warn", "data-t": "patrol.other_user" }));
    if (!mem.st && mem.done) {
      const d = mem.done;
      kids.push(h("div", { class: "wp-status", id: "patrol-last", "data-uid": d.uid,
        text: Wg.t("patrol.last", { start: Wg.fmtTime(d.started_at) + " " + Wg.tz,
          km: km(d.distance_m || 0), n: d.count }) }));
    }
    v.extra.replaceChildren(...kids);
  }

  /* Units due for a visit and today's tracks (both need the network). */
  async function loadSide() {
    const v = mem.view;
    if (!v) return;
    mem.done = (await K.get(DONE, store)) || null;
    drawExtra(v);
    const s = Wg.session();
    const who = s && s.worker ? "?worker=" + encodeURIComponent(s.worker) : "";
    try {
      const [due, today] = await Promise.all([
        Wg.api("GET", "/api/v1/patrols/due" + who),
        Wg.api("GET", "/api/v1/patrols/tracks" + who)]);
      drawDue(v, due.ok ? due.data : null, due.ok ? "" : Wg.errorText(due.data || due));
      drawToday(v, today.ok ? today.data : null, today.ok ? "" : Wg.errorText(today.data || today));
    } catch (e) {
      drawDue(v, null, Wg.t("patrol.due_offline"));
      drawToday(v, null, Wg.t("err.offline"));
    }
  }

  function dueUnits(data) {
    const out = [];
    let patrols = 0;
    ((data && data.reminders) || []).forEach((r) => {
      patrols += r.patrols_due || 0;
      (r.units || []).forEach((u) => out.push(u));
    });
    return { units: out, patrols };
  }

  function drawDue(v, data, err) {
    v.dueLayer.clearLayers();
    const { units, patrols } = dueUnits(data);
    const kids = [h("div", { class: "wp-h", "data-t": "patrol.due" })];
    if (patrols) kids.push(h("div", { class: "wp-status", id: "patrol-due-today",
      text: Wg.t("patrol.due_today", { n: patrols }) }));
    if (err) kids.push(h("div", { class: "wp-warn", text: err }));
    else if (!units.length) kids.push(h("div", { "data-t": "patrol.due_none" }));
    const list = h("ul", { class: "wp-list", id: "patrol-due-list" });
    units.forEach((u) => {
      const when = u.last_visit ? Wg.t("patrol.last_visit", { time: Wg.fmtTime(u.last_visit)
        + " " + Wg.tz }) : Wg.t("patrol.never");
      const name = u.name || u.unit;
      list.appendChild(h("li", { "data-unit": u.unit }, [name + " (" + u.unit + ")",
        h("small", { text: when })]));
      if (u.lat !== null && u.lat !== undefined) {
        L.circleMarker([u.lat, u.lon], { radius: 7, color: "#e67700", weight: 2,
          fillColor: "#ffd43b", fillOpacity: 0.9, className: "wp-due" }).bindTooltip(name + " · " + when)
          .addTo(v.dueLayer);
      }
    });
    kids.push(list);
    v.due.replaceChildren(...kids);
  }

  function drawToday(v, data, err) {
    v.todayLayer.clearLayers();
    const feats = (data && data.features) || [];
    const kids = [h("div", { class: "wp-h", text: Wg.t("patrol.today") + " (" + Wg.tz + ")" })];
    if (err) kids.push(h("div", { class: "wp-warn", text: err }));
    else if (!feats.length) kids.push(h("div", { "data-t": "patrol.today_none" }));
    const list = h("ul", { class: "wp-list", id: "patrol-today-list" });
    feats.forEach((f) => {
      const p = f.properties || {};
      list.appendChild(h("li", { "data-uid": p.uid, text: Wg.t("patrol.track_row", {
        start: Wg.fmtTime(p.started_at), end: Wg.fmtTime(p.ended_at).slice(11),
        km: km(p.length_m || 0) }) }));
      if (f.geometry) {
        L.geoJSON(f.geometry, { style: { color: "#5c7cfa", weight: 3, opacity: 0.7, className: "wp-track" } })
          .addTo(v.todayLayer);
      }
    });
    kids.push(list);
    v.today.replaceChildren(...kids);
  }

  function onShow() {
    const v = mem.view;
    if (!v) return;
    setTimeout(() => {
      v.lmap.invalidateSize();
      const b = v.lineLayer.getLatLngs().length ? v.lineLayer.getBounds() : null;
      if (b && b.isValid()) v.lmap.fitBounds(b, { padding: [20, 20], maxZoom: 17, animate: false });
    }, 60);
    loadSide();
  }

  Wg.registerTab("patrol", { labelKey: "tab.patrol", icon: "◉", order: 40, render, onShow });
  Wg.on("start", resume);
  Wg.on("login", resume);
  Wg.on("online", () => flush());
  Wg.on("lang", () => { draw(); loadSide(); });
  Wg.on("logout", () => {
    unwatch();
    if (mem.view && mem.view.lmap) mem.view.lmap.remove();
    mem.view = null;
    mem.lineUid = null;
  });
  setInterval(tick, CFG.tickMs);
  setInterval(() => { if (mem.st && !mem.st.stopping) draw(); }, 1000);
  Wg.patrol = { flush, resume, state: () => mem.st, CFG };
})();
