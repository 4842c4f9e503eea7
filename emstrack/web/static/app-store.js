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

// Change some fields of `number`'s record if it is still followed, keeping the rest as it is
// now: one transaction (get, then put), so that a change that comes late (an answer, a merge's
// "synced" mark) neither brings back an item removed meanwhile nor undoes another change.
export function update(number, changes) {
  return run("readwrite", function (store) {
    const request = store.get(number);
    request.onsuccess = function () {
      const found = request.result;
      if (found) { store.put(Object.assign(found, changes)); }
    };
  });
}

// Keep `item` unless its number is followed already (added here meanwhile): then only mark it.
export function keep(item) {
  return run("readwrite", function (store) {
    const request = store.get(item.number);
    request.onsuccess = function () {
      const found = request.result;
      store.put(found ? Object.assign(found, { synced: item.synced }) : item);
    };
  });
}

export function remove(number) {
  return run("readwrite", function (store) { store.delete(number); });
}

// Follow `number` unless it is followed already; true when it was added (one transaction).
export function follow(number, answer) {
  let added = false;
  return run("readwrite", function (store) {
    const request = store.get(number);
    request.onsuccess = function () {
      if (request.result) { return; }
      const now = new Date().toISOString();
      store.put({ number: number, label: null, added: now, answer: answer || null,
                  fetched: answer ? now : null });
      added = true;
    };
  }).then(function () { return added; });
}
