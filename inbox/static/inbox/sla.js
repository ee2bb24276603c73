// SLA countdown badges on queue rows and case cards (templatetags/inbox_sla.py draws them):
// the text ("2h 14m", "overdue 35m") ticks here every 30 s without a reload, and the colour
// (ok, warning from data-warn, breached from data-due) changes at those very moments; a
// "sla.deadline" event (inbox.js re-dispatches each socket event as "scrm:event") updates or
// removes the badges of that conversation or case. Strings come translated from the page (#sla-strings). No inline script.
(function () {
  "use strict";
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const config = document.getElementById("sla-strings");
  if (!config) return;
  const T = JSON.parse(config.textContent);
  const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => String(vars[k]));
  const lang = document.documentElement.lang || undefined;

  function countdown(seconds) {
    const minutes = Math.max(0, Math.floor(seconds / 60));
    const d = Math.floor(minutes / 1440), h = Math.floor(minutes / 60) % 24, m = minutes % 60;
    if (d) return fmt(T.dh, { d, h });
    if (h) return fmt(T.hm, { h, m });
    return fmt(T.m, { m });
  }

  function stateAt(due, warn, now) {
    if (now >= due) return "breached";
    if (!isNaN(warn) && now >= warn) return "warning";
    return "ok";
  }

  function localTime(ms, zone) {
    try {
      return new Intl.DateTimeFormat(lang, {
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: zone,
      }).format(new Date(ms));
    } catch (e) {
      return new Date(ms).toISOString();
    }
  }

  function paint(badge, now) {
    const due = Date.parse(badge.dataset.due);
    if (isNaN(due)) return;
    const warn = badge.dataset.warn ? Date.parse(badge.dataset.warn) : NaN;
    const state = stateAt(due, warn, now);
    ["ok", "warning", "breached"].forEach((s) => badge.classList.toggle("sla-" + s, s === state));
    badge.dataset.state = state;
    const text = badge.querySelector("[data-sla-text]");
    const left = (due - now) / 1000;
    if (text) text.textContent = left <= 0 ? fmt(T.overdue, { time: countdown(-left) }) : countdown(left);
  }

  function tick(root) {
    const now = Date.now();
    $$("[data-sla-badge]", root).forEach((b) => paint(b, now));
    boundarySchedule();
  }

  // The colour changes at a badge's warning and due times, not at the next 30-second tick:
  // one timer for the nearest such moment on the page (the 30 s ticks keep the text going).
  let boundaryTimer = null;
  function boundarySchedule() {
    const now = Date.now();
    let next = Infinity;
    $$("[data-sla-badge]").forEach((b) => {
      [b.dataset.warn, b.dataset.due].forEach((v) => {
        const at = v ? Date.parse(v) : NaN;
        if (!isNaN(at) && at > now && at < next) next = at;
      });
    });
    if (boundaryTimer) window.clearTimeout(boundaryTimer);
    boundaryTimer = null;
    if (next - now < 30000) boundaryTimer = window.setTimeout(() => tick(document), next - now + 50);
  }

  // A badge drawn from an event's deadline ({kind, due_at, warn_at, ...}) in the slot given.
  function fill(slot, deadline) {
    if (!deadline || !deadline.due_at) {
      slot.replaceChildren();
      return;
    }
    const badge = document.createElement("span");
    badge.className = "sla-badge";
    badge.dataset.slaBadge = "";
    badge.dataset.due = deadline.due_at;
    badge.dataset.warn = deadline.warn_at || "";
    badge.dataset.kind = deadline.kind || "";
    const due = Date.parse(deadline.due_at);
    const shopZone = slot.dataset.zone || "UTC";
    badge.title = fmt(T.title, {
      shop: localTime(due, shopZone), shop_zone: shopZone,
      viewer: localTime(due, T.viewer_zone), viewer_zone: T.viewer_zone,
    });
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = (slot.dataset.subject === "case" ? T.decision_due : T.reply_due) + " ";
    const text = document.createElement("span");
    text.dataset.slaText = "";
    badge.append(hidden, text);
    paint(badge, Date.now());
    slot.replaceChildren(badge);
    boundarySchedule();
  }

  function onDeadline(data) {
    if (!data || !data.subject || data.id === undefined) return;
    const sel = '[data-sla-slot][data-subject="' + data.subject + '"][data-id="' + Number(data.id) + '"]';
    $$(sel).forEach((slot) => fill(slot, data.deadline));
  }

  document.addEventListener("scrm:event", (e) => {
    const event = e.detail || {};
    if (event.type === "sla.deadline") onDeadline(event.data);
  });
  document.addEventListener("htmx:afterSettle", (e) => tick(e.target));
  tick(document);
  window.setInterval(() => tick(document), 30000);

  // A page without the inbox's script (the stand-alone case page) keeps a socket of its own
  // and hands its events on the same way (panel.js refreshes the card on case.updated).
  const live = document.getElementById("sla-live");
  if (live && window.scrmSocket) {
    const cfg = JSON.parse(live.textContent);
    window.scrmSocket({
      path: cfg.wsPath,
      lastEventId: cfg.lastEventId || 0,
      onEvent: (event) => document.dispatchEvent(new CustomEvent("scrm:event", { detail: event })),
      onState: (state) => (document.documentElement.dataset.live = state),
    });
  }
  window.scrmSla = { tick, onDeadline };
})();
