/* The composer's live sensitive-word warning: as the agent types a reply, the text is screened
   (debounced, POST /api/v1/monitoring/screen/, a preview that records nothing) and what would be
   blocked (red) or masked (amber) is shown highlighted under the text, with a short message.
   Sending stays possible: the server refuses a blocked reply anyway, and when it does
   (inbox.js dispatches "composer:refused") the refused words are highlighted the same way.
   Notes are never screened (they stay in the team). No innerHTML: the text is the agent's. */
(function () {
  "use strict";

  const DELAY_MS = 300;
  const MAX_TEXT = 5000; // longer texts are not previewed (the API refuses them)
  const $ = (sel, root) => (root || document).querySelector(sel);

  let timer = null;
  let seq = 0; // only the answer to the latest request is shown

  function strings() {
    const el = document.getElementById("screen-strings");
    return el ? el.dataset : {};
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function panel(form) {
    let el = $("#composer-screen", form);
    if (el) return el;
    el = document.createElement("div");
    el.id = "composer-screen";
    el.className = "composer-screen";
    el.hidden = true;
    el.setAttribute("aria-live", "polite");
    const message = document.createElement("p");
    message.className = "screen-message";
    const preview = document.createElement("p");
    preview.className = "screen-preview";
    preview.setAttribute("aria-hidden", "true"); // the message says it; this shows where
    el.append(message, preview);
    const box = $(".composer-box", form);
    if (box) box.after(el);
    else form.prepend(el);
    return el;
  }

  function clear(form) {
    const el = form && $("#composer-screen", form);
    if (!el) return;
    el.hidden = true;
    el.dataset.action = "";
    $(".screen-message", el).textContent = "";
    $(".screen-preview", el).textContent = "";
  }

  /* Show ``text`` with its block and mask matches highlighted (overlaps: block wins). */
  function show(form, text, matches, refused) {
    const shown = matches.filter((m) => m.action === "block" || m.action === "mask");
    if (!shown.length) return clear(form);
    const el = panel(form);
    // The server's offsets count characters (code points), not UTF-16 units: an emoji before
    // a match would otherwise shift its highlight (and may split a surrogate pair).
    const chars = Array.from(text);
    const kinds = new Array(chars.length).fill("");
    for (const m of shown) {
      for (let i = Math.max(0, m.start); i < Math.min(chars.length, m.end); i++) {
        if (kinds[i] !== "block") kinds[i] = m.action;
      }
    }
    const preview = $(".screen-preview", el);
    preview.textContent = "";
    let i = 0;
    while (i < chars.length) {
      let j = i;
      while (j < chars.length && kinds[j] === kinds[i]) j++;
      const part = chars.slice(i, j).join("");
      if (kinds[i]) {
        const mark = document.createElement("mark");
        mark.className = "screen-" + kinds[i];
        mark.textContent = part;
        preview.append(mark);
      } else {
        preview.append(document.createTextNode(part));
      }
      i = j;
    }
    const T = strings();
    const blocked = shown.some((m) => m.action === "block");
    const masked = shown.some((m) => m.action === "mask");
    const lines = [];
    if (refused) lines.push(T.refused || "");
    else if (blocked) lines.push(T.block || "");
    if (masked) lines.push(T.mask || "");
    $(".screen-message", el).textContent = lines.filter(Boolean).join(" ");
    el.dataset.action = blocked ? "block" : "mask";
    el.hidden = false;
  }

  async function screen(form) {
    const ta = $("#composer-text", form);
    const text = ta ? ta.value : "";
    const shop = Number(form.dataset.shop);
    const mine = ++seq;
    if (form.dataset.mode === "note" || !text.trim() || !shop || text.length > MAX_TEXT) {
      clear(form);
      return;
    }
    let data = null;
    try {
      const response = await fetch("/api/v1/monitoring/screen/", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ text, shop_account: shop }),
      });
      if (!response.ok) return; // a preview only: the send itself is screened anyway
      data = await response.json();
    } catch (e) {
      return;
    }
    // A later keystroke, another conversation or the note mode since: this answer is stale.
    if (mine !== seq || !form.isConnected || ta.value !== text || form.dataset.mode === "note") {
      return;
    }
    show(form, text, (data && data.matches) || [], false);
  }

  function schedule() {
    const form = $("#composer");
    if (!form) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => screen(form), DELAY_MS);
  }

  document.addEventListener("input", (e) => {
    if (e.target.id === "composer-text") schedule();
  });
  document.addEventListener("change", (e) => {
    if (e.target.name === "mode" && e.target.closest("#composer")) schedule();
  });
  // A draft put back when another conversation opens: warn about it too.
  document.addEventListener("htmx:afterSettle", () => {
    const ta = $("#composer-text");
    if (ta && ta.value.trim()) schedule();
  });
  document.addEventListener("composer:sent", (e) => clear(e.target));
  document.addEventListener("composer:refused", (e) => {
    const error = (e.detail && e.detail.error) || {};
    if (error.code !== "reply_blocked") return;
    const form = e.target;
    const ta = $("#composer-text", form);
    if (!ta) return;
    seq++; // drop a preview in flight: the server's answer is the last word
    // The server screened the trimmed text: move its offsets onto the textarea's (in
    // characters, as the offsets are).
    const lead = Array.from(ta.value).length - Array.from(ta.value.trimStart()).length;
    const matches = ((error.details && error.details.matches) || []).map((m) =>
      Object.assign({}, m, { start: m.start + lead, end: m.end + lead })
    );
    show(form, ta.value, matches, true);
  });
})();
