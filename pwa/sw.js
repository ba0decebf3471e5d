// The service worker: a versioned app shell and the articles precached at install, old caches removed at activate,
// pages network-first with the last good copy or the offline page as fallback, and the outbox sent by Background Sync.
import { all, flush } from "/static/outbox.js";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const SHELL_CACHE = `shell-${VERSION}`;
// Kept across versions, so that a new release does not take the offline log page away; emptied by the pages when
// another person signs in on the phone or the server says nobody is signed in. Nothing here ever deletes it.
const PAGES_CACHE = "pages";
// Pages worth keeping a copy of for offline use (never the API, never anything with a query).
const KEEP = [/^\/$/, /^\/log$/, /^\/history$/, /^\/trends$/, /^\/more$/, /^\/check-in$/, /^\/reminders$/, /^\/learn(\/[a-z-]+)?$/,
  /^\/episodes\/[0-9a-f-]{36}$/, /^\/episodes\/draft$/];
// An entry's details page; while the entry is still waiting in the outbox the server does not know it yet.
const EPISODE = /^\/episodes\/([0-9a-f-]{36})$/;

// The details form that edits the waiting copy in the outbox (forms.js fills it from there), for an entry the
// server has not received yet: offline, or online before the outbox has sent it.
async function waitingDraft(url) {
  const match = EPISODE.exec(url.pathname);
  if (!match) return null;
  const entries = await all("outbox").catch(() => []);
  if (!entries.some((e) => e.key === `episodes:${match[1]}` && e.method === "PUT")) return null;
  return caches.match("/episodes/draft", { cacheName: PAGES_CACHE });
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== SHELL_CACHE && k !== PAGES_CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function page(request) {
  const url = new URL(request.url);
  try {
    const answer = await fetch(request);
    if (answer.status === 404) {
      const draft = await waitingDraft(url);
      if (draft) return draft;
    }
    // Only pages the server marks as fit to keep (a patient's own pages and the public ones, never a clinician's).
    const keep = answer.headers.get("X-Offline-Copy") === "keep";
    if (answer.ok && keep && !answer.redirected && !url.search && KEEP.some((re) => re.test(url.pathname))) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(url.pathname, answer.clone());
    }
    return answer;
  } catch (error) {
    const kept = (await caches.match(url.pathname, { cacheName: PAGES_CACHE }))
      || (await caches.match(url.pathname, { cacheName: SHELL_CACHE }))
      || (await waitingDraft(url));
    return kept || (await caches.match("/offline", { cacheName: SHELL_CACHE })) || Response.error();
  }
}

async function asset(request) {
  const kept = await caches.match(request, { cacheName: SHELL_CACHE });
  if (kept) return kept;
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (event.request.mode === "navigate") event.respondWith(page(event.request));
  else if (url.pathname.startsWith("/static/")) event.respondWith(asset(event.request));
});

async function sendOutbox() {
  const report = await flush();
  for (const client of await self.clients.matchAll()) client.postMessage({ type: "outbox:flushed", report });
  if (report.stopped === "offline" || report.stopped === "busy") throw new Error("try again later");
}

self.addEventListener("sync", (event) => {
  if (event.tag === "outbox") event.waitUntil(sendOutbox());
});

// Reminders by Web Push: the payload is the reminder's title, words and the page to open.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  let url = "/reminders";
  try {
    const target = new URL(String(data.url || "/reminders"), self.location.origin);
    if (target.origin === self.location.origin) url = target.pathname + target.search;
  } catch { /* keep the inbox */ }
  event.waitUntil(self.registration.showNotification(data.title || "Spasm diary", {
    body: data.body || "", tag: data.tag, data: { url, reminder: data.reminder }, icon: "/static/icons/icon-192.png",
    actions: doseActions(data),
  }));
});

// ---- Answering a medicine reminder from its notification (taken / skipped / later) --------------------------------
// The payload of a medicine reminder carries its id and the three answers in the patient's language; the answer is
// sent as the inbox's buttons send it (POST /api/v1/reminders/<id>/dose). If it cannot be sent (offline, signed
// out), the inbox opens, where the same three buttons wait.
const DOSE_ANSWERS = ["taken", "skipped", "later"];

function doseActions(data) {
  if (!data.reminder || !Array.isArray(data.actions)) return [];
  return data.actions.filter((a) => a && DOSE_ANSWERS.includes(a.action)).map((a) => ({
    action: a.action, title: String(a.title || a.action),
  }));
}

async function answerDose(reminder, status) {
  const who = await fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" });
  const body = who.ok ? await who.json() : {};
  if (!body.user) return false;
  const answer = await fetch(`/api/v1/reminders/${encodeURIComponent(reminder)}/dose`, {
    method: "POST", credentials: "same-origin", body: JSON.stringify({ status }),
    headers: { "content-type": "application/json", "x-csrf-token": body.csrf_token },
  });
  return answer.ok;
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const reminder = event.notification.data?.reminder;
  if (reminder && DOSE_ANSWERS.includes(event.action)) {
    event.waitUntil(answerDose(reminder, event.action)
      .catch(() => false)
      .then((sent) => (sent ? undefined : self.clients.openWindow("/reminders"))));
    return;
  }
  event.waitUntil(self.clients.openWindow(event.notification.data?.url || "/reminders"));
});
