/* 网格通 field app: "my grid" (grids, units and buildings of GET /api/v1/me/grid, kept for
   offline use), Leaflet maps without a basemap, and the phone's position (Wg.geo). */
(function () {
  "use strict";
  var Wg = window.Wg;
  var STORE = "wg.mygrid";
  var memo = null;

  Wg.i18n.add({
    zh: {
      "map.units": "单元 {n} 个",
      "map.buildings": "楼栋 {n} 栋",
      "map.grids": "网格",
      "map.locate": "定位",
      "map.here": "当前位置",
      "map.none": "没有可显示的网格（离线且从未加载过，或账号未分配网格）",
      "map.cached": "离线：显示上次保存的网格",
      "map.acc": "精度约 {m} 米",
      "map.legend_grid": "网格",
      "map.legend_unit": "单元",
      "map.legend_building": "楼栋"
    },
    en: {
      "map.units": "{n} units",
      "map.buildings": "{n} buildings",
      "map.grids": "Grid",
      "map.locate": "Locate",
      "map.here": "You are here",
      "map.none": "No grid to show (offline and never loaded, or no grid assigned)",
      "map.cached": "Offline: showing the saved grid",
      "map.acc": "accuracy about {m} m",
      "map.legend_grid": "Grid",
      "map.legend_unit": "Unit",
      "map.legend_building": "Building"
    }
  });

  function storeKey() {
    var s = Wg.session();
    return STORE + ":" + (s ? s.username : "");
  }

  function saved() {
    try { return JSON.parse(localStorage.getItem(storeKey()) || "null"); } catch (e) { return null; }
  }

  function empty() {
    var fc = { type: "FeatureCollection", features: [] };
    return { grids: fc, units: fc, buildings: fc };
  }

  /* My grid: from the server when online (and saved), else the saved copy. */
  function myGrid(refresh) {
    if (memo && !refresh) return memo;
    memo = Wg.api("GET", "/api/v1/me/grid").then(function (r) {
      if (!r.ok || !r.data) {
        var old = saved();
        if (old) return Object.assign(old, { cached: true });
        return Object.assign(empty(), { error: Wg.errorText(r.data || r) });
      }
      try { localStorage.setItem(storeKey(), JSON.stringify(r.data)); } catch (e) { /* full */ }
      return r.data;
    }, function () {
      var old = saved();
      return old ? Object.assign(old, { cached: true }) : Object.assign(empty(), { offline: true });
    });
    return memo;
  }
  Wg.on("logout", function () { memo = null; });
  Wg.on("login", function () { memo = null; });

  function label(p) {
    p = p || {};
    return p.name || p.grid_name || p.unit_name || p.address || p.code || "";
  }

  function draw(map, data) {
    var layers = [
      L.geoJSON(data.buildings, { style: { color: "#6b7280", weight: 0.8, fillColor: "#9ca3af",
        fillOpacity: 0.55 }, onEachFeature: function (f, l) {
          if (label(f.properties)) l.bindTooltip(label(f.properties));
        }, className: "wg-building" }),
      L.geoJSON(data.units, { style: { color: "#e67700", weight: 2, dashArray: "6 4",
        fillOpacity: 0.04 }, onEachFeature: function (f, l) {
          l.bindTooltip(label(f.properties), { sticky: true });
        } }),
      L.geoJSON(data.grids, { style: { color: "#0d5bd7", weight: 4, fillOpacity: 0.06 },
        onEachFeature: function (f, l) { l.bindTooltip(label(f.properties), { sticky: true }); } })
    ];
    layers.forEach(function (l) { l.addTo(map); });
    var b = layers[2].getBounds();
    if (!b.isValid()) b = layers[1].getBounds();
    // no zoom animation: a log-out meanwhile removes the map mid-animation (Leaflet then throws)
    if (b.isValid()) map.fitBounds(b, { padding: [12, 12], animate: false });
    map.wgLayers = { buildings: layers[0], units: layers[1], grids: layers[2] };
    return data;
  }

  /* A Leaflet map with no tile layer (no basemap is reachable offline) drawing my grid. */
  function create(el, opts) {
    opts = opts || {};
    var map = L.map(el, Object.assign({ attributionControl: false, zoomSnap: 0.5,
      center: [31.3, 120.6], zoom: 14 }, opts.leaflet || {}));
    map.wgReady = myGrid().then(function (data) {
      try { draw(map, data); } catch (e) { /* the map was removed meanwhile */ }
      return data;
    });
    return map;
  }

  /* The phone's position: {lon, lat, acc}; rejects with an Error whose code is no_fix. */
  function current(opts) {
    opts = opts || {};
    return new Promise(function (resolve, reject) {
      function noFix(why) {
        var e = new Error(Wg.t("err.no_fix"));
        e.code = "no_fix";
        e.reason = why;
        reject(e);
      }
      if (!navigator.geolocation) return noFix("unsupported");
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lon: p.coords.longitude, lat: p.coords.latitude, acc: p.coords.accuracy });
      }, function (err) { noFix(err && err.message); },
      { enableHighAccuracy: true, timeout: opts.timeout || 15000, maximumAge: opts.maximumAge || 10000 });
    });
  }

  Wg.maps = { create: create, myGrid: myGrid, draw: draw };
  Wg.geo = { current: current };

  /* -- the "my grid" tab ------------------------------------------------------------------- */
  var tabMap = null;
  var hereMarker = null;

  function summary(box, data) {
    box.textContent = "";
    var grids = (data.grids.features || []).map(function (f) { return label(f.properties); });
    if (!grids.length) {
      box.appendChild(Wg.el("p", { class: "note", text: data.error || Wg.t("map.none") }));
      return;
    }
    box.appendChild(Wg.el("h2", { id: "map-grid-name", text: grids.join("、") }));
    box.appendChild(Wg.el("p", { class: "meta" }, [
      Wg.el("span", { id: "map-units", text: Wg.t("map.units", { n: data.units.features.length }) }),
      " · ",
      Wg.el("span", { text: Wg.t("map.buildings", { n: data.buildings.features.length }) })]));
    if (data.cached) box.appendChild(Wg.el("p", { class: "note", text: Wg.t("map.cached") }));
  }

  function locateMe(status) {
    status.textContent = "…";
    current({ timeout: 10000 }).then(function (p) {
      var ll = [p.lat, p.lon];
      if (!hereMarker) {
        hereMarker = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 3,
          fillColor: "#d6336c", fillOpacity: 1 }).addTo(tabMap).bindTooltip(Wg.t("map.here"));
      } else hereMarker.setLatLng(ll);
      tabMap.setView(ll, Math.max(tabMap.getZoom(), 16));
      status.textContent = Wg.t("map.here") + " · " + Wg.t("map.acc", { m: Math.round(p.acc || 0) });
    }, function (e) { status.textContent = e.message; });
  }

  function render(el) {
    el.classList.add("mapview");
    var box = Wg.el("div", { class: "card overlay", id: "map-summary" });
    var status = Wg.el("span", { class: "meta", id: "map-status" });
    var mapEl = Wg.el("div", { id: "grid-map", class: "map full" });
    var legend = Wg.el("div", { class: "legend" }, [
      Wg.el("span", { class: "sw grid", "data-t": "map.legend_grid" }),
      Wg.el("span", { class: "sw unit", "data-t": "map.legend_unit" }),
      Wg.el("span", { class: "sw building", "data-t": "map.legend_building" })]);
    var btn = Wg.el("button", { type: "button", class: "big fab", id: "map-locate",
      "data-t": "map.locate", onclick: function () { locateMe(status); } });
    el.appendChild(box);
    el.appendChild(Wg.el("div", { class: "mapwrap" }, [mapEl,
      Wg.el("div", { class: "mapbar" }, [legend, status, btn])]));
    tabMap = create(mapEl);
    tabMap.wgReady.then(function (data) {
      summary(box, data);
      document.body.setAttribute("data-map-ready", "1");
    });
    Wg.on("lang", function () { tabMap.wgReady.then(function (d) { summary(box, d); }); });
  }

  Wg.registerTab("map", { labelKey: "tab.map", icon: "▦", order: 10, render: render,
    onShow: function () { if (tabMap) setTimeout(function () { tabMap.invalidateSize(); }, 50); } });

  Wg.on("logout", function () {
    if (tabMap) { tabMap.remove(); tabMap = null; hereMarker = null; }
  });
})();
