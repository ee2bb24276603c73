/* The team page keeps a socket open as the inbox does. Presence is "has the product open" (an
   open socket, inbox/services/presence.py), so without it a supervisor reading this page
   counted as offline. The socket carries no figures here yet; it only says "present". */
(function () {
  "use strict";

  const el = document.getElementById("team-config");
  if (!el || !("WebSocket" in window)) return;
  const cfg = JSON.parse(el.textContent);
  let attempts = 0;
  let pingTimer = 0;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + cfg.wsPath);
    ws.addEventListener("message", (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      if (msg.type !== "hello") return;
      attempts = 0;
      document.body.dataset.presence = "live";
      // The browser's ping keeps proxies from closing an idle socket (as in inbox.js).
      const seconds = Number(msg.data && msg.data.ping_seconds) || 25;
      window.clearInterval(pingTimer);
      pingTimer = window.setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, seconds * 1000);
    });
    ws.addEventListener("close", (e) => {
      window.clearInterval(pingTimer);
      document.body.dataset.presence = "offline";
      // 4401 signed out, 4403 access ended: final, reconnecting would be refused the same way.
      if (e.code === 4401 || e.code === 4403) return;
      attempts += 1;
      window.setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(attempts, 5)));
    });
  }

  connect();
})();
