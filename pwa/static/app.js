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

// Pages kept for offline use and the diary's copy belong to one person: when someone else (or nobody) is signed in
// on this phone, they go. Unsent entries stay, tagged with their owner's account.
const previous = localStorage.getItem("signed-in-user");
if (previous !== (user || "")) {
  if (window.caches) {
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("pages")).map((k) => caches.delete(k))))
      .catch(() => null);
  }
  forgetCopiesExcept(user || "").catch(() => null);
  localStorage.setItem("signed-in-user", user || "");
}

if (isPatient) {
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);
  // The log page must open offline even if it was never visited: keep a copy as soon as a patient page is open.
  if (window.caches) {
    caches.open("pages").then((cache) => cache.match("/log").then((kept) => kept || cache.add("/log"))).catch(() => null);
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
