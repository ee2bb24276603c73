/* The bell in the inbox's top bar (monitoring/templates/monitoring/_bell.html): the unread
   count and a dropdown of one's latest SLA alerts. The list is a server-rendered fragment
   (/sla/bell/), read when the page opens and again on each live `sla.alert` event (the inbox's
   script re-dispatches every socket event as `scrm:event` on document), so a new alert shows
   at the top and the count goes up without a reload. Mark read (one or all) posts the form
   and puts the answer in place. */
(function () {
  "use strict";

  const bell = document.getElementById("sla-bell");
  if (!bell) return;
  const button = document.getElementById("sla-bell-button");
  const panel = document.getElementById("sla-bell-panel");
  const count = document.getElementById("sla-bell-count");
  let reading = null;
  let again = false;

  function setCount(n) {
    n = Math.max(0, Number(n) || 0);
    count.textContent = String(n);
    count.hidden = n === 0;
    bell.dataset.unread = String(n);
    const label = n ? bell.dataset.unreadLabel.replace("{n}", String(n)) : bell.dataset.label;
    button.setAttribute("aria-label", label);
    button.title = label;
  }

  function show(html, unread) {
    panel.innerHTML = html;
    setCount(unread);
  }

  async function load() {
    if (reading) {
      again = true; // one more read after this one, so the newest alert always lands
      return reading;
    }
    reading = (async () => {
      try {
        do {
          again = false;
          const response = await fetch(bell.dataset.listUrl, {
            credentials: "same-origin",
            headers: { "X-SCRM-Fragment": "1" },
          });
          if (!response.ok) return;
          const html = await response.text();
          if (!again) show(html, response.headers.get("X-SCRM-Unread"));
        } while (again);
      } catch (e) {
        /* offline for a moment: the next event reads again */
      } finally {
        reading = null;
      }
    })();
    return reading;
  }

  function toggle(open) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  button.addEventListener("click", () => toggle(panel.hidden));
  document.addEventListener("click", (e) => {
    if (!panel.hidden && !bell.contains(e.target)) toggle(false);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      toggle(false);
      button.focus();
    }
  });

  panel.addEventListener("submit", async (e) => {
    const form = e.target.closest("form[data-bell-read]");
    if (!form) return;
    e.preventDefault();
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-SCRM-Fragment": "1" },
      });
      if (response.ok) show(await response.text(), response.headers.get("X-SCRM-Unread"));
    } catch (err) {
      /* the list stays; the next read shows the truth */
    }
  });

  document.addEventListener("scrm:event", (e) => {
    const event = e.detail || {};
    if (event.type !== "sla.alert") return;
    setCount(Number(bell.dataset.unread || 0) + 1); // at once; the read below is the truth
    load();
  });

  load();
  window.scrmBell = { load };
})();
