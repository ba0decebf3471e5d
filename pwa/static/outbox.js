// The offline outbox and the phone's copy of the diary, in IndexedDB. Shared by the pages and the service worker.
//
// An entry leaves the outbox only when the server has confirmed that very version of it (2xx). A lost answer is
// harmless: the same PUT is sent again, and the server answers a replay with the stored record. Each entry carries a
// revision: a change queued while its previous version was on the wire is never removed by that older answer.
// Pages, other tabs and the service worker may all send at once; each step that reads and then writes an entry does
// so in one IndexedDB transaction, so the last word is always the newest.

const DB_NAME = "spasm-diary";
const STORES = ["outbox", "records", "meta"];
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        for (const name of STORES) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: "key" });
      };
      request.onsuccess = () => {
        request.result.onversionchange = () => { request.result.close(); opening = null; };
        resolve(request.result);
      };
      request.onerror = () => { opening = null; reject(request.error); };
    });
  }
  return opening;
}

const asPromise = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

// Runs `work(store)` in one transaction and resolves with its result once the transaction has committed.
async function run(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    let tx;
    try { tx = db.transaction(store, mode); } catch (error) { reject(error); return; }
    let result;
    Promise.resolve().then(() => work(tx.objectStore(store))).then((value) => { result = value; }, (error) => {
      try { tx.abort(); } catch { /* already finished */ }
      reject(error);
    });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const all = (store) => run(store, "readonly", (s) => asPromise(s.getAll()));
export const get = (store, key) => run(store, "readonly", (s) => asPromise(s.get(key)));
const put = (store, value) => run(store, "readwrite", (s) => asPromise(s.put(value)));
const remove = (store, key) => run(store, "readwrite", (s) => asPromise(s.delete(key)));

export function recordKey(url) {
  const [, , , type, id] = url.split("/"); // /api/v1/<type>/<id>
  return `${type}:${id}`;
}

// Queue a write. A second change to a record that is still waiting replaces the first (only the latest matters).
// A record created on this phone and never sent is simply forgotten when deleted; once its create may have reached
// the server (it was sent, the answer lost), deleting it queues a DELETE instead. `summary` is how the entry reads in
// the lists of waiting entries (its places, in the page's language), kept from one change to the next.
export function enqueue(user, method, url, body = null, ifMatch = null, summary = null) {
  const key = recordKey(url);
  return run("outbox", "readwrite", async (store) => {
    const waiting = await asPromise(store.get(key));
    if (waiting && method === "DELETE" && waiting.method === "PUT" && waiting.ifMatch === null && !waiting.attempted) {
      await asPromise(store.delete(key));
      return null;
    }
    const entry = {
      key, user, method, url, body,
      ifMatch: waiting ? (method === "DELETE" && waiting.ifMatch === null ? null : waiting.ifMatch) : ifMatch,
      queuedAt: waiting ? waiting.queuedAt : Date.now(),
      rev: (waiting ? waiting.rev || 0 : 0) + 1,
      attempted: waiting ? Boolean(waiting.attempted) : false,
      state: "waiting", problem: null, server: null, summary: summary ?? waiting?.summary ?? null,
    };
    await asPromise(store.put(entry));
    return entry;
  });
}

export const cancel = (key) => remove("outbox", key);

export async function pending(user) {
  return (await all("outbox")).filter((e) => e.user === user).sort((a, b) => a.queuedAt - b.queuedAt);
}

// Changes an entry only if it is still the revision that was sent; answers whether it was.
function settle(sent, change) {
  return run("outbox", "readwrite", async (store) => {
    const current = await asPromise(store.get(sent.key));
    if (!current) return false;
    if (current.rev !== sent.rev) {
      // A newer change was queued meanwhile. If the server now has the record, that change is an edit on top of it.
      if (change.savedVersion !== undefined && current.ifMatch === null && current.method === "PUT") {
        await asPromise(store.put({ ...current, ifMatch: change.savedVersion }));
      }
      return false;
    }
    if (change.remove) await asPromise(store.delete(sent.key));
    else await asPromise(store.put({ ...current, ...change.fields }));
    return true;
  });
}

export async function session() {
  const answer = await fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) return null;
  const body = await answer.json();
  return body.user ? { user: body.user.id, token: body.csrf_token } : null;
}

let flushing = null;
let again = false;

// Send every waiting entry of the signed-in user, oldest first; an entry queued during a flush is sent by a second
// round. Answers {sent, notices, stopped}.
export function flush() {
  if (flushing) {
    again = true;
    return flushing;
  }
  flushing = (async () => {
    const total = { sent: 0, notices: [], stopped: null };
    for (;;) {
      again = false;
      const report = await send();
      total.sent += report.sent;
      total.notices.push(...report.notices);
      total.stopped = report.stopped;
      if (total.stopped) break;
      if (again) continue; // something was queued while sending: send that first
      await pull().catch(() => null);
      if (!again) break; // or while pulling
    }
    return total;
  })().finally(() => { flushing = null; });
  return flushing;
}

async function send() {
  const report = { sent: 0, notices: [], stopped: null };
  let who;
  try { who = await session(); } catch { report.stopped = "offline"; return report; }
  if (!who) { report.stopped = "signed-out"; return report; }
  for (const listed of await pending(who.user)) {
    if (listed.state !== "waiting") continue;
    const entry = await get("outbox", listed.key);
    if (!entry || entry.state !== "waiting") continue;
    if (!entry.attempted) await settle(entry, { fields: { attempted: true } });
    const headers = { "x-csrf-token": who.token, "content-type": "application/json" };
    if (entry.ifMatch !== null) headers["if-match"] = `"${entry.ifMatch}"`;
    let answer;
    try {
      answer = await fetch(entry.url, {
        method: entry.method, headers, credentials: "same-origin",
        body: entry.body === null ? undefined : JSON.stringify(entry.body),
      });
    } catch {
      report.stopped = "offline";
      break;
    }
    const sent = entry;
    if (answer.ok) {
      let saved = null;
      if (entry.method === "DELETE") {
        await remove("records", `${who.user}:${entry.key}`);
      } else {
        saved = await answer.json();
        await put("records", { key: `${who.user}:${entry.key}`, user: who.user, record: saved });
        for (const notice of saved.safety || []) report.notices.push(notice);
      }
      await settle(sent, { remove: true, savedVersion: saved ? saved.version : undefined });
      report.sent += 1;
    } else if (entry.method === "DELETE" && (answer.status === 404 || answer.status === 410)) {
      await settle(sent, { remove: true }); // already gone: nothing left to delete
    } else if (answer.status === 412 || answer.status === 428) {
      const current = await fetch(entry.url, { credentials: "same-origin", cache: "no-store" });
      const server = current.ok ? await current.json() : null;
      if (answer.status === 428 && entry.ifMatch === null && server && server.version === 1 && entry.attempted) {
        // Our own create reached the server but its answer did not reach us; this is our edit on top of it.
        await settle(sent, { fields: { ifMatch: 1 } });
        again = true;
      } else {
        await settle(sent, { fields: { state: "conflict", server } });
      }
    } else if (answer.status === 410) {
      await settle(sent, { remove: true }); // deleted elsewhere; a replayed create must not bring it back
    } else if (answer.status === 401 || answer.status === 403) {
      report.stopped = "signed-out";
      break;
    } else if (answer.status === 429 || answer.status >= 500) {
      report.stopped = "busy";
      break;
    } else {
      let problem = null;
      try { problem = await answer.json(); } catch { problem = { detail: answer.statusText }; }
      await settle(sent, { fields: { state: "rejected", problem } });
    }
  }
  return report;
}

// Resolve a conflict: keep mine (send again on top of the server's version) or keep the saved one (drop mine).
export function resolve(key, keepMine) {
  return run("outbox", "readwrite", async (store) => {
    const entry = await asPromise(store.get(key));
    if (!entry) return;
    if (!keepMine) {
      await asPromise(store.delete(key));
      return;
    }
    // Without the server's copy (it could not be fetched), mine is sent again as it was.
    const ifMatch = entry.server ? entry.server.version : entry.ifMatch;
    await asPromise(store.put({ ...entry, state: "waiting", ifMatch, server: null, problem: null, rev: entry.rev + 1 }));
  });
}

// Bring the phone's copy up to date from the changes feed.
export async function pull() {
  const who = await session();
  if (!who) return;
  const metaKey = `cursor:${who.user}`;
  let cursor = (await get("meta", metaKey))?.value || "";
  for (let round = 0; round < 50; round += 1) {
    const answer = await fetch(`/api/v1/sync${cursor ? `?since=${encodeURIComponent(cursor)}` : ""}`,
      { credentials: "same-origin", cache: "no-store" });
    if (answer.status >= 400 && answer.status < 500) {
      await remove("meta", metaKey); // a cursor the server no longer accepts: start again from the beginning
      return;
    }
    if (!answer.ok) return;
    const page = await answer.json();
    const changes = [
      ...page.episodes.map((r) => ["episodes", r.id, r]), ...page.checkins.map((r) => ["checkins", r.day, r]),
      ...page.penn.map((r) => ["penn", r.week, r]), ...page.regimens.map((r) => ["regimens", r.id, r]),
    ];
    await run("records", "readwrite", async (store) => {
      for (const [type, id, record] of changes) {
        const key = `${who.user}:${type}:${id}`;
        const known = await asPromise(store.get(key));
        if (!known || known.record.version <= record.version) await asPromise(store.put({ key, user: who.user, record }));
      }
      for (const gone of page.deleted) await asPromise(store.delete(`${who.user}:${gone.type}s:${gone.id}`));
    });
    cursor = page.cursor;
    await put("meta", { key: metaKey, value: cursor });
    if (!page.more) return;
  }
}

// Another person signed in on this phone (or nobody is): the last person's copy of the diary goes. Their unsent
// entries stay, tagged with their account, and go to the server when they next sign in here.
export async function forgetCopiesExcept(user) {
  await run("records", "readwrite", async (store) => {
    for (const item of await asPromise(store.getAll())) if (item.user !== user) await asPromise(store.delete(item.key));
  });
  await run("meta", "readwrite", async (store) => {
    for (const item of await asPromise(store.getAll())) {
      if (item.key.startsWith("cursor:") && item.key !== `cursor:${user}`) await asPromise(store.delete(item.key));
    }
  });
}
