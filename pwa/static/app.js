// Every page: installs the service worker, keeps the outbox moving and shows how many entries are waiting.
import { flush, forgetCopiesExcept, pending } from "./outbox.js";
import { enhance } from "./forms.js";

const user = document.body.dataset.user || null;
const isPatient = document.body.dataset.role === "patient";
const status = document.getElementById("outbox-status");

const zone = document.getElementById("time_zone");
if (zone && zone.dataset.guess === "yes") {
  // Starts the list at the time zone the phone is set to, so "today" and "at night" mean the person's own.
  const guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (guess && [...zone.options].some((o) => o.value === guess)) zone.value = guess;
}

export async function showWaiting() {
  if (!user || !status) return;
  const waiting = await pending(user);
  const count = waiting.filter((e) => e.state === "waiting").length;
  const trouble = waiting.length - count;
  const parts = [];
  if (count) parts.push(count === 1 ? status.dataset.one : status.dataset.many.replace("%(n)s", count));
  if (trouble) parts.push(status.dataset.trouble.replace("%(n)s", trouble));
  status.textContent = parts.join(" · ");
  status.hidden = parts.length === 0;
}

export async function sync() {
  if (!user || !isPatient) return null;
  // Where the browser has Background Sync, the worker sends the outbox even after the page is closed.
  if ("serviceWorker" in navigator && navigator.serviceWorker.controller) {
    navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register("outbox")).catch(() => null);
  }
  const report = await flush();
  await showWaiting();
  document.dispatchEvent(new CustomEvent("outbox:flushed", { detail: report }));
  return report;
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" }).catch(() => null);
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "outbox:flushed") {
      showWaiting();
      document.dispatchEvent(new CustomEvent("outbox:flushed", { detail: event.data.report }));
    }
  });
}

// Pages kept for offline use and the diary's copy belong to one person. They go when someone else signs in on this
// phone, or when the server itself says nobody is signed in (after signing out). Never on a page that merely shows
// nobody (the offline page, an article from the cache): offline, nothing may delete what the patient relies on.
// Unsent entries always stay, tagged with their owner's account.
async function nobodySignedIn() {
  const answer = await fetch("/api/v1/auth/session", { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) throw new Error("no clear answer");
  return !(await answer.json()).user;
}

export async function forgetPagesOf(previous, user, confirmNobody = nobodySignedIn) {
  if (user && previous && previous !== user) {
    await dropPages();
    await forgetCopiesExcept(user);
  } else if (!user && previous) {
    let nobody = false;
    try { nobody = await confirmNobody(); } catch { return; } // no answer: offline, keep everything
    if (!nobody) return;
    await dropPages();
    await forgetCopiesExcept("");
    localStorage.removeItem("signed-in-user");
  }
  if (user) localStorage.setItem("signed-in-user", user);
}

async function dropPages() {
  if (!window.caches) return;
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith("pages")).map((k) => caches.delete(k)));
}

forgetPagesOf(localStorage.getItem("signed-in-user"), user).catch(() => null);

if (isPatient) {
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);
  // The log page, home and the diary must open offline even if they were never visited: keep a copy as soon as a
  // patient page is open.
  if (window.caches) {
    // And the details form of an entry still waiting here ("Add details" offline edits the waiting copy).
    caches.open("pages").then((cache) => Promise.all(["/", "/log", "/history", "/episodes/draft"].map(
      (path) => cache.match(path).then((kept) => kept || cache.add(path))))).catch(() => null);
  }
  const quietly = () => sync().catch(() => null); // a failed round is retried by the next one
  window.addEventListener("online", quietly);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") quietly(); });
  setInterval(() => { if (navigator.onLine) quietly(); }, 30000);
}

const signOut = document.getElementById("sign-out");
if (signOut && user) {
  signOut.addEventListener("submit", async (event) => {
    if (signOut.dataset.confirmed) return;
    event.preventDefault();
    const waiting = await pending(user).catch(() => []);
    // eslint-disable-next-line no-alert -- a plain dialog works with every screen reader and switch
    if (waiting.length && !window.confirm(signOut.dataset.waiting)) return;
    signOut.dataset.confirmed = "yes";
    signOut.requestSubmit();
  });
}

enhance({ user, sync, showWaiting });
showWaiting().then(() => sync()).catch(() => null);
