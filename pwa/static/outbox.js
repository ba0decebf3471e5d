// The offline outbox and the phone's copy of the diary, in IndexedDB. Shared by the pages and the service worker.
//
// An entry leaves the outbox only when the server has confirmed that record (2xx). A lost answer is harmless: the
// same PUT is sent again, and the server answers a replay with the stored record. An edit based on an old version
// comes back 412; the entry then waits as a conflict, with the server's version beside it, until the patient chooses.

const DB_NAME = "spasm-diary";
const STORES = ["outbox", "records", "meta"];

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const name of STORES) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: "key" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    let result;
    Promise.resolve(work(tx.objectStore(store))).then((value) => { result = value; });
    tx.oncomplete = () => { db.close(); resolve(result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error); };
  });
}

const asPromise = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

export const all = (store) => run(store, "readonly", (s) => asPromise(s.getAll()));
export const get = (store, key) => run(store, "readonly", (s) => asPromise(s.get(key)));
const put = (store, value) => run(store, "readwrite", (s) => asPromise(s.put(value)));
const remove = (store, key) => run(store, "readwrite", (s) => asPromise(s.delete(key)));

export function recordKey(url) {
  const [, , , type, id] = url.split("/"); // /api/v1/<type>/<id>
  return `${type}:${id}`;
}

// Queue a write. A second change to a record that is still waiting replaces the first (only the latest matters),
// keeping its If-Match: a record created offline stays a create.
export async function enqueue(user, method, url, body = null, ifMatch = null) {
  const key = recordKey(url);
  const waiting = await get("outbox", key);
  const entry = {
    key, user, method, url, body,
    ifMatch: waiting ? waiting.ifMatch : ifMatch,
    queuedAt: waiting ? waiting.queuedAt : Date.now(),
    state: "waiting", problem: null, server: null,
  };
  if (waiting && waiting.method === "PUT" && waiting.ifMatch === null && method === "DELETE") {
    await remove("outbox", key); // created and deleted before the server ever saw it
    return null;
  }
  await put("outbox", entry);
  return entry;
}

export const cancel = (key) => remove("outbox", key);

export async function pending(user) {
  return (await all("outbox")).filter((e) => e.user === user).sort((a, b) => a.queuedAt - b.queuedAt);
}

async function session() {
  const answer = await fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) return null;
  const body = await answer.json();
  return body.user ? { user: body.user.id, token: body.csrf_token } : null;
}

let flushing = null;

// Send every waiting entry of the signed-in user, oldest first. Answers {sent, waiting, conflicts, notices}.
export function flush() {
  if (!flushing) flushing = send().finally(() => { flushing = null; });
  return flushing;
}

async function send() {
  const report = { sent: 0, notices: [], stopped: null };
  let who;
  try { who = await session(); } catch { report.stopped = "offline"; return report; }
  if (!who) { report.stopped = "signed-out"; return report; }
  for (const entry of await pending(who.user)) {
    if (entry.state !== "waiting") continue;
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
    if (answer.ok) {
      if (entry.method === "DELETE") {
        await remove("records", entry.key);
      } else {
        const saved = await answer.json();
        await put("records", { key: entry.key, type: entry.key.split(":")[0], user: who.user, record: saved });
        for (const notice of saved.safety || []) report.notices.push(notice);
      }
      await remove("outbox", entry.key);
      report.sent += 1;
    } else if (answer.status === 412 || answer.status === 428) {
      const current = await fetch(entry.url, { credentials: "same-origin", cache: "no-store" });
      const server = current.ok ? await current.json() : null;
      await put("outbox", { ...entry, state: "conflict", server });
    } else if (answer.status === 410) {
      await remove("outbox", entry.key); // deleted elsewhere; a replayed create must not bring it back
    } else if (answer.status === 401 || answer.status === 403) {
      report.stopped = "signed-out";
      break;
    } else if (answer.status === 429 || answer.status >= 500) {
      report.stopped = "busy";
      break;
    } else {
      let problem = null;
      try { problem = await answer.json(); } catch { problem = { detail: answer.statusText }; }
      await put("outbox", { ...entry, state: "rejected", problem });
    }
  }
  if (!report.stopped) await pull(who.user).catch(() => null);
  return report;
}

// Resolve a conflict: keep mine (send again on top of the server's version) or keep the saved one (drop mine).
export async function resolve(key, keepMine) {
  const entry = await get("outbox", key);
  if (!entry) return;
  if (!keepMine || !entry.server) {
    await remove("outbox", key);
    if (entry.server) await put("records", { key, type: key.split(":")[0], record: entry.server });
    return;
  }
  await put("outbox", { ...entry, state: "waiting", ifMatch: entry.server.version, server: null });
}

// Bring the phone's copy up to date from the changes feed.
export async function pull(user) {
  const metaKey = `cursor:${user}`;
  let cursor = (await get("meta", metaKey))?.value || "";
  for (let round = 0; round < 50; round += 1) {
    const answer = await fetch(`/api/v1/sync${cursor ? `?since=${encodeURIComponent(cursor)}` : ""}`,
      { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) return;
    const page = await answer.json();
    const changes = [
      ...page.episodes.map((r) => ["episodes", r.id, r]), ...page.checkins.map((r) => ["checkins", r.day, r]),
      ...page.penn.map((r) => ["penn", r.week, r]), ...page.regimens.map((r) => ["regimens", r.id, r]),
    ];
    for (const [type, id, record] of changes) {
      const key = `${type}:${id}`;
      const known = await get("records", key);
      if (!known || known.record.version <= record.version) await put("records", { key, type, user, record });
    }
    for (const gone of page.deleted) await remove("records", `${gone.type}s:${gone.id}`);
    cursor = page.cursor;
    await put("meta", { key: metaKey, value: cursor });
    if (!page.more) return;
  }
}
