// The app's service worker, served as /sw.js (web/pwa.py writes in its version, a digest of
// the deploy and of this file, and the list of files of the app's shell).
//
// - Install: keep the shell (My items and the offline page in both languages, the style
//   sheets, the scripts, the icons). A new version waits until the page asks it to take over
//   (the "A new version is ready — Reload" banner posts SKIP_WAITING).
// - Pages and the API: the network first; a page's answer is kept (unless it says no-store)
//   for the next time the network fails, when the kept copy is shown, else My items for the
//   app's pages, else the offline page.
// - The shell's files: from the cache, else the network.
// - Push: the payload's title, body and tag as a notification; a click opens its page.
"use strict";
const VERSION = "__VERSION__";
const SHELL = ["__SHELL__"];
const SHELL_CACHE = "emstrack-shell-" + VERSION;
const PAGES_CACHE = "emstrack-pages";
// The pages and answers kept for offline use: the most recent ones.
const PAGES_KEPT = 60;

function lang() {
  return (self.navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function langOf(url) {
  const asked = url.searchParams.get("lang");
  return asked && asked.toLowerCase().startsWith("zh") ? "zh" : asked ? "en" : lang();
}

self.addEventListener("install", function (event) {
  // Without credentials: the shell's `?lang=` pages must not set the language cookie.
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL.map(function (url) { return new Request(url, { credentials: "omit" }); }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.startsWith("emstrack-shell-") && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "SKIP_WAITING") { self.skipWaiting(); }
  if (event.data && event.data.type === "VERSION" && event.ports[0]) {
    event.ports[0].postMessage({ version: VERSION });
  }
});

function keep(request, response) {
  const control = response.headers.get("Cache-Control") || "";
  if (response.ok && response.type === "basic" && !/no-store/.test(control)) {
    const copy = response.clone();
    caches.open(PAGES_CACHE).then(function (cache) {
      // Put again at the end, then the oldest beyond PAGES_KEPT let go.
      return cache.delete(request, { ignoreVary: true }).then(function () {
        return cache.put(request, copy);
      }).then(function () { return cache.keys(); }).then(function (keys) {
        return Promise.all(keys.slice(0, Math.max(0, keys.length - PAGES_KEPT)).map(function (key) {
          return cache.delete(key);
        }));
      });
    });
  }
  return response;
}

function fallback(request) {
  const url = new URL(request.url);
  return caches.match(request, { ignoreVary: true }).then(function (kept) {
    if (kept) { return kept; }
    if (request.mode !== "navigate") { return Response.error(); }
    const page = url.pathname === "/app" ? "/app" : "/offline";
    return caches.match(page + "?lang=" + langOf(url), { ignoreVary: true });
  }).then(function (answer) { return answer || Response.error(); });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname === "/sw.js") { return; }
  if (SHELL.indexOf(url.pathname + url.search) >= 0 && request.mode !== "navigate") {
    event.respondWith(caches.match(request, { ignoreVary: true }).then(function (kept) {
      return kept || fetch(request);
    }));
    return;
  }
  event.respondWith(fetch(request).then(function (response) {
    return keep(request, response);
  }, function () { return fallback(request); }));
});

self.addEventListener("push", function (event) {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  const title = data.title || "";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || undefined,
    lang: data.lang || undefined,
    data: { url: data.url || "/app" },
    icon: SHELL.find(function (url) { return url.startsWith("/app/icon-192"); }),
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/app",
                         self.location.origin);
  if (target.origin !== self.location.origin) { return; }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (const client of windows) {
      if (client.url === target.href && "focus" in client) { return client.focus(); }
    }
    return self.clients.openWindow(target.href);
  }));
});
