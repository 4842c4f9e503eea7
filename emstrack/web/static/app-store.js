// My items, kept on this device (IndexedDB): one record per number followed, as
// {number, label, added, answer, fetched}: `answer` is the last answer of the public lookup
// (the batch route's JSON for that number), `fetched` when it came (ISO 8601). Nothing of it is
// sent to the server but the numbers themselves, when they are looked up.
const DB_NAME = "emstrack-app";
const DB_VERSION = 1;
const ITEMS = "items";

// The browser can keep My items: IndexedDB is there (not in every private window).
export function available() {
  return typeof indexedDB !== "undefined" && indexedDB !== null;
}

let opened = null;

function open() {
  if (!opened) {
    opened = new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(ITEMS, { keyPath: "number" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
      request.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
    opened.catch(function () { opened = null; });
  }
  return opened;
}

function run(mode, work) {
  return open().then(function (db) {
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(ITEMS, mode);
      const result = work(tx.objectStore(ITEMS));
      tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error); };
    });
  });
}

// Every item followed, the most recently added first.
export function all() {
  return run("readonly", function (store) { return store.getAll(); }).then(function (items) {
    return (items || []).sort(function (a, b) { return a.added < b.added ? 1 : a.added > b.added ? -1 : 0; });
  });
}

export function get(number) {
  return run("readonly", function (store) { return store.get(number); });
}

export function put(item) {
  return run("readwrite", function (store) { store.put(item); });
}

// Store a new answer for `number` if it is still followed, keeping the rest of its record as
// it is now (a merge may have marked it synced meanwhile): one transaction, so that an answer
// that arrives after the item was removed (here or by a merge) does not bring it back.
export function answered(number, answer, fetched) {
  return run("readwrite", function (store) {
    const request = store.get(number);
    request.onsuccess = function () {
      const found = request.result;
      if (found) {
        found.answer = answer;
        found.fetched = fetched;
        store.put(found);
      }
    };
  });
}

export function remove(number) {
  return run("readwrite", function (store) { store.delete(number); });
}

// Follow `number` unless it is followed already; true when it was added.
export function follow(number, answer) {
  return get(number).then(function (found) {
    if (found) { return false; }
    const now = new Date().toISOString();
    return put({ number: number, label: null, added: now, answer: answer || null,
                 fetched: answer ? now : null }).then(function () { return true; });
  });
}
