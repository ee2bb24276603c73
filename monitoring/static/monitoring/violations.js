/* The violation review queue (/monitoring/violations/): keeps a socket (inbox/socket.js) and,
   on each live "violation.flagged" event, re-reads the queue as filtered (the server renders
   the rows, the text decrypted for this supervisor) and says a new one arrived. Without
   scripts the page still works: its forms post and come back. */
(function () {
  "use strict";

  const body = document.getElementById("violations-body");
  const live = document.getElementById("violations-live");
  if (!body || !live || !window.scrmSocket) return;
  const notice = document.getElementById("vio-new");
  let reading = false;
  let again = false;

  async function reload() {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { "X-SCRM-Fragment": "1" },
      });
      if (response.ok) {
        body.innerHTML = await response.text();
        if (notice) notice.hidden = false;
      }
    } catch (err) {
      /* the queue stays; the next event or a reload shows the truth */
    } finally {
      reading = false;
      if (again) {
        again = false;
        reload();
      }
    }
  }

  document.addEventListener("scrm:event", (e) => {
    const event = e.detail || {};
    if (event.type === "violation.flagged") reload();
  });

  const cfg = JSON.parse(live.textContent);
  window.scrmSocket({
    path: cfg.wsPath,
    lastEventId: cfg.lastEventId || 0,
    onEvent: (event) => document.dispatchEvent(new CustomEvent("scrm:event", { detail: event })),
    onState: (state) => (document.documentElement.dataset.live = state),
  });
})();
