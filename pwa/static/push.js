// The "turn on notifications" switch of the reminders page: a Web Push subscription with the server's VAPID key.
import { session } from "./outbox.js";

function keyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function post(url, body) {
  const who = await session();
  return fetch(url, {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "content-type": "application/json", "x-csrf-token": who ? who.token : "" },
  });
}

export async function enhancePush(section) {
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const state = document.getElementById("push-state");
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const registration = await navigator.serviceWorker.ready;
  const show = async () => {
    const current = await registration.pushManager.getSubscription();
    if (Notification.permission === "denied") state.textContent = section.dataset.denied;
    else if (current) state.textContent = section.dataset.on;
    else state.textContent = section.dataset.off;
    on.hidden = Boolean(current) || Notification.permission === "denied";
    off.hidden = !current;
  };
  on.addEventListener("click", async () => {
    if ((await Notification.requestPermission()) !== "granted") { await show(); return; }
    try {
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(section.dataset.key),
      });
      await post("/api/v1/push/subscriptions", subscription.toJSON());
    } catch {
      state.textContent = section.dataset.off;
    }
    await show();
  });
  off.addEventListener("click", async () => {
    const current = await registration.pushManager.getSubscription();
    if (current) {
      await post("/api/v1/push/subscriptions/remove", { endpoint: current.endpoint });
      await current.unsubscribe();
    }
    await show();
  });
  await show();
}
