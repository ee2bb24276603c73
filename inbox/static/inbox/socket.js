/* The product's one websocket client, shared by every page that keeps a socket (the inbox, the
   team page). The socket is a hint and the change feed the truth (docs/api.md):

   - events are handed on once each, in id order (an id at or below the last one is dropped);
   - after the server's hello, anything newer than the page's last id is fetched from
     /api/v1/events/?after=<id> first, and events arriving meanwhile wait behind it;
   - the browser pings every ping_seconds (from the hello); with nothing heard for two periods
     the path is dead even if the browser has not noticed, and the socket is replaced;
   - a lost socket reconnects after 1 s doubling to 30 s, each delay +/-20 % so that a restarted
     server is not met by every browser at once;
   - close codes 4401 (signed out) and 4403 (access ended) are final: no reconnect.

   Usage: const live = scrmSocket({path, lastEventId, onEvent, onState});
   onState(state, detail) gets "connecting", "live", "reconnecting" ({seconds}) or "offline". */
(function () {
  "use strict";

  const FINAL_CODES = [4401, 4403];
  const FEED_PAGES = 50; // at most 50 x 500 events of catch-up in one go

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function getJson(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    if (!response.ok) return null;
    try {
      return await response.json();
    } catch (e) {
      return null;
    }
  }

  function backoff(attempt) {
    return Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.8 + Math.random() * 0.4);
  }

  window.scrmSocket = function (options) {
    const onEvent = options.onEvent || function () {};
    const onState = options.onState || function () {};
    const feedUrl = options.feedUrl || "/api/v1/events/";
    let lastEventId = options.lastEventId || 0;
    let socket = null;
    let attempts = 0;
    let pingTimer = null;
    let pingMs = 30000; // until the hello says (SCRM_WS_CLIENT_PING_SECONDS)
    let lastHeard = 0;
    let catchingUp = false;
    let buffered = [];

    function deliver(event) {
      if (!event || typeof event.id !== "number" || event.id <= lastEventId) return;
      lastEventId = event.id;
      onEvent(event);
    }

    async function catchUp() {
      if (catchingUp) return;
      catchingUp = true;
      try {
        for (let page = 0; page < FEED_PAGES; page++) {
          const data = await getJson(feedUrl + "?after=" + lastEventId);
          if (!data || !Array.isArray(data.events)) break;
          data.events.forEach(deliver);
          if (!data.has_more) break;
        }
      } catch (e) {
        /* the network again: the next hello catches up */
      } finally {
        catchingUp = false;
        const later = buffered;
        buffered = [];
        later.sort((a, b) => a.id - b.id).forEach(deliver);
      }
    }

    function startPings(ws) {
      window.clearInterval(pingTimer);
      lastHeard = Date.now();
      pingTimer = window.setInterval(() => {
        if (socket !== ws || ws.readyState !== WebSocket.OPEN) return;
        if (Date.now() - lastHeard > 2 * pingMs + 5000) {
          retry(ws);
          return;
        }
        ws.send(JSON.stringify({ type: "ping" }));
      }, pingMs);
    }

    function giveUp(ws) {
      if (socket === ws) socket = null;
      window.clearInterval(pingTimer);
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
    }

    function retry(ws) {
      if (socket !== ws) return; // this socket was already given up
      giveUp(ws);
      attempts += 1;
      const delay = backoff(attempts);
      onState("reconnecting", { seconds: Math.round(delay / 1000) });
      window.setTimeout(connect, delay);
    }

    function onMessage(ws, raw) {
      let msg;
      try {
        msg = JSON.parse(raw);
      } catch (e) {
        return;
      }
      lastHeard = Date.now(); // anything from the server shows the path is alive
      if (msg.type === "hello") {
        attempts = 0;
        onState("live", msg.data || {});
        const seconds = msg.data && Number(msg.data.ping_seconds);
        if (seconds > 0 && seconds * 1000 !== pingMs) {
          pingMs = seconds * 1000;
          startPings(ws);
        }
        // Whatever happened between the page render (or the last socket) and now.
        if ((msg.data && msg.data.last_event_id) > lastEventId) catchUp();
        return;
      }
      if (msg.type === "pong") return;
      if (catchingUp) buffered.push(msg);
      else deliver(msg);
    }

    function connect() {
      if (!("WebSocket" in window)) return onState("offline", { final: true });
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      onState("connecting", {});
      const ws = new WebSocket(scheme + location.host + options.path);
      socket = ws;
      ws.addEventListener("open", () => startPings(ws));
      ws.addEventListener("message", (m) => onMessage(ws, m.data));
      ws.addEventListener("close", (e) => {
        if (socket !== ws) return; // given up already (no pong); a new one is on its way
        if (FINAL_CODES.includes(e.code)) {
          giveUp(ws);
          onState("offline", { final: true, code: e.code });
          return;
        }
        retry(ws);
      });
    }

    connect();
    return {
      get lastEventId() {
        return lastEventId;
      },
      get socket() {
        return socket;
      },
      deliver,
      catchUp,
    };
  };
})();
