// My items' two optional links with the server (templates/app.html):
//
// - "Keep my list on all my devices": sign in by a link sent by e-mail (POST
//   /api/v1/app/sign-in); signed in, this device's list and the server's are merged both ways
//   (GET/POST /api/v1/app/items), each item added or removed here is added or removed there,
//   and the person can sign out or delete the server's list (after a confirmation). An item
//   that was on the server once (`synced`) and is no longer there was removed on another
//   device: it is removed here too; one never sent is sent.
// - "Notify me on this device": shown when the server has push keys (GET /api/v1/push/key):
//   the browser's permission, a push subscription with the server's key, and the numbers of
//   the list followed on it (POST /api/v1/push/subscriptions); each item added or removed
//   changes that; switched off, every number of this browser is let go (DELETE).
import * as store from "/static/app-store.js";

const $ = function (id) { return document.getElementById(id); };
const JSON_HEADERS = { "Content-Type": "application/json", "Accept": "application/json" };
let words = null;
let changed = function () {};
let signedIn = false;

function say(template, values) {
  return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
}

function api(method, path, body) {
  return fetch(path, {
    method: method,
    headers: JSON_HEADERS,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) {
        const error = new Error(data.detail || data.title || "HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return data;
    });
  });
}

// --- signing in and the server's list ---------------------------------------------------
function showSignedIn(yes) {
  signedIn = yes;
  $("app-sync-out").hidden = yes;
  $("app-sync-in").hidden = !yes;
  $("app-delete-confirm").hidden = true;
}

function merge() {
  return Promise.all([api("GET", "/api/v1/app/items"), store.all()]).then(function (both) {
    const server = new Map(both[0].items.map(function (item) { return [item.number, item]; }));
    const local = both[1];
    const send = [];
    const work = [];
    local.forEach(function (item) {
      if (server.has(item.number)) {
        if (!item.synced) { work.push(store.update(item.number, { synced: true })); }
        server.delete(item.number);
      } else if (item.synced) {
        work.push(store.remove(item.number)); // removed on another device
      } else {
        send.push({ number: item.number, label: item.label || null });
      }
    });
    server.forEach(function (item) {
      work.push(store.keep({ number: item.number, label: item.label, added: item.added_at,
                             answer: null, fetched: null, synced: true }));
    });
    return Promise.all(work).then(function () {
      if (!send.length) { return null; }
      return api("POST", "/api/v1/app/items", { items: send }).then(function (answer) {
        const kept = new Set(answer.items.map(function (item) { return item.number; }));
        return Promise.all(send.filter(function (item) { return kept.has(item.number); })
          .map(function (item) { return store.update(item.number, { synced: true }); }));
      });
    });
  }).then(function () { changed(); });
}

function signIn(event) {
  event.preventDefault();
  const email = $("app-email");
  const result = $("app-sign-in-result");
  result.textContent = "";
  result.className = "";
  if (!email.value.trim() || !email.checkValidity()) {
    result.className = "form-error";
    result.textContent = words.email_needed;
    email.focus();
    return;
  }
  api("POST", "/api/v1/app/sign-in", { email: email.value.trim(), lang: words.lang }).then(function (answer) {
    result.className = "app-added";
    result.textContent = say(words.check_mail, { minutes: Math.round((answer.expires_in || 1800) / 60) });
    email.value = "";
  }, function (error) {
    result.className = "form-error";
    result.textContent = error.status === 429 ? words.too_many_requests : words.sync_failed;
  });
}

function signOut() {
  api("POST", "/api/v1/app/sign-out", { everywhere: false }).then(function () {
    return forget();
  }).then(function () {
    showSignedIn(false);
    $("app-sync-status").textContent = words.signed_out;
  }, function () { $("app-sync-status").textContent = words.sync_failed; });
}

function deleteList() {
  api("DELETE", "/api/v1/app/account").then(function () {
    return forget();
  }).then(function () {
    showSignedIn(false);
    $("app-sync-status").textContent = words.list_deleted;
    $("app-sign-in").querySelector("input").focus();
  }, function () { $("app-sync-status").textContent = words.sync_failed; });
}

// Signed out: the list stays on this device, as a list of this device alone.
function forget() {
  return store.all().then(function (items) {
    return Promise.all(items.filter(function (item) { return item.synced; }).map(function (item) {
      return store.update(item.number, { synced: false });
    }));
  });
}

function setupSync() {
  return api("GET", "/api/v1/app/me").then(function (me) {
    $("app-sync").hidden = false;
    $("app-sign-in").addEventListener("submit", signIn);
    $("app-sign-out").addEventListener("click", signOut);
    $("app-delete").addEventListener("click", function () {
      $("app-delete-confirm").hidden = false;
      $("app-delete-no").focus();
    });
    $("app-delete-no").addEventListener("click", function () {
      $("app-delete-confirm").hidden = true;
      $("app-delete").focus();
    });
    $("app-delete-yes").addEventListener("click", deleteList);
    showSignedIn(Boolean(me.signed_in));
    if (me.signed_in) {
      if (new URLSearchParams(location.search).get("signed_in")) {
        $("app-sync-status").textContent = words.signed_in;
      }
      return merge();
    }
    return null;
  }, function () { /* no account service (or offline): the panel stays hidden */ });
}

// --- push -------------------------------------------------------------------------------
let pushKey = null;

function base64url(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); });
}

function subscription() {
  if (!("serviceWorker" in navigator)) { return Promise.resolve(null); }
  return navigator.serviceWorker.ready.then(function (registration) {
    return registration.pushManager.getSubscription();
  });
}

function follow(sub, numbers) {
  if (!sub || !numbers.length) { return Promise.resolve(); }
  return api("POST", "/api/v1/push/subscriptions", {
    subscription: sub.toJSON(),
    numbers: numbers,
    lang: words.lang,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || null,
  });
}

function pushOn() {
  const status = $("app-push-status");
  return Notification.requestPermission().then(function (permission) {
    if (permission !== "granted") { throw new Error(words.push_denied); }
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    return registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: base64url(pushKey),
    });
  }).then(function (sub) {
    return store.all().then(function (items) {
      return follow(sub, items.map(function (item) { return item.number; }));
    });
  }).then(function () {
    status.textContent = words.push_on;
  }, function (error) {
    $("app-push").checked = false;
    status.textContent = error && error.message === words.push_denied ? words.push_denied : words.push_failed;
  });
}

function pushOff() {
  return subscription().then(function (sub) {
    if (!sub) { return null; }
    return api("DELETE", "/api/v1/push/subscriptions", { endpoint: sub.endpoint })
      .then(function () { return sub.unsubscribe(); });
  }).then(function () { $("app-push-status").textContent = words.push_off; },
          function () { $("app-push-status").textContent = words.push_failed; });
}

function setupPush() {
  if (!("PushManager" in window) || !("Notification" in window) || !("serviceWorker" in navigator)) {
    return Promise.resolve();
  }
  return api("GET", "/api/v1/push/key").then(function (answer) {
    pushKey = answer.public_key;
    const box = $("app-push");
    box.addEventListener("change", function () { if (box.checked) { pushOn(); } else { pushOff(); } });
    return subscription().then(function (sub) {
      // Shown once its state is known (the worker is ready): never a switch that flips alone.
      box.checked = Boolean(sub);
      $("app-push-panel").hidden = false;
      // Followed on this browser again, each time the app opens: what was added elsewhere
      // (an item's page, another device) too. The same numbers again change nothing.
      return sub ? store.all().then(function (items) {
        return follow(sub, items.map(function (item) { return item.number; }));
      }) : null;
    });
  }, function () { /* not configured (404 webpush_unavailable): no switch */ });
}

// --- what My items tells this module ----------------------------------------------------
export function added(numbers) {
  const work = [];
  if (signedIn) {
    work.push(api("POST", "/api/v1/app/items", {
      items: numbers.map(function (number) { return { number: number, label: null }; }),
    }).then(function () {
      return Promise.all(numbers.map(function (number) {
        return store.update(number, { synced: true });
      }));
    }));
  }
  if (pushKey) { work.push(subscription().then(function (sub) { return follow(sub, numbers); })); }
  return Promise.all(work).catch(function () { /* kept on the device; merged next time */ });
}

export function removed(number) {
  const work = [];
  if (signedIn) { work.push(api("DELETE", "/api/v1/app/items/" + encodeURIComponent(number))); }
  if (pushKey) {
    work.push(subscription().then(function (sub) {
      return sub ? api("DELETE", "/api/v1/push/subscriptions", { endpoint: sub.endpoint, numbers: [number] }) : null;
    }));
  }
  return Promise.all(work).catch(function () {});
}

export function setup(appWords, onChange) {
  words = appWords;
  changed = onChange;
  return Promise.all([setupSync(), setupPush()]);
}
