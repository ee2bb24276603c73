/* The team page, live. Its socket (static/inbox/socket.js, as the inbox's) makes the reader
   present (presence is an open socket, inbox/services/presence.py) and brings the shops'
   events; each burst of events re-reads the figures once. Presence has no events (people open
   and close the product, or time out), so the figures are also re-read every refreshSeconds
   while the page is visible, and at once when it becomes visible or its socket comes back. */
(function () {
  "use strict";

  const el = document.getElementById("team-config");
  if (!el || !window.scrmSocket) return;
  const cfg = JSON.parse(el.textContent);
  const figures = document.getElementById("team-figures");
  const state = document.getElementById("live-state");
  let running = null;
  let again = false;
  let soonTimer = null;

  async function refresh() {
    if (running) {
      again = true; // one more read after this one, so the newest state always lands
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const response = await fetch(cfg.figuresUrl, { credentials: "same-origin" });
          if (!response.ok) return;
          const html = await response.text();
          if (!again) {
            figures.innerHTML = html;
            document.body.dataset.refreshedAt = String(Date.now());
          }
        } while (again);
      } catch (e) {
        /* offline for a moment: the next event or tick reads again */
      } finally {
        running = null;
      }
    })();
    return running;
  }

  // A burst of events (a bulk action, a busy minute) is one read, not one per event.
  function refreshSoon() {
    window.clearTimeout(soonTimer);
    soonTimer = window.setTimeout(refresh, 400);
  }

  let wasLive = false;
  function setState(name) {
    document.body.dataset.presence = name === "live" ? "live" : "offline";
    if (!state) return;
    state.dataset.state = name === "live" ? "live" : name === "connecting" ? "connecting" : "offline";
    state.textContent = state.dataset["text" + name.charAt(0).toUpperCase() + name.slice(1)] || state.dataset.textOffline;
  }

  window.scrmSocket({
    path: cfg.wsPath,
    lastEventId: cfg.lastEventId || 0,
    onEvent: refreshSoon,
    onState(name) {
      setState(name === "reconnecting" ? "offline" : name);
      if (name === "live" && wasLive) refreshSoon(); // what changed while the socket was away
      if (name === "live") wasLive = true;
    },
  });

  window.setInterval(() => {
    if (!document.hidden) refresh();
  }, Math.max(1, Number(cfg.refreshSeconds) || 20) * 1000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  window.scrmTeam = { refresh };
})();
