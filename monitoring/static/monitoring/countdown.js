/* SLA countdowns: every element .countdown[data-due] (an ISO time) shows the time left until it
   as h:mm:ss, or "−h:mm:ss" once past, ticking each second; its row turns .is-breached at zero.
   The server renders the first text, so the page reads the same without scripts. */
(function () {
  "use strict";

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function format(ms) {
    const sign = ms < 0 ? "\u2212" : "";
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    return sign + h + ":" + pad(m) + ":" + pad(s - m * 60);
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach((el) => {
      const due = Date.parse(el.dataset.due);
      if (Number.isNaN(due)) return;
      el.textContent = format(due - now);
      const row = el.closest("tr");
      if (row && due <= now && !row.classList.contains("is-breached")) {
        row.classList.remove("is-warning");
        row.classList.add("is-breached");
      }
    });
  }

  tick();
  window.setInterval(tick, 1000);
  window.scrmCountdown = { tick, format };
})();
