/* 网格通 field app: report an event (上报事件): class and item from the catalogue, a
   description, photos from the camera, the position (GPS, a pin moved on the map, or a photo's
   EXIF position) and, before sending, where it will land (GET /api/v1/locate). The report is
   handed to the queue (queue.js), which keeps it on the phone until the server has it. */
(function () {
  "use strict";
  var Wg = window.Wg;
  var CATALOGUE_KEY = "wg.catalogue";
  var MAX_PHOTO = 8 * 1000 * 1000;  // the server's default max_photo_bytes
  var MAX_PHOTOS = 9;

  Wg.i18n.add({
    zh: {
      "r.title": "上报事件",
      "r.class": "事件类别",
      "r.item": "事件小类",
      "r.choose": "请选择",
      "r.description": "问题描述",
      "r.description_ph": "在哪里、什么问题、有多严重…",
      "r.photos": "拍照",
      "r.photos_hint": "最多 9 张，每张不超过 8 MB",
      "r.position": "定位",
      "r.locate": "定位",
      "r.use_exif": "使用照片中的位置",
      "r.here": "当前位置",
      "r.src.gps": "GPS 定位",
      "r.src.pin": "地图上的图钉",
      "r.src.exif": "照片中的位置",
      "r.pin_hint": "可拖动图钉或点击地图修改位置",
      "r.no_position": "尚未定位",
      "r.locating": "正在定位…",
      "r.landing": "将落入：",
      "r.grid": "网格",
      "r.unit": "单元",
      "r.worker": "网格员",
      "r.none": "无",
      "r.outside": "在网格外：最近的网格 {grid}（约 {d} 米）",
      "r.unassigned": "不在任何网格内，将由区指挥中心处理",
      "r.offline_locate": "当前离线：发送时再确定网格、单元和网格员",
      "r.submit": "上报",
      "r.saved_offline": "已保存在手机上，联网后自动发送",
      "r.sending": "正在发送…",
      "r.catalogue_missing": "事件目录尚未加载（离线），请联网后再试",
      "r.editing": "正在修改被退回的上报",
      "r.remove_photo": "删除照片",
      "r.accuracy": "精度约 {m} 米"
    },
    en: {
      "r.title": "Report an event",
      "r.class": "Event class",
      "r.item": "Event item",
      "r.choose": "Choose",
      "r.description": "Description",
      "r.description_ph": "Where, what, how bad…",
      "r.photos": "Take photo",
      "r.photos_hint": "Up to 9 photos, 8 MB each",
      "r.position": "Position",
      "r.locate": "Locate",
      "r.use_exif": "Use the photo's position",
      "r.here": "Current position",
      "r.src.gps": "GPS",
      "r.src.pin": "pin on the map",
      "r.src.exif": "photo's position",
      "r.pin_hint": "Drag the pin or tap the map to change the position",
      "r.no_position": "No position yet",
      "r.locating": "Locating…",
      "r.landing": "Will land in:",
      "r.grid": "Grid",
      "r.unit": "Unit",
      "r.worker": "Worker",
      "r.none": "none",
      "r.outside": "Outside the grids: nearest grid {grid} (about {d} m)",
      "r.unassigned": "In no grid: the district centre will handle it",
      "r.offline_locate": "Offline: grid, unit and worker are found when it is sent",
      "r.submit": "Send report",
      "r.saved_offline": "Kept on the phone; it is sent when online",
      "r.sending": "Sending…",
      "r.catalogue_missing": "The event catalogue is not loaded (offline); connect and retry",
      "r.editing": "Editing a refused report",
      "r.remove_photo": "Remove photo",
      "r.accuracy": "accuracy about {m} m"
    }
  });

  var catReady = null;  // the catalogue, loaded once the tab is drawn
  var ui = null;       // elements of the form
  var state = null;    // {catalogue, photos: [File], pos: {lon, lat, acc, src}, exif, editing}

  function fresh() {
    return { catalogue: state ? state.catalogue : null, photos: [], pos: null, exif: null,
             editing: null, place: null };
  }

  /* -- catalogue (public; kept for offline use) -------------------------------------------- */
  function loadCatalogue() {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(CATALOGUE_KEY) || "null"); } catch (e) { /* */ }
    return Wg.api("GET", "/api/v1/catalogue").then(function (r) {
      if (!r.ok) return saved;
      localStorage.setItem(CATALOGUE_KEY, JSON.stringify(r.data));
      return r.data;
    }, function () { return saved; });
  }

  function name(x) {
    return Wg.lang() === "en" ? (x.name || x.name_zh || x.code) : (x.name_zh || x.name || x.code);
  }

  function fillClasses() {
    var cat = state.catalogue;
    var sel = ui.cls;
    var keep = sel.value;
    sel.textContent = "";
    sel.appendChild(Wg.el("option", { value: "", text: Wg.t("r.choose") }));
    ((cat && cat.classes) || []).forEach(function (c) {
      sel.appendChild(Wg.el("option", { value: c.code, text: name(c) }));
    });
    sel.value = keep;
    fillItems();
  }

  function fillItems() {
    var cat = state.catalogue;
    var sel = ui.item;
    var keep = sel.value;
    sel.textContent = "";
    sel.appendChild(Wg.el("option", { value: "", text: Wg.t("r.choose") }));
    var cls = ((cat && cat.classes) || []).filter(function (c) { return c.code === ui.cls.value; })[0];
    (cls ? cls.items : []).forEach(function (it) {
      sel.appendChild(Wg.el("option", { value: it.code, text: name(it) }));
    });
    sel.value = keep;
    sel.disabled = !cls;
  }

  function labels(itemCode) {
    var out = { cls: "", item: itemCode };
    ((state.catalogue && state.catalogue.classes) || []).forEach(function (c) {
      c.items.forEach(function (it) {
        if (it.code === itemCode) { out.cls = name(c); out.item = name(it); }
      });
    });
    return out;
  }

  /* -- photos ------------------------------------------------------------------------------ */
  function addPhotos(files) {
    var problems = [];
    Array.prototype.forEach.call(files, function (f) {
      if (f.size > MAX_PHOTO) return problems.push(Wg.t("err.photo_too_large") + " (" + f.name + ")");
      if (f.type && f.type.indexOf("image/") !== 0) return problems.push(Wg.t("err.not_an_image"));
      if (state.photos.length >= MAX_PHOTOS) return problems.push(Wg.t("err.too_many_attachments"));
      state.photos.push(f);
      readExif(f);
    });
    showError(ui.photoError, problems.join("；"));
    drawThumbs();
  }

  function readExif(f) {
    if (!window.exifr || !exifr.gps) return;
    exifr.gps(f).then(function (g) {
      if (g && isFinite(g.latitude) && isFinite(g.longitude) && !state.exif) {
        state.exif = { lon: g.longitude, lat: g.latitude };
        drawPosition();
        if (!state.pos) usePosition(Object.assign({ src: "exif" }, state.exif));
      }
    }).catch(function () { /* no EXIF: fine */ });
  }

  function drawThumbs() {
    ui.thumbs.textContent = "";
    state.photos.forEach(function (f, i) {
      var img = Wg.el("img", { src: URL.createObjectURL(f), alt: f.name });
      var x = Wg.el("button", { type: "button", class: "thumb-x", "aria-label": Wg.t("r.remove_photo"),
        text: "×", onclick: function () { state.photos.splice(i, 1); drawThumbs(); } });
      ui.thumbs.appendChild(Wg.el("div", { class: "thumb" }, [img, x]));
    });
    ui.thumbs.setAttribute("data-count", String(state.photos.length));
  }

  /* -- position ---------------------------------------------------------------------------- */
  function usePosition(p) {
    state.pos = { lon: p.lon, lat: p.lat, acc: p.acc || null, src: p.src };
    var ll = [p.lat, p.lon];
    ui.marker.setLatLng(ll).setOpacity(1);
    ui.map.setView(ll, Math.max(ui.map.getZoom(), 16));
    drawPosition();
    preview();
  }

  function drawPosition() {
    var p = state.pos;
    ui.posText.textContent = p
      ? Wg.t("r.here") + "：" + p.lon.toFixed(6) + ", " + p.lat.toFixed(6) + "（" + Wg.t("r.src." + p.src) +
        (p.acc ? "，" + Wg.t("r.accuracy", { m: Math.round(p.acc) }) : "") + "）"
      : Wg.t("r.no_position");
    ui.exifBtn.hidden = !state.exif || (p && p.src === "exif");
  }

  function locate() {
    ui.posText.textContent = Wg.t("r.locating");
    showError(ui.posError, "");
    return Wg.geo.current({ timeout: 12000 }).then(function (p) {
      usePosition(Object.assign({ src: "gps" }, p));
    }, function (e) {
      drawPosition();
      showError(ui.posError, e.message + (state.exif ? "" : ""));
      if (state.exif && !state.pos) usePosition(Object.assign({ src: "exif" }, state.exif));
    });
  }

  var previewSeq = 0;
  function preview() {
    var p = state.pos;
    var box = ui.landing;
    box.textContent = "";
    state.place = null;
    drawSummary();
    if (!p) return;
    if (!Wg.online()) {
      box.appendChild(Wg.el("p", { class: "note", id: "landing-offline", text: Wg.t("r.offline_locate") }));
      drawSummary();
      return;
    }
    var seq = ++previewSeq;
    Wg.api("GET", "/api/v1/locate?lon=" + p.lon + "&lat=" + p.lat + "&crs=wgs84").then(function (r) {
      if (seq !== previewSeq) return;
      if (!r.ok) { box.appendChild(Wg.el("p", { class: "error", text: Wg.errorText(r.data || r) })); return; }
      state.place = r.data;
      drawPlace();
    }, function () {
      if (seq === previewSeq) {
        box.appendChild(Wg.el("p", { class: "note", id: "landing-offline", text: Wg.t("r.offline_locate") }));
        drawSummary();
      }
    });
  }

  function drawSummary() {
    var d = state.place;
    var p = state.pos;
    var text = "";
    if (p && !d && !Wg.online()) text = Wg.t("r.offline_locate");
    else if (d && d.status === "unassigned") text = Wg.t("r.unassigned");
    else if (d) {
      text = Wg.t("r.landing") + Wg.t("r.grid") + " " + (d.grid_name || d.grid || Wg.t("r.none")) +
        " / " + Wg.t("r.unit") + " " + (d.unit || Wg.t("r.none")) + " / " + Wg.t("r.worker") + " " +
        (d.worker_name || d.worker || Wg.t("r.none"));
    } else if (!p) text = Wg.t("r.no_position");
    ui.summary.textContent = text;
    ui.summary.hidden = !text;
    ui.summary.className = "landing-summary " + (d && d.status === "inside" ? "ok" : "warn");
  }

  function drawPlace() {
    var d = state.place;
    var box = ui.landing;
    box.textContent = "";
    drawSummary();
    if (!d) return;
    box.setAttribute("data-status", d.status);
    var kv = function (k, v, id) {
      return Wg.el("div", { class: "kv" }, [Wg.el("span", { class: "k", text: Wg.t(k) }),
                                            Wg.el("span", { class: "v", id: id, text: v || Wg.t("r.none") })]);
    };
    box.appendChild(Wg.el("h3", { "data-t": "r.landing" }));
    if (d.status === "unassigned") {
      box.appendChild(Wg.el("p", { class: "note", text: Wg.t("r.unassigned") }));
      return;
    }
    if (d.status === "outside") {
      box.appendChild(Wg.el("p", { class: "note", text: Wg.t("r.outside",
        { grid: d.grid_name || d.grid, d: Math.round(d.distance_m || 0) }) }));
    }
    box.appendChild(kv("r.grid", d.grid_name ? d.grid_name + "（" + d.grid + "）" : d.grid, "landing-grid"));
    box.appendChild(kv("r.unit", d.unit, "landing-unit"));
    box.appendChild(kv("r.worker", d.worker_name ? d.worker_name + "（" + d.worker + "）" : d.worker,
                       "landing-worker"));
  }

  /* -- the form ---------------------------------------------------------------------------- */
  function showError(el, text) { el.textContent = text || ""; el.hidden = !text; }

  function field(labelKey, control, extra) {
    return Wg.el("label", { class: "field" }, [Wg.el("span", { class: "flabel", "data-t": labelKey }),
                                               control].concat(extra || []));
  }

  function build(el) {
    ui = {};
    ui.cls = Wg.el("select", { id: "r-class", onchange: function () { fillItems(); } });
    ui.item = Wg.el("select", { id: "r-item", disabled: true });
    ui.desc = Wg.el("textarea", { id: "r-desc", rows: "3", maxlength: "4000", "data-t-ph": "r.description_ph" });
    ui.file = Wg.el("input", { type: "file", id: "r-photo", accept: "image/*", capture: "environment",
      multiple: true, class: "visually-hidden", onchange: function () {
        addPhotos(ui.file.files);
        ui.file.value = "";
      } });
    ui.thumbs = Wg.el("div", { class: "thumbs", id: "r-thumbs", "data-count": "0" });
    ui.photoError = Wg.el("p", { class: "error", id: "r-photo-error", role: "alert", hidden: true });
    ui.posText = Wg.el("p", { class: "pos", id: "r-pos", "data-t": "r.no_position" });
    ui.posError = Wg.el("p", { class: "error", id: "r-pos-error", role: "alert", hidden: true });
    ui.landing = Wg.el("div", { class: "landing", id: "r-landing" });
    ui.exifBtn = Wg.el("button", { type: "button", class: "big", id: "r-use-exif", hidden: true,
      "data-t": "r.use_exif", onclick: function () {
        if (state.exif) usePosition(Object.assign({ src: "exif" }, state.exif));
      } });
    ui.error = Wg.el("p", { class: "error", id: "r-error", role: "alert", hidden: true });
    ui.editing = Wg.el("p", { class: "note warn", id: "r-editing", hidden: true, "data-t": "r.editing" });
    ui.mapEl = Wg.el("div", { class: "map small", id: "r-map" });
    ui.submit = Wg.el("button", { type: "submit", class: "big primary", id: "r-submit", "data-t": "r.submit" });
    var camera = Wg.el("label", { class: "big camera", for: "r-photo" }, [
      Wg.el("span", { "aria-hidden": "true", class: "cam-icon", text: "◎" }), Wg.el("span", { "data-t": "r.photos" })]);
    ui.summary = Wg.el("div", { class: "landing-summary", id: "r-summary" });
    var form = Wg.el("form", { class: "form", id: "report-form", onsubmit: submit }, [
      Wg.el("h2", { "data-t": "r.title" }), ui.editing,
      Wg.el("div", { class: "card" }, [field("r.class", ui.cls), field("r.item", ui.item)]),
      Wg.el("div", { class: "card" }, [
        Wg.el("div", { class: "row between" }, [Wg.el("h3", { "data-t": "r.position" }),
          Wg.el("button", { type: "button", class: "big", id: "r-locate", "data-t": "r.locate",
                            onclick: locate })]),
        ui.mapEl, Wg.el("p", { class: "meta", "data-t": "r.pin_hint" }), ui.posText, ui.posError,
        ui.exifBtn, ui.landing]),
      Wg.el("div", { class: "card" }, [field("r.description", ui.desc), camera, ui.file,
        Wg.el("p", { class: "meta", "data-t": "r.photos_hint" }), ui.thumbs, ui.photoError]),
      ui.error,
      Wg.el("div", { class: "sendbar" }, [ui.summary, ui.submit])]);
    el.appendChild(form);
    ui.map = Wg.maps.create(ui.mapEl);
    ui.marker = L.marker(ui.map.getCenter(), { draggable: true, opacity: 0.45 }).addTo(ui.map);
    ui.marker.on("dragend", function () {
      var ll = ui.marker.getLatLng();
      usePosition({ lon: ll.lng, lat: ll.lat, src: "pin" });
    });
    ui.map.on("click", function (ev) { usePosition({ lon: ev.latlng.lng, lat: ev.latlng.lat, src: "pin" }); });
    ui.map.wgReady.then(function () { if (!state.pos) ui.marker.setLatLng(ui.map.getCenter()); });
  }

  function submit(ev) {
    ev.preventDefault();
    var s = Wg.session() || {};
    var item = ui.item.value;
    var desc = ui.desc.value.trim();
    if (!state.catalogue) return showError(ui.error, Wg.t("r.catalogue_missing"));
    if (!item) return showError(ui.error, Wg.t("err.item_required"));
    if (!desc) return showError(ui.error, Wg.t("err.description_required"));
    if (!state.pos) return showError(ui.error, Wg.t("err.no_position"));
    showError(ui.error, "");
    var p = state.pos;
    var body = { item: item, source: "worker", lon: +p.lon.toFixed(7), lat: +p.lat.toFixed(7),
                 crs: "wgs84", description: desc, reported_at: new Date().toISOString(),
                 extra: { position: p.src, accuracy_m: p.acc ? Math.round(p.acc) : null, app: "m" } };
    if (s.worker) body.reporter = s.worker;
    var place = state.place;
    var editing = state.editing;
    ui.submit.disabled = true;
    Wg.queue.add({ body: body, label: labels(item), photos: state.photos.slice(),
                   preview: place ? { grid: place.grid, unit: place.unit, worker: place.worker } : null })
      .then(function (rec) {
        return (editing ? Wg.queue.remove(editing) : Promise.resolve()).then(function () { return rec; });
      })
      .then(function () {
        Wg.toast(Wg.t(Wg.online() ? "r.sending" : "r.saved_offline"), Wg.online() ? "info" : "warn");
        reset();
        Wg.queue.flush();
      }, function (e) { showError(ui.error, String(e && e.message || e)); })
      .then(function () { ui.submit.disabled = false; });
  }

  function reset() {
    var keepPos = state.pos && state.pos.src === "gps" ? state.pos : null;
    state = fresh();
    ui.desc.value = "";
    ui.item.value = "";
    ui.editing.hidden = true;
    drawThumbs();
    showError(ui.photoError, "");
    ui.landing.textContent = "";
    if (keepPos) usePosition(keepPos); else { ui.marker.setOpacity(0.45); drawPosition(); drawSummary(); }
  }

  /* Load a refused report (not yet stored by the server) into the form to fix it. */
  function edit(rec) {
    Wg.show("report");
    catReady.then(function () { fill(rec); });
  }

  function fill(rec) {
    state.editing = rec.id;
    state.photos = rec.photos.map(function (ph) {
      return new File([ph.blob], ph.name, { type: ph.type });
    });
    ui.editing.hidden = false;
    var cls = ((state.catalogue && state.catalogue.classes) || []).filter(function (c) {
      return c.items.some(function (it) { return it.code === rec.body.item; });
    })[0];
    ui.cls.value = cls ? cls.code : "";
    fillItems();
    ui.item.value = cls ? rec.body.item : "";
    ui.desc.value = rec.body.description || "";
    drawThumbs();
    if (rec.body.lon !== undefined && rec.body.lon !== null) {
      usePosition({ lon: rec.body.lon, lat: rec.body.lat, src: (rec.body.extra && rec.body.extra.position) || "pin" });
    }
  }

  function render(el) {
    state = fresh();
    build(el);
    drawPosition();
    drawSummary();
    catReady = loadCatalogue().then(function (cat) {
      state.catalogue = cat;
      fillClasses();
      el.setAttribute("data-catalogue", cat ? "1" : "0");
    });
    Wg.on("lang", function () {
      if (!el.isConnected) return;
      fillClasses();
      drawPosition();
      drawPlace();
    });
    Wg.on("online", function () { if (el.isConnected) preview(); });
    Wg.on("offline", function () { if (el.isConnected && !state.place) drawSummary(); });
    locate();
  }

  Wg.report = { edit: edit, state: function () { return state; } };
  Wg.registerTab("report", { labelKey: "tab.report", icon: "✎", order: 20, render: render,
    onShow: function () { if (ui && ui.map) setTimeout(function () { ui.map.invalidateSize(); }, 50); } });
})();
