/* The resident page (/r/): report a problem, follow it by its tracking code, see points.
   No inline scripts (CSP): everything is wired here with addEventListener. */
"use strict";
(function () {
  const API = "/api/v1/resident";
  const LANG_KEY = "wg.r.lang";
  const state = {lang: "zh", lon: null, lat: null, how: null, acc: null, photos: [],
                 map: null, pin: null, items: null, code: null};
  const $ = (id) => document.getElementById(id);

  // -- language ------------------------------------------------------------------------------
  function t(key, params) {
    const table = window.RI18N[state.lang] || window.RI18N.zh;
    let s = table[key] !== undefined ? table[key] : (window.RI18N.zh[key] || key);
    Object.entries(params || {}).forEach(([k, v]) => { s = s.split("{" + k + "}").join(v); });
    return s;
  }
  function has(key) { return window.RI18N[state.lang][key] !== undefined; }

  function applyLang() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    document.querySelectorAll("[data-tp]").forEach((el) => { el.placeholder = t(el.dataset.tp); });
    $("lang").textContent = state.lang === "zh" ? "EN" : "中文";
    fillItems();
    showWhere();
    if (state.lastStatus) renderStatus(state.lastStatus);
    if (state.lastPoints) renderPoints(state.lastPoints);
    if (state.lastDone) renderDone(state.lastDone);
    hideMessage();
  }

  function setLang(lang) {
    state.lang = lang === "en" ? "en" : "zh";
    try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* private mode */ }
    applyLang();
  }

  // -- messages and errors -------------------------------------------------------------------
  function showMessage(text, kind) {
    const el = $("message");
    el.textContent = text;
    el.className = "message " + (kind || "error");
    el.hidden = false;
    el.scrollIntoView({block: "nearest"});
  }
  function hideMessage() { $("message").hidden = true; }

  function errorText(body, status) {
    const err = body && body.error;
    if (err && err.code && has("err." + err.code)) return t("err." + err.code);
    if (err && err.message) return err.message;
    if (status === 429) return t("err.too_many_reports");
    return t("err.internal_error");
  }

  async function call(method, path, body) {
    let r;
    try {
      r = await fetch(path, {method, body, headers: {"Accept": "application/json"}});
    } catch (e) {
      throw new Error(t("err.network"));
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) throw new Error(errorText(data, r.status));
    return data;
  }

  // -- times ----------------------------------------------------------------------------------
  // The API gives times in China Standard Time (+08:00): shown as they are, labelled.
  function fmtTime(iso) {
    return String(iso).slice(0, 10) + " " + String(iso).slice(11, 16) + " (" + t("tz") + ")";
  }

  // -- the item picker ------------------------------------------------------------------------
  async function loadItems() {
    try {
      const data = await call("GET", API + "/items");
      state.items = data.classes;
      fillItems();
    } catch (e) { showMessage(e.message); }
  }

  function fillItems() {
    const sel = $("item");
    if (!state.items) return;
    const keep = sel.value;
    sel.textContent = "";
    const first = document.createElement("option");
    first.value = "";
    first.textContent = t("f.item.pick");
    sel.appendChild(first);
    state.items.forEach((c) => {
      const group = document.createElement("optgroup");
      group.label = state.lang === "zh" ? c.name : c.name_en;
      c.items.forEach((i) => {
        const o = document.createElement("option");
        o.value = i.code;
        o.textContent = state.lang === "zh" ? i.name : i.name_en;
        group.appendChild(o);
      });
      sel.appendChild(group);
    });
    sel.value = keep;
  }

  // -- location: GPS, a pin, or an address ---------------------------------------------------
  function setPlace(lon, lat, how, acc) {
    state.lon = lon; state.lat = lat; state.how = how; state.acc = acc;
    if (state.map) {
      const ll = [lat, lon];
      if (!state.pin) state.pin = L.marker(ll).addTo(state.map);
      else state.pin.setLatLng(ll);
      if (how === "gps") state.map.setView(ll, Math.max(state.map.getZoom(), 16), {animate: false});
    }
    showWhere();
  }

  function showWhere() {
    const el = $("where");
    if (state.lon === null) { el.textContent = t("f.where.none"); el.classList.remove("ok"); return; }
    const p = {lon: state.lon.toFixed(5), lat: state.lat.toFixed(5),
               acc: state.acc === null ? "?" : Math.round(state.acc)};
    el.textContent = t(state.how === "gps" ? "f.where.gps" : "f.where.pin", p);
    el.classList.add("ok");
  }

  function locate() {
    hideMessage();
    if (!navigator.geolocation) { showMessage(t("err.no_geolocation")); return; }
    const btn = $("gps");
    btn.disabled = true;
    btn.textContent = t("f.gps.busy");
    const done = () => { btn.disabled = false; btn.textContent = t("f.gps"); };
    navigator.geolocation.getCurrentPosition((pos) => {
      done();
      setPlace(pos.coords.longitude, pos.coords.latitude, "gps", pos.coords.accuracy);
    }, () => { done(); showMessage(t("err.no_fix")); },
    {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  async function initMap() {
    if (!window.L) return;
    const map = L.map("map", {zoomControl: true, attributionControl: false, zoomSnap: 0.25});
    state.map = map;
    map.setView([31.3, 120.6], 13);  // replaced by the district's outline once it is loaded
    map.on("click", (e) => setPlace(e.latlng.lng, e.latlng.lat, "pin", null));
    try {
      const fc = await call("GET", API + "/area");
      const layer = L.geoJSON(fc, {
        style: (f) => f.properties.level === "district"
          ? {color: "#b71c1c", weight: 2, fill: false}
          : {color: "#555", weight: 1, fillColor: "#90caf9", fillOpacity: 0.12},
        onEachFeature: (f, l) => { if (f.properties.level === "grid") l.bindTooltip(f.properties.name); },
      }).addTo(map);
      layer.on("click", (e) => setPlace(e.latlng.lng, e.latlng.lat, "pin", null));
      if (fc.features.length) map.fitBounds(layer.getBounds(), {padding: [8, 8]});
    } catch (e) { /* the map stays empty; GPS and the address still work */ }
  }

  // -- photos ---------------------------------------------------------------------------------
  function addPhotos(files) {
    Array.from(files).forEach((f) => state.photos.push(f));
    $("photo").value = "";
    renderPreviews();
  }

  function renderPreviews() {
    const box = $("previews");
    box.textContent = "";
    state.photos.forEach((f, i) => {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = URL.createObjectURL(f);
      img.alt = f.name;
      img.addEventListener("load", () => URL.revokeObjectURL(img.src));
      const rm = document.createElement("button");
      rm.type = "button";
      rm.className = "remove";
      rm.textContent = "×";
      rm.setAttribute("aria-label", t("f.photo.remove"));
      rm.addEventListener("click", () => { state.photos.splice(i, 1); renderPreviews(); });
      fig.appendChild(img);
      fig.appendChild(rm);
      box.appendChild(fig);
    });
  }

  // -- report ---------------------------------------------------------------------------------
  async function submitReport(ev) {
    ev.preventDefault();
    hideMessage();
    const item = $("item").value;
    if (!item) { showMessage(t("err.item_required")); return; }
    const form = new FormData();
    form.append("item", item);
    form.append("description", $("description").value.trim());
    if (state.lon !== null) {
      form.append("lon", String(state.lon));
      form.append("lat", String(state.lat));
    }
    const address = $("address").value.trim();
    if (address) form.append("address", address);
    const phone = $("phone").value.trim();
    if (phone) form.append("phone", phone);
    state.photos.forEach((f) => form.append("photo", f, f.name));
    const btn = $("submit");
    btn.disabled = true;
    btn.textContent = t("f.sending");
    try {
      const got = await call("POST", API + "/reports", form);
      state.lastDone = got;
      resetForm();
      location.hash = "#/done/" + encodeURIComponent(got.tracking_code);
    } catch (e) {
      showMessage(e.message);
    } finally {
      btn.disabled = false;
      btn.textContent = t("f.submit");
    }
  }

  function resetForm() {
    $("report-form").reset();
    state.photos = [];
    renderPreviews();
    state.lon = state.lat = state.acc = state.how = null;
    if (state.pin) { state.pin.remove(); state.pin = null; }
    showWhere();
  }

  function renderDone(got) {
    $("code").textContent = got.tracking_code;
    $("status-link").href = "#/status/" + encodeURIComponent(got.tracking_code);
    const notes = [];
    if (got.photos) notes.push(t("done.photos", {n: got.photos}));
    if (!got.located) notes.push(t("done.unlocated"));
    $("done-note").textContent = notes.join(" ");
  }

  async function copyCode() {
    const code = $("code").textContent;
    try {
      await navigator.clipboard.writeText(code);
    } catch (e) {  // no clipboard permission: select the code for a long-press copy
      const range = document.createRange();
      range.selectNodeContents($("code"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    showMessage(t("done.copied"), "ok");
  }

  // -- status by code -------------------------------------------------------------------------
  async function lookUp(code) {
    hideMessage();
    $("status-card").hidden = true;
    if (!code) { showMessage(t("err.code_required")); return; }
    $("status-code").value = code;
    try {
      const st = await call("GET", API + "/reports/" + encodeURIComponent(code));
      state.lastStatus = st;
      renderStatus(st);
    } catch (e) { state.lastStatus = null; showMessage(e.message); }
  }

  function renderStatus(st) {
    const zh = state.lang === "zh";
    $("s-status").textContent = has("status." + st.status) ? t("status." + st.status) : st.status_label;
    $("s-status").className = "st-" + st.status;
    $("s-item").textContent = zh ? st.class_name + " · " + st.item_name : st.item_name_en;
    $("s-reported").textContent = fmtTime(st.reported_at);
    $("s-phone").textContent = st.phone || t("s.none");
    $("s-photos").textContent = t("s.photos.n", {n: st.photos});
    const ol = $("s-history");
    ol.textContent = "";
    st.history.forEach((h) => {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = has("step." + h.action) ? t("step." + h.action) : h.label;
      const when = document.createElement("time");
      when.dateTime = h.at;
      when.textContent = fmtTime(h.at);
      li.appendChild(what);
      li.appendChild(when);
      ol.appendChild(li);
    });
    $("status-card").hidden = false;
  }

  // -- points ---------------------------------------------------------------------------------
  async function lookUpPoints(ev) {
    ev.preventDefault();
    hideMessage();
    $("points-card").hidden = true;
    const phone = $("points-phone").value.trim();
    const code = $("points-code").value.trim();
    if (!phone || !code) { showMessage(t("err.points_required")); return; }
    const q = new URLSearchParams({phone, code});
    try {
      const got = await call("GET", API + "/points?" + q.toString());
      state.lastPoints = got;
      renderPoints(got);
    } catch (e) { state.lastPoints = null; showMessage(e.message); }
  }

  function renderPoints(got) {
    $("p-phone").textContent = got.phone;
    $("p-balance").textContent = String(got.balance);
    const ol = $("p-entries");
    ol.textContent = "";
    if (!got.entries.length) {
      const li = document.createElement("li");
      li.textContent = t("p.empty");
      ol.appendChild(li);
    }
    got.entries.forEach((e) => {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.className = "what";
      const reason = has("reason." + e.reason) ? t("reason." + e.reason) : e.reason;
      what.textContent = t("p.entry", {points: e.points, reason, item: e.item_name || "",
                                        code: e.tracking_code || ""});
      const when = document.createElement("time");
      when.textContent = fmtTime(e.awarded_at);
      li.appendChild(what);
      li.appendChild(when);
      ol.appendChild(li);
    });
    $("points-card").hidden = false;
  }

  // -- views ----------------------------------------------------------------------------------
  function route() {
    const parts = (location.hash || "#/report").slice(2).split("/");
    let view = parts[0] || "report";
    const arg = parts[1] ? decodeURIComponent(parts[1]) : "";
    const query = new URLSearchParams(location.search).get("code");
    if (!location.hash && query) { view = "status"; }
    if (!["report", "done", "status", "points"].includes(view)) view = "report";
    if (view === "done" && !state.lastDone) view = arg ? "status" : "report";
    document.querySelectorAll(".view").forEach((s) => { s.hidden = s.id !== "view-" + view; });
    document.querySelectorAll(".tabs a").forEach((a) => {
      a.classList.toggle("active", a.dataset.view === view || (view === "done" && a.dataset.view === "report"));
    });
    hideMessage();
    if (view === "done") renderDone(state.lastDone);
    if (view === "status" && (arg || query)) lookUp(arg || query);
    if (view === "report" && state.map) setTimeout(() => state.map.invalidateSize(), 0);
  }

  function start() {
    let saved = null;
    try { saved = localStorage.getItem(LANG_KEY); } catch (e) { saved = null; }
    state.lang = saved === "en" ? "en" : "zh";
    $("lang").addEventListener("click", () => setLang(state.lang === "zh" ? "en" : "zh"));
    $("gps").addEventListener("click", locate);
    $("photo").addEventListener("change", (e) => addPhotos(e.target.files));
    $("report-form").addEventListener("submit", submitReport);
    $("copy").addEventListener("click", copyCode);
    $("status-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const code = $("status-code").value.trim().toUpperCase();
      if (!code) { showMessage(t("err.code_required")); return; }
      if (location.hash === "#/status/" + code) lookUp(code);
      else location.hash = "#/status/" + encodeURIComponent(code);
    });
    $("points-form").addEventListener("submit", lookUpPoints);
    window.addEventListener("hashchange", route);
    applyLang();
    loadItems();
    initMap();
    route();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
