// My items, the app's home screen (templates/app.html, web/pwa.py): the numbers this device
// follows, kept on it (static/app-store.js), each with its status, headline and last scan,
// updated from the public batch lookup when the app opens, on Refresh and on a pull down.
// Added by typing or pasting numbers (checked by the lookup itself: an invalid number is said
// with the lookup's own reason), removed by a swipe or the Remove button, with Undo. Offline,
// the kept answers show with when they were last updated, and each opens in a detail view.
import * as account from "/static/app-account.js";
import * as store from "/static/app-store.js";

const BATCH = 50;
const words = JSON.parse(document.getElementById("app-main").dataset.words);
const $ = function (id) { return document.getElementById(id); };

// What the site's split_entries does (emstrack.domain.s10): one number per line, comma or
// semicolon; spaces part whole numbers only, so "EE 123 456 785 CN" stays one.
const SEPARATORS = /[\n\r,;，；、]+/;
function compact(text) { return text.normalize("NFKC").toUpperCase().replace(/[\s\-‐-―._/·]/g, ""); }
export function entries(text) {
  const out = [];
  text.split(SEPARATORS).forEach(function (chunk) {
    const parts = chunk.trim().split(/\s+/).filter(Boolean);
    if (parts.length > 1 && parts.every(function (w) { return compact(w).length >= 11; })) {
      out.push.apply(out, parts);
    } else if (parts.length) {
      out.push(parts.join(" "));
    }
  });
  return out;
}

function say(template, values) {
  return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
}

// "3 hours ago" / "3小时前", in the steps Babel takes on the pages (format_timedelta).
const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60], ["second", 1]];
const relative = new Intl.RelativeTimeFormat(words.lang, { numeric: "always" });
const justNow = new Intl.RelativeTimeFormat(words.lang, { numeric: "auto" }).format(0, "second");
export function ago(iso, now) {
  const seconds = Math.max(0, ((now || Date.now()) - Date.parse(iso)) / 1000);
  if (seconds < 45) { return justNow; }
  for (const [unit, size] of UNITS) {
    if (seconds / size >= 1.1 || unit === "second") {
      return relative.format(-Math.round(seconds / size), unit);
    }
  }
  return "";
}

// An event's wall-clock time as the item page says it ("Aug 6, 2026 13:09", "2026年8月6日 13:09"):
// the local time of the place of the scan, read as it is written (no conversion).
const DAY = new Intl.DateTimeFormat(words.lang, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
const CLOCK = new Intl.DateTimeFormat(words.lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
function wallClock(local) {
  const at = new Date(local.slice(0, 19) + "Z");
  return isNaN(at) ? local : DAY.format(at) + " " + CLOCK.format(at);
}

function status(answer) {
  if (!answer) { return { text: words.never_updated, tone: "neutral" }; }
  if (answer.outcome === "found") {
    return { text: answer.status_label || "", tone: words.tones[answer.status] || "neutral" };
  }
  return { text: words[answer.outcome] || "", tone: "neutral" };
}

function formatted(item) {
  return (item.answer && item.answer.formatted) || item.number;
}

// --- the list ---------------------------------------------------------------------------
let items = [];
let offline = !navigator.onLine;
// The last update failed (offline, or the server did not answer): the answers may be old.
let stale = false;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

function card(item) {
  const answer = item.answer;
  const shown = status(answer);
  const li = el("li", "app-item tone-" + shown.tone);
  li.dataset.number = item.number;
  const body = el("div", "app-item-body");
  const open = el("a", "app-item-open");
  open.href = "#item=" + encodeURIComponent(item.number);
  if (item.label) { open.append(el("span", "app-item-label", item.label)); }
  open.append(el("span", "app-item-number", formatted(item)), el("span", "app-item-status", shown.text));
  body.append(open);
  if (answer && answer.headline) { body.append(el("p", "app-item-headline", answer.headline)); }
  const foot = el("div", "app-item-foot");
  const times = el("div", "app-item-times");
  const last = answer && answer.item && answer.item.last_event_utc_time;
  if (last) { times.append(el("p", "app-item-when", say(words.last_scan, { ago: ago(last) }))); }
  if ((offline || stale) && item.fetched) {
    times.append(el("p", "app-item-updated", say(words.last_updated, { ago: ago(item.fetched) })));
  }
  const remove = el("button", "app-remove button secondary small", words.remove);
  remove.type = "button";
  remove.setAttribute("aria-label", say(words.remove_label, { number: formatted(item) }));
  remove.addEventListener("click", function () { drop(item.number, true); });
  foot.append(times, remove);
  li.append(body, foot);
  swipeable(li, item.number);
  return li;
}

function render() {
  const list = $("app-items");
  list.replaceChildren.apply(list, items.map(card));
  $("app-empty").hidden = items.length > 0;
  $("app-offline").hidden = !offline;
  if (location.hash.startsWith("#item=")) { detail(); }
}

function load() {
  return store.all().then(function (kept) { items = kept; render(); });
}

// --- updating ---------------------------------------------------------------------------
function lookup(numbers) {
  const chunks = [];
  for (let i = 0; i < numbers.length; i += BATCH) { chunks.push(numbers.slice(i, i + BATCH)); }
  return Promise.all(chunks.map(function (chunk) {
    return fetch("/api/v1/tracking/batch", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ numbers: chunk, lang: words.lang }),
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  })).then(function (answers) {
    return answers.flatMap(function (answer) { return answer.results; });
  });
}

let updating = null;
function refresh() {
  if (updating) { return updating; }
  if (!items.length) { return Promise.resolve(); }
  $("app-status").textContent = words.updating;
  const numbers = items.map(function (item) { return item.number; });
  updating = lookup(numbers).then(function (results) {
    offline = false;
    stale = false;
    const now = new Date().toISOString();
    return Promise.all(results.map(function (answer, i) {
      // Into the stored record as it is now, if it is still kept: the list may have changed
      // while the answers came (an item removed, a merge that marked items synced).
      return store.update(numbers[i], { answer: answer, fetched: now });
    })).then(function () {
      $("app-status").textContent = words.updated;
    });
  }, function () {
    offline = !navigator.onLine;
    stale = true;
    $("app-status").textContent = offline ? words.offline : words.failed;
  }).then(load, load).catch(render).finally(function () { updating = null; });
  return updating;
}

// --- adding -----------------------------------------------------------------------------
function add(event) {
  event.preventDefault();
  const box = $("app-numbers");
  const result = $("app-add-result");
  result.replaceChildren();
  const asked = entries(box.value);
  if (!asked.length) { return note(result, words.empty_input, true); }
  if (asked.length > BATCH) { return note(result, say(words.too_many, { count: BATCH }), true); }
  lookup(asked).then(function (answers) {
    const added = [];
    const already = [];
    const wrong = [];
    return answers.reduce(function (done, answer) {
      return done.then(function () {
        if (answer.outcome === "invalid") {
          wrong.push(say(words.invalid, { number: answer.formatted || answer.number, reason: why(answer) }));
          return null;
        }
        return store.follow(answer.number, answer).then(function (isNew) {
          (isNew ? added : already).push(answer.formatted || answer.number);
        });
      });
    }, Promise.resolve()).then(function () {
      if (added.length) {
        note(result, say(words.added, { numbers: added.join(", ") }), false);
        account.added(answers.filter(function (a) { return added.indexOf(a.formatted || a.number) >= 0; })
          .map(function (a) { return a.number; }));
      }
      if (already.length) { note(result, say(words.already, { numbers: already.join(", ") }), false); }
      wrong.forEach(function (text) { note(result, text, true); });
      // What was wrong stays in the box to be corrected; the rest is done.
      box.value = answers.filter(function (a) { return a.outcome === "invalid"; })
        .map(function (a) { return a.number; }).join("\n");
      return load();
    });
  }, function () {
    note(result, navigator.onLine ? words.failed : words.offline, true);
  });
}

// What is wrong with a number, in the lookup's own words (its problems, in the page's
// language), and the numbers it was probably meant to be.
function why(answer) {
  const errors = (answer.problems || []).filter(function (p) { return p.severity === "error"; });
  let text = errors.length ? errors.map(function (p) { return p.message; }).join(" ")
    : (answer.diagnosis ? answer.diagnosis.message : "");
  const meant = (answer.suggestions || []).slice(0, 2).map(function (s) { return s.formatted; });
  if (meant.length) { text += " " + say(words.did_you_mean, { numbers: meant.join(", ") }); }
  return text;
}

function note(where, text, problem) {
  const p = el("p", problem ? "form-error" : "app-added", text);
  if (problem) { p.setAttribute("role", "alert"); }
  where.append(p);
}

// --- removing, with undo ----------------------------------------------------------------
let undoTimer = null;
let removed = null;
function drop(number, fromButton) {
  const index = items.findIndex(function (x) { return x.number === number; });
  if (index < 0) { return; }
  const item = items[index];
  store.remove(number).then(load).then(function () {
    account.removed(number);
    removed = item;
    $("app-toast-text").textContent = say(words.removed, { number: formatted(item) });
    $("app-toast").hidden = false;
    if (fromButton) { $("app-undo").focus(); }
    window.clearTimeout(undoTimer);
    undoTimer = window.setTimeout(function () { $("app-toast").hidden = true; removed = null; }, 10000);
  });
}

function undo() {
  if (!removed) { return; }
  const item = removed;
  removed = null;
  window.clearTimeout(undoTimer);
  $("app-toast").hidden = true;
  // Back as an item not yet on the server: `added` sends it and marks it synced once sent, so
  // that a failed send leaves it to be sent by the next merge rather than removed by it.
  store.put(Object.assign({}, item, { synced: false })).then(load).then(function () {
    account.added([item.number]);
    const back = document.querySelector('.app-item[data-number="' + item.number + '"] .app-item-open');
    if (back) { back.focus(); }
  });
}

// A swipe to the side on a card removes it (touch screens; the button does it everywhere).
function swipeable(li, number) {
  let startX = null;
  let startY = null;
  let dx = 0;
  li.addEventListener("touchstart", function (e) {
    startX = e.touches[0].clientX; startY = e.touches[0].clientY; dx = 0;
  }, { passive: true });
  li.addEventListener("touchmove", function (e) {
    if (startX === null) { return; }
    dx = e.touches[0].clientX - startX;
    if (Math.abs(dx) > Math.abs(e.touches[0].clientY - startY)) {
      li.style.transform = "translateX(" + dx + "px)";
      li.classList.add("app-swiping");
    }
  }, { passive: true });
  li.addEventListener("touchend", function () {
    const far = Math.abs(dx) > li.offsetWidth * 0.35;
    li.style.transform = "";
    li.classList.remove("app-swiping");
    startX = null;
    if (far) { drop(number, false); }
  });
}

// A pull down from the top of the list updates it (touch screens; Refresh does it everywhere).
function pullable() {
  const pull = $("app-pull");
  let startY = null;
  let dy = 0;
  const home = $("app-home");
  home.addEventListener("touchstart", function (e) {
    startY = window.scrollY <= 0 ? e.touches[0].clientY : null; dy = 0;
  }, { passive: true });
  home.addEventListener("touchmove", function (e) {
    if (startY === null) { return; }
    dy = e.touches[0].clientY - startY;
    if (dy > 10) {
      pull.textContent = dy > 70 ? words.release : words.pull;
      pull.classList.add("app-pulling");
    }
  }, { passive: true });
  home.addEventListener("touchend", function () {
    pull.classList.remove("app-pulling");
    pull.textContent = "";
    if (startY !== null && dy > 70) { refresh(); }
    startY = null;
  });
}

// --- one item's last answer -------------------------------------------------------------
function detail() {
  const number = decodeURIComponent(location.hash.slice("#item=".length));
  const item = items.find(function (x) { return x.number === number; });
  if (!item) { return home(); }
  const answer = item.answer || {};
  const shown = status(item.answer);
  $("app-home").hidden = true;
  $("app-detail").hidden = false;
  $("app-detail-title").textContent = formatted(item);
  $("app-detail-banner").className = "banner tone-" + shown.tone;
  $("app-detail-status").textContent = shown.text;
  $("app-detail-headline").textContent = answer.headline || (answer.diagnosis ? answer.diagnosis.message : "");
  $("app-detail-updated").textContent = item.fetched ? say(words.last_updated, { ago: ago(item.fetched) }) : words.never_updated;
  const events = (answer.events || []).map(function (e) {
    const li = el("li", "app-event");
    li.append(el("strong", "", e.label || ""));
    const place = [e.office_name, e.country_name].filter(Boolean).join(words.lang.startsWith("zh") ? "，" : ", ");
    const when = e.local_time ? wallClock(e.local_time) + (e.utc_offset_label ? " (" + e.utc_offset_label + ")" : "") : "";
    li.append(el("span", "app-event-when", when));
    if (place) { li.append(el("span", "app-event-place", place)); }
    return li;
  });
  $("app-detail-events").replaceChildren.apply($("app-detail-events"), events);
  $("app-detail-link").href = "/track/" + encodeURIComponent(item.number);
  $("app-detail-title").focus();
}

function home() {
  $("app-detail").hidden = true;
  $("app-home").hidden = false;
}

// --- the service worker and its updates -------------------------------------------------
function worker() {
  if (!("serviceWorker" in navigator)) { return; }
  // Reloaded when the new worker asked for takes over; not when the first one claims the page.
  let asked = false;
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (!asked) { return; }
    asked = false;
    window.location.reload();
  });
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (registration) {
    const offer = function () {
      if (!registration.waiting || !navigator.serviceWorker.controller) { return; }
      $("app-update").hidden = false;
      $("app-reload").onclick = function () {
        if (registration.waiting) {
          asked = true;
          registration.waiting.postMessage({ type: "SKIP_WAITING" });
        }
      };
    };
    offer();
    registration.addEventListener("updatefound", function () {
      const next = registration.installing;
      if (!next) { return; }
      next.addEventListener("statechange", function () { if (next.state === "installed") { offer(); } });
    });
    if (navigator.onLine) { registration.update().catch(function () {}); }
  }).catch(function () { /* no worker (a private window): the app works online */ });
}

// --- start ------------------------------------------------------------------------------
function start() {
  $("app-nojs").hidden = true;
  $("app-main").hidden = false;
  $("app-refresh").hidden = false;
  $("app-add").addEventListener("submit", add);
  $("app-refresh").addEventListener("click", function () { refresh(); });
  $("app-undo").addEventListener("click", undo);
  $("app-back").addEventListener("click", function (e) { e.preventDefault(); history.pushState(null, "", location.pathname + location.search); home(); });
  window.addEventListener("hashchange", function () {
    if (location.hash.startsWith("#item=")) { detail(); } else { home(); }
  });
  window.addEventListener("online", function () { offline = false; refresh(); });
  window.addEventListener("offline", function () { offline = true; render(); });
  pullable();
  worker();
  load().then(refresh);
  account.setup(words, function () { load().then(refresh); });
  document.documentElement.classList.add("app-ready");
}

if (store.available()) {
  store.all().then(start, function () { /* storage refused: the track form stays */ });
}
