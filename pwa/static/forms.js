// The log form, the timer, offline edits and conflicts: the plain HTML forms keep working without this file.
import { all, cancel, enqueue, get, pending, resolve, session } from "./outbox.js";
import { enhancePush } from "./push.js";

const pad = (n) => String(Math.abs(n)).padStart(2, "0");

// An ISO 8601 time with the phone's own UTC offset, so the server knows the patient's local day.
export function localIso(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

const checked = (form, name) => [...new Set([...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value))];

function savedOnThePhone(form) {
  const note = document.createElement("p");
  note.className = "ok";
  note.setAttribute("role", "status");
  note.textContent = form.dataset.waiting || "Saved on this phone.";
  form.before(note);
}

function say(element, text) {
  element.textContent = text;
  element.hidden = false;
}

function enhanceLog(form, ctx) {
  const timer = document.getElementById("timer");
  const button = document.getElementById("timer-button");
  const readout = document.getElementById("timer-readout");
  const saved = document.getElementById("saved");
  let tick = null;
  timer.hidden = false;

  const show = () => {
    const start = Number(localStorage.getItem("timer-start") || 0);
    button.setAttribute("aria-pressed", start ? "true" : "false");
    if (!start) { button.textContent = button.dataset.start; return; }
    const seconds = Math.round((Date.now() - start) / 1000);
    readout.textContent = `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;
    button.textContent = button.dataset.stop;
  };
  button.dataset.start = button.textContent;
  button.dataset.stop = timer.dataset.stop || "Stop";
  button.addEventListener("click", () => {
    const start = Number(localStorage.getItem("timer-start") || 0);
    if (!start) {
      localStorage.setItem("timer-start", String(Date.now()));
      tick = setInterval(show, 1000);
    } else {
      clearInterval(tick);
      localStorage.removeItem("timer-start");
      // A timer left running for more than a day was forgotten: the longest episode the diary takes is 24 hours.
      const seconds = Math.min(86400, Math.max(1, Math.round((Date.now() - start) / 1000)));
      form.elements.started_at.value = localIso(new Date(start));
      form.elements.duration_seconds.value = String(seconds);
      readout.textContent = `${Math.floor(seconds / 60)}:${pad(seconds % 60)} ✓`;
      readout.setAttribute("aria-live", "polite"); // the result is read out once, not every second while it runs
      button.textContent = button.dataset.start;
    }
    show();
  });
  if (localStorage.getItem("timer-start")) tick = setInterval(show, 1000);
  show();

  // A place shown twice (among the usual places and on the picture) is one choice: both show it.
  const places = (value) => form.querySelectorAll(`input[name="where"][value="${value}"]`);
  form.addEventListener("change", (event) => {
    const input = event.target;
    if (input.name === "where") for (const twin of places(input.value)) twin.checked = input.checked;
    if (input.id === "same-as-last") { // "same as last time": last time's strength and places, ticked or unticked
      if (input.checked) {
        const level = form.querySelector(`input[name="intensity"][value="${input.dataset.intensity}"]`);
        if (level) level.checked = true;
      }
      for (const value of input.dataset.places.split(" ")) for (const box of places(value)) box.checked = input.checked;
    }
  });

  const errors = document.createElement("div");
  errors.className = "error";
  errors.setAttribute("role", "alert");
  errors.tabIndex = -1;
  errors.hidden = true;
  form.prepend(errors);
  form.noValidate = true; // our message, in the page's language, instead of the browser's bubble
  const save = document.getElementById("save-episode");

  form.addEventListener("submit", async (event) => {
    // "Untick 'no spasms' and save" changes the day's check-in as well: the server's own form does both at once.
    if (event.submitter?.name === "untick_checkin") return;
    event.preventDefault();
    const intensity = checked(form, "intensity")[0];
    const where = checked(form, "where");
    const missing = [];
    if (intensity === undefined) missing.push(form.dataset.needStrength);
    if (!where.length) missing.push(form.dataset.needWhere);
    if (missing.length) {
      say(errors, missing.join(" "));
      errors.scrollIntoView({ block: "center" });
      errors.focus();
      return;
    }
    errors.hidden = true;
    save.disabled = true; // a shaking second tap must not log the same spasm twice
    const ago = Number(checked(form, "ago")[0] || 0);
    const started = form.elements.started_at.value || localIso(new Date(Date.now() - ago * 60000));
    const body = {
      kind: form.elements.kind.value || form.dataset.kindDefault,
      started_at: started,
      intensity: Number(intensity),
      body_sites: where.map((w) => { const [site, side] = w.split(":"); return { site, side }; }),
      entered_at: localIso(new Date()),
    };
    const duration = Number(form.elements.duration_seconds.value || 0);
    if (duration) body.duration_seconds = duration;
    const id = crypto.randomUUID();
    const url = `/api/v1/episodes/${id}`;
    const summary = where.map((w) => form.querySelector(`input[name="where"][value="${w}"]`)?.dataset.name || w)
      .join(", ");
    await enqueue(ctx.user, "PUT", url, body, null, summary);
    save.disabled = false;
    form.reset();
    form.elements.started_at.value = "";
    form.elements.duration_seconds.value = "";
    const text = document.getElementById("saved-text");
    const title = document.getElementById("saved-title");
    const details = document.getElementById("saved-details");
    const undo = document.getElementById("saved-undo");
    title.textContent = title.dataset.saved || (title.dataset.saved = title.textContent);
    text.textContent = saved.dataset.waiting;
    details.href = `/episodes/${id}`;
    details.hidden = false;
    undo.hidden = false;
    undo.disabled = false;
    document.getElementById("saved-notices").replaceChildren();
    undo.onclick = async () => {
      undo.disabled = true;
      // Forgotten if it never left the phone; otherwise a DELETE follows the create (the server accepts it unversioned).
      await enqueue(ctx.user, "DELETE", url, null, null);
      title.textContent = saved.dataset.undoneTitle;
      text.textContent = saved.dataset.undone;
      undo.hidden = true; // nothing is left to undo or to add details to
      details.hidden = true;
      document.getElementById("saved-notices").replaceChildren();
      document.getElementById("saved-close").focus();
      await ctx.showWaiting();
      ctx.sync();
    };
    document.getElementById("saved-close").onclick = () => {
      saved.hidden = true;
      form.querySelector('input[name="intensity"]').focus();
    };
    saved.hidden = false;
    saved.focus();
    await ctx.showWaiting();
    const report = await ctx.sync();
    const refused = await get("outbox", `episodes:${id}`);
    if (refused?.state === "rejected" && refused.problem?.code === "contradiction") {
      offerUntick(saved, text, refused, ctx);
      return;
    }
    if (report && !(await get("outbox", `episodes:${id}`))) {
      text.textContent = saved.dataset.sent;
      showNotices(report.notices);
    }
  });
}

// The day's check-in says "no spasms or cramps": the entry stays on the phone, and one tap unticks that (the rest of
// the check-in kept) and sends the entry again.
function offerUntick(saved, text, entry, ctx) {
  text.textContent = saved.dataset.contradiction;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "big";
  button.textContent = saved.dataset.untick;
  button.onclick = async () => {
    button.disabled = true;
    const url = `/api/v1/checkins/${entry.problem.day}`;
    try {
      const who = await session();
      const current = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (who && current.ok) {
        const checkin = await current.json();
        const body = { ...checkin, no_episodes: false };
        for (const field of ["day", "version", "updated_at", "entered_at", "safety"]) delete body[field];
        await fetch(url, {
          method: "PUT", credentials: "same-origin", body: JSON.stringify(body),
          headers: { "x-csrf-token": who.token, "content-type": "application/json", "if-match": `"${checkin.version}"` },
        });
      }
    } catch { /* offline: the entry keeps waiting, and says so */ }
    await resolve(entry.key, true);
    const report = await ctx.sync();
    text.textContent = (await get("outbox", entry.key)) ? saved.dataset.waiting : saved.dataset.sent;
    showNotices(report ? report.notices : []);
    button.remove();
  };
  text.after(button);
}

function showNotices(notices) {
  const list = document.getElementById("saved-notices");
  list.replaceChildren(...notices.map((n) => {
    const item = document.createElement("li");
    item.className = `flag ${n.urgency}`;
    const words = document.createElement("div");
    if (n.urgency === "urgent") words.setAttribute("role", "alert");
    words.textContent = n.message;
    item.append(words);
    return item;
  }));
}

// On the diary page: entries still on the phone, and conflicts to settle with both versions side by side.
async function enhanceHistory(ctx) {
  const render = async () => {
    const waiting = await pending(ctx.user);
    const list = document.getElementById("pending-list");
    const box = document.getElementById("pending");
    const words = { waiting: list.dataset.waiting, refused: list.dataset.refused };
    list.replaceChildren(...waiting.filter((e) => e.state !== "conflict").reverse().map((e) => {
      const item = waitingRow(e, words);
      if (e.state === "rejected") {
        // The server refused it for good (the problem says why): the patient decides, it never vanishes by itself.
        const discard = document.createElement("button");
        discard.type = "button";
        discard.className = "secondary";
        discard.textContent = list.dataset.discard || "Discard";
        discard.onclick = async () => { await cancel(e.key); await ctx.showWaiting(); render(); };
        item.append(" ", discard);
      }
      return item;
    }));
    box.hidden = list.children.length === 0;
    const conflicts = waiting.filter((e) => e.state === "conflict");
    const area = document.getElementById("conflict-list");
    area.replaceChildren(...conflicts.map((e) => {
      const section = document.createElement("div");
      section.className = "conflict";
      const table = document.createElement("dl");
      table.className = "compare";
      for (const field of ["started_at", "intensity", "kind", "triggers", "note"]) {
        const mine = JSON.stringify(e.body?.[field] ?? "");
        const theirs = JSON.stringify(e.server?.[field] ?? "");
        if (mine === theirs) continue;
        const dt = document.createElement("dt");
        dt.textContent = field;
        const dd = document.createElement("dd");
        dd.textContent = `${area.dataset.saved || "Saved"}: ${theirs} · ${area.dataset.yours || "Yours"}: ${mine}`;
        table.append(dt, dd);
      }
      const keep = document.createElement("button");
      keep.textContent = area.dataset.keepMine || "Keep mine";
      keep.onclick = async () => { await resolve(e.key, true); await ctx.sync(); render(); };
      const drop = document.createElement("button");
      drop.className = "secondary";
      drop.textContent = area.dataset.keepSaved || "Keep the saved one";
      drop.onclick = async () => { await resolve(e.key, false); await ctx.showWaiting(); render(); };
      section.append(table, keep, drop);
      return section;
    }));
    document.getElementById("conflicts").hidden = conflicts.length === 0;
    if (!navigator.onLine) document.getElementById("offline-copy").hidden = false;
  };
  document.addEventListener("outbox:flushed", render);
  listenForArrivals();
  await render();
}

// The details form as a body for the API, on top of `base` (the record the page showed, or the waiting copy).
function detailsBody(form, base) {
  const body = { ...base };
  for (const field of ["id", "version", "received_at", "updated_at", "safety", "ongoing", "reporter"]) delete body[field];
  body.kind = checked(form, "kind")[0] || body.kind;
  body.intensity = Number(checked(form, "intensity")[0] ?? body.intensity);
  body.triggers = checked(form, "triggers");
  body.symptoms = checked(form, "symptoms");
  body.context = checked(form, "context");
  body.impacts = checked(form, "impacts");
  const relief = checked(form, "relief")[0];
  const before = Object.fromEntries((base.treatments || []).map((t) => [t.kind, t]));
  body.treatments = checked(form, "treatments").map((kind) => ({
    ...(before[kind] || { kind }), relief: relief === undefined ? (before[kind]?.relief ?? null) : Number(relief),
  }));
  body.woke_from_sleep = form.elements.woke_from_sleep.checked ? true : (base.woke_from_sleep == null ? null : false);
  body.note = form.elements.note.value.trim() || null;
  const where = checked(form, "where");
  if (where.length) body.body_sites = where.map((w) => { const [site, side] = w.split(":"); return { site, side }; });
  const minutes = Number(form.elements.duration_minutes.value || 0);
  if (minutes) { body.duration_seconds = minutes * 60; body.ended_at = null; }
  return body;
}

// The form shows an entry that only this phone has: its waiting copy in the outbox.
function fillDetails(form, body) {
  const tick = (name, values) => {
    for (const input of form.querySelectorAll(`input[name="${name}"]`)) input.checked = values.includes(input.value);
  };
  tick("kind", [body.kind]);
  tick("intensity", [String(body.intensity)]);
  tick("where", (body.body_sites || []).map((b) => `${b.site}:${b.side}`));
  for (const name of ["triggers", "symptoms", "context", "impacts"]) tick(name, body[name] || []);
  tick("treatments", (body.treatments || []).map((t) => t.kind));
  const relief = (body.treatments || []).map((t) => t.relief).find((r) => r !== null && r !== undefined);
  if (relief !== undefined) {
    tick("relief", [String([0, 3, 7, 10].reduce((a, b) => (Math.abs(b - relief) < Math.abs(a - relief) ? b : a)))]);
  }
  form.elements.woke_from_sleep.checked = body.woke_from_sleep === true;
  form.elements.duration_minutes.value = body.duration_seconds ? String(Math.round(body.duration_seconds / 60)) : "";
  form.elements.note.value = body.note || "";
  const when = form.querySelector(".when-line time");
  if (when && body.started_at) {
    when.dateTime = body.started_at;
    when.textContent = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      weekday: "long", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).format(new Date(body.started_at));
  }
}

// The details form: online it posts as usual (the server shows both versions on a conflict); offline the change
// waits in the outbox, based on the version the page showed. For an entry still waiting on the phone (the page the
// service worker shows for it), the change goes into that waiting copy, online or not: nothing is lost or doubled.
async function enhanceDetails(form, ctx) {
  const record = JSON.parse(document.getElementById("record")?.textContent || "null");
  let draft = null;
  if (form.dataset.draft) {
    const id = window.location.pathname.split("/")[2] || "";
    draft = await get("outbox", `episodes:${id}`);
    if (!draft || draft.user !== ctx.user || draft.method !== "PUT") {
      const note = document.getElementById("draft-note");
      note.textContent = note.dataset.missing;
      form.hidden = true;
      return;
    }
    fillDetails(form, draft.body);
  }
  form.addEventListener("submit", async (event) => {
    if (!draft && (navigator.onLine || !record)) return;
    event.preventDefault();
    if (draft) {
      const current = await get("outbox", draft.key);
      const body = detailsBody(form, current?.method === "PUT" ? current.body : draft.body);
      let ifMatch = null;
      if (!current) { // sent meanwhile: this is an edit on top of the version the server now has
        const copy = await get("records", `${ctx.user}:${draft.key}`);
        ifMatch = copy ? copy.record.version : null;
      }
      await enqueue(ctx.user, "PUT", draft.url, body, ifMatch, draft.summary);
      await ctx.showWaiting();
      savedOnThePhone(form);
      const report = await ctx.sync();
      showNotices(report ? report.notices : []); // a warning sign ticked here is answered as soon as it is sent
      return;
    }
    await enqueue(ctx.user, "PUT", `/api/v1/episodes/${record.id}`, detailsBody(form, record), record.version);
    await ctx.showWaiting();
    savedOnThePhone(form);
  });
}

// Entries still on the phone, in a list of the diary or home: marked as waiting, each opening its details.
function waitingRow(e, words) {
  const b = e.body || {};
  const item = document.createElement("li");
  item.className = `waiting-entry ${e.state}`;
  const link = document.createElement(e.method === "PUT" && e.key.startsWith("episodes:") ? "a" : "span");
  if (link.tagName === "A") link.href = `/episodes/${e.key.split(":")[1]}`;
  const when = document.createElement("span");
  when.className = "when";
  if (b.started_at) {
    when.textContent = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).format(new Date(b.started_at));
  } else {
    when.textContent = e.key.split(":")[1] || "";
  }
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = e.summary || "";
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = e.state === "rejected" ? `${words.refused} ${e.problem?.detail || ""}` : words.waiting;
  link.append(when, " ", what, " ", badge);
  if (b.intensity !== undefined) {
    const level = document.createElement("span");
    level.className = `level level-${b.intensity}`;
    level.textContent = `${b.intensity}/10`;
    link.append(" ", level);
  }
  item.append(link);
  return item;
}

// After the outbox has sent something, the server's own lists of the page come back with it, at once.
async function refreshLive() {
  if (!navigator.onLine || !document.querySelector("[data-live]")) return;
  const answer = await fetch(window.location.pathname + window.location.search, {
    credentials: "same-origin", cache: "no-store",
  });
  if (!answer.ok || answer.redirected) return;
  const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
  for (const region of document.querySelectorAll("[data-live]")) {
    const replacement = fresh.getElementById(region.id);
    if (replacement) region.replaceWith(document.importNode(replacement, true));
  }
}

function listenForArrivals() {
  document.addEventListener("outbox:flushed", (event) => {
    if (event.detail?.sent) refreshLive().catch(() => null);
  });
}

async function enhanceHome(list, ctx) {
  const words = { waiting: list.dataset.waiting, refused: list.dataset.refused };
  const render = async () => {
    const waiting = (await pending(ctx.user)).filter((e) => e.key.startsWith("episodes:") && e.method === "PUT");
    list.replaceChildren(...waiting.reverse().map((e) => waitingRow(e, words)));
    list.hidden = list.children.length === 0;
  };
  document.addEventListener("outbox:flushed", render);
  listenForArrivals();
  await render();
}

// The daily check-in offline: the same answers wait in the outbox as a PUT of that day's check-in.
function enhanceCheckin(form, ctx) {
  form.addEventListener("submit", async (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    const score = (name) => { const v = checked(form, name)[0]; return v === undefined ? null : Number(v); };
    const number = (name) => { const v = form.elements[name].value.replace(",", "."); return v ? Number(v) : null; };
    const body = {
      no_episodes: form.elements.no_episodes.checked,
      stiffness: score("stiffness"), sleep_disturbance: score("sleep_disturbance"), pain: score("pain"),
      meds_taken: checked(form, "meds_taken")[0] || null, symptoms: checked(form, "symptoms"),
      systolic_bp: number("systolic_bp"), temperature_c: number("temperature_c"),
      new_or_worse_symptoms: form.elements.new_or_worse_symptoms.checked ? true : null,
      note: form.elements.note.value.trim() || null, entered_at: localIso(new Date()),
    };
    // The day is the phone's today: a page kept from another day must not write over that day's check-in.
    const now = new Date();
    const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
    const sameDay = today === form.dataset.day;
    const version = sameDay ? Number(form.elements.version.value || 0) : 0;
    await enqueue(ctx.user, "PUT", `/api/v1/checkins/${today}`, body, version || null);
    await ctx.showWaiting();
    savedOnThePhone(form);
  });
}

export function enhance(ctx) {
  if (!ctx.user) return;
  const log = document.getElementById("log-form");
  if (log) enhanceLog(log, ctx);
  if (document.getElementById("pending")) enhanceHistory(ctx).catch(() => null);
  const push = document.getElementById("push");
  if (push) enhancePush(push).catch(() => null);
  const checkin = document.getElementById("checkin-form");
  if (checkin) enhanceCheckin(checkin, ctx);
  const details = document.getElementById("episode-form");
  if (details) enhanceDetails(details, ctx).catch(() => null);
  const home = document.getElementById("waiting-list");
  if (home) enhanceHome(home, ctx).catch(() => null);
}
