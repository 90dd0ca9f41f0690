/* 网格通 field app service worker (scope /m/): the app shell opens with no network.
   Shell and vendor files: cache first, refreshed in the background. /api/: network only,
   except GET /api/v1/catalogue and GET /api/v1/me/grid (network first, the last answer kept
   for offline use). Bump CACHE_VERSION when the shell's file list changes. */
"use strict";
var CACHE_VERSION = "wg-m-v1";
var API_CACHE = "wg-api";
var SHELL = [
  "/m/", "/m/index.html", "/m/app.css", "/m/i18n.js", "/m/core.js", "/m/map.js", "/m/queue.js",
  "/m/report.js", "/m/manifest.webmanifest", "/m/icons/icon-192.png", "/m/icons/icon-512.png",
  "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/images/marker-icon.png", "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png", "/static/vendor/leaflet/images/layers.png",
  "/static/vendor/idb-keyval.umd.js", "/static/vendor/exifr.lite.umd.js"
];
// written by the other engineer of the app: cached when there, never blocking the install
var OPTIONAL = ["/m/tasks.js", "/m/patrol.js"];
var API_KEPT = ["/api/v1/catalogue", "/api/v1/me/grid"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE_VERSION).then(function (cache) {
    return cache.addAll(SHELL).then(function () {
      return Promise.all(OPTIONAL.map(function (u) { return cache.add(u).catch(function () {}); }));
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k !== CACHE_VERSION && k !== API_CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function shell(request) {
  var key = request.mode === "navigate" ? "/m/" : request;
  return caches.open(CACHE_VERSION).then(function (cache) {
    return cache.match(key, { ignoreSearch: request.mode === "navigate" }).then(function (hit) {
      var update = fetch(request).then(function (r) {
        if (r.ok) cache.put(key, r.clone());
        return r;
      });
      if (hit) {
        update.catch(function () {});
        return hit;
      }
      return update;
    });
  });
}

function kept(request) {
  return fetch(request).then(function (r) {
    if (r.ok) {
      var copy = r.clone();
      caches.open(API_CACHE).then(function (c) { c.put(request.url, copy); });
    }
    return r;
  }, function () {
    return caches.open(API_CACHE).then(function (c) { return c.match(request.url); })
      .then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/api/") === 0) {
    if (API_KEPT.indexOf(url.pathname) >= 0) event.respondWith(kept(req));
    return;
  }
  if (req.mode === "navigate" && url.pathname.indexOf("/m/") === 0) {
    event.respondWith(shell(req));
    return;
  }
  if (url.pathname.indexOf("/m/") === 0 || url.pathname.indexOf("/static/vendor/") === 0) {
    event.respondWith(shell(req));
  }
});
