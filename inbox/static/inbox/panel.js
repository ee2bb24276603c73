// The buyer panel's after-sales cards (templates/inbox/_case_card.html): the decision form
// (fields shown for the chosen decision, posted by fetch, the answered card swapped in, a 409
// or a 400 shown in the form), quick replies into the buyer message, evidence opened larger,
// the focused case scrolled to, and the live refresh of a card on "case.updated" (a new case of
// the open conversation added; inbox.js re-dispatches every socket event as a "scrm:event" DOM
// event). No inline script or style.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function csrf() {
    const input = $("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // ---- the decision form -----------------------------------------------------------------
  function syncFields(form) {
    const chosen = $("input[name=decision]:checked", form);
    const wants = {
      amount: chosen ? chosen.dataset.amount === "1" : false,
      reason: chosen ? chosen.dataset.reason === "1" : false,
    };
    $$(".case-field[data-when]", form).forEach((el) => {
      el.hidden = !wants[el.dataset.when];
    });
  }

  function setupCard(card) {
    if (!card || card.dataset.ready) return;
    card.dataset.ready = "1";
    const form = $("form.case-decide", card);
    if (form) {
      syncFields(form);
      form.addEventListener("change", (e) => {
        if (e.target.name === "decision") syncFields(form);
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        submit(form, card);
      });
      setupQuickReplies(form);
    }
  }

  async function submit(form, card) {
    const button = $("button[type=submit]", form);
    const status = $(".case-sending", form);
    button.disabled = true;
    if (status) status.textContent = form.dataset.sending || "…";
    let html = "";
    try {
      const r = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrf() },
        credentials: "same-origin",
      });
      html = await r.text();
      if (r.status >= 500 || !html.includes("case-card")) throw new Error(String(r.status));
    } catch (err) {
      button.disabled = false;
      if (status) status.textContent = form.dataset.failed || String(err);
      return;
    }
    const fresh = replaceCard(card, html);
    if (!fresh) return;
    const problem = $(".case-error", fresh);
    const invalid = $("[aria-invalid=true]", fresh);
    if (invalid) invalid.focus();
    else if (problem) {
      problem.setAttribute("tabindex", "-1");
      problem.focus();
    } else {
      const title = $("h4", fresh);
      if (title) title.focus();
    }
  }

  function replaceCard(card, html) {
    const box = document.createElement("div");
    box.innerHTML = html.trim();
    const fresh = $(".case-card", box);
    if (!fresh || !card.isConnected) return null;
    card.replaceWith(fresh);
    setupCard(fresh);
    return fresh;
  }

  // ---- quick replies into the buyer message (the composer's templates API) -----------------
  function setupQuickReplies(form) {
    const open = $(".case-qr-open", form);
    const box = $(".case-qr", form);
    if (!open || !box) return;
    const search = $(".case-qr-search", box);
    const list = $(".case-qr-list", box);
    const message = $("textarea[name=message_text]", form);
    let items = [];
    let active = 0;
    let seq = 0;

    function close(focusMessage) {
      box.hidden = true;
      open.setAttribute("aria-expanded", "false");
      if (focusMessage) message.focus();
    }

    function render() {
      list.innerHTML = "";
      items.forEach((item, i) => {
        const li = document.createElement("li");
        li.id = list.id + "-" + item.id;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.className = "qr-item";
        li.textContent = "/" + item.shortcut + " — " + item.title;
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          pick(item);
        });
        list.append(li);
      });
      const current = items[active];
      if (current) search.setAttribute("aria-activedescendant", list.id + "-" + current.id);
      else search.removeAttribute("aria-activedescendant");
    }

    async function find() {
      const mine = ++seq;
      const term = search.value.trim();
      const url = "/api/v1/templates/?page_size=8" + (term ? "&search=" + encodeURIComponent(term) : "");
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (mine !== seq) return;
      const data = r.ok ? await r.json() : {};
      items = data.results || [];
      active = 0;
      render();
    }

    async function pick(item) {
      const body = {};
      if (form.dataset.conversation) body.conversation_id = Number(form.dataset.conversation);
      const r = await fetch("/api/v1/templates/" + item.id + "/render/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(body),
      });
      const data = await r.json().catch(() => ({}));
      // A template asking for values the conversation cannot fill is inserted as written:
      // the agent completes it in the message.
      const text = r.ok ? data.text : item.body || "";
      message.value = message.value ? message.value + "\n" + text : text;
      // counted as used when the decision sends the message (as the composer's replies are)
      form.elements.quick_reply_id.value = String(item.id);
      form.elements.quick_reply_language.value = (r.ok && data.language) || "";
      close(true);
    }

    message.addEventListener("input", () => {
      if (message.value.trim()) return;
      form.elements.quick_reply_id.value = ""; // cleared: not used
      form.elements.quick_reply_language.value = "";
    });

    open.addEventListener("click", () => {
      const opening = box.hidden;
      box.hidden = !opening;
      open.setAttribute("aria-expanded", opening ? "true" : "false");
      if (opening) {
        search.value = "";
        search.focus();
        find();
      }
    });
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(find, 150);
    });
    search.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!items.length) return;
        active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        render();
      } else if (e.key === "Enter") {
        e.preventDefault();
        if (items[active]) pick(items[active]);
      } else if (e.key === "Escape") {
        e.preventDefault();
        close(true);
      }
    });
  }

  // ---- evidence opened larger ------------------------------------------------------------
  let viewer = null;
  function showEvidence(url, alt, closeText) {
    if (!viewer) {
      viewer = document.createElement("dialog");
      viewer.className = "evidence-viewer";
      const img = document.createElement("img");
      const form = document.createElement("form");
      form.method = "dialog";
      const close = document.createElement("button");
      close.type = "submit";
      close.className = "primary";
      form.append(close);
      viewer.append(img, form);
      viewer.addEventListener("click", (e) => {
        if (e.target === viewer) viewer.close();
      });
      document.body.append(viewer);
    }
    $("button", viewer).textContent = closeText || "×";
    const img = $("img", viewer);
    img.src = url;
    img.alt = alt || "";
    viewer.showModal();
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("a[data-evidence]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    const img = $("img", link);
    const group = link.closest(".case-evidence");
    showEvidence(link.dataset.evidence, img ? img.alt : "", group ? group.dataset.close : "");
  });

  // ---- cards arriving, focus, live refresh -----------------------------------------------
  function setupAll(root) {
    $$(".case-card", root).forEach(setupCard);
    const focused = $(".case-card[data-focus='1']", root);
    if (focused && !focused.dataset.focusedOnce) {
      focused.dataset.focusedOnce = "1";
      focused.scrollIntoView({ block: "nearest" });
      const title = $("h4", focused);
      if (title) title.focus({ preventScroll: true });
    }
    $$(".panel-load", root).forEach((el) => el.removeAttribute("aria-busy"));
  }

  // A case new to the open conversation's buyer (a return just filed) is added to the list
  // live; the cards already there, and a form being filled in, are left as they are.
  let adding = null;
  function addNewCards(conversationId) {
    const region = document.getElementById("panel-cases");
    if (!region || !conversationId || region.dataset.conversation !== String(conversationId)) return;
    clearTimeout(adding);
    adding = setTimeout(async () => {
      const r = await fetch(region.getAttribute("hx-get"), { credentials: "same-origin" });
      if (!r.ok || !region.isConnected) return;
      const box = document.createElement("div");
      box.innerHTML = (await r.text()).trim();
      const fresh = $$(".case-card", box).filter((c) => !document.getElementById(c.id));
      if (!fresh.length) return;
      let list = $(".case-list", region);
      if (!list) {
        list = document.createElement("div");
        list.className = "case-list";
        region.replaceChildren(list);
      }
      fresh.forEach((c) => {
        list.append(c);
        setupCard(c);
      });
    }, 100);
  }

  const refreshing = new Map();
  const reads = new Map(); // case id -> the number of its latest card read
  function refreshCard(id, conversationId) {
    const card = document.getElementById("case-" + id);
    if (!card) {
      addNewCards(conversationId);
      return;
    }
    // A form being filled in is not replaced under the agent's hands, unless the case's
    // state changed what it allows; the refresh waits for the form to lose focus.
    const form = $("form.case-decide", card);
    if (form && form.contains(document.activeElement)) {
      form.addEventListener("focusout", () => setTimeout(() => refreshCard(id), 0), { once: true });
      return;
    }
    clearTimeout(refreshing.get(id));
    refreshing.set(
      id,
      setTimeout(async () => {
        const mine = (reads.get(id) || 0) + 1;
        reads.set(id, mine);
        const focus = card.dataset.focus === "1" ? "?focus=" + id : "";
        const r = await fetch(card.dataset.cardUrl + focus, { credentials: "same-origin" });
        if (!r.ok) return;
        const html = await r.text();
        if (card.isConnected) replaceCard(card, html);
        // The card was replaced while this read was under way (an earlier read or the form's
        // answer, possibly older than this event): the latest read reads it again, so the
        // last event's state is what stays on screen.
        else if (reads.get(id) === mine) refreshCard(id);
      }, 100)
    );
  }

  document.addEventListener("scrm:event", (e) => {
    const event = e.detail || {};
    if (event.type === "case.updated" && event.data) refreshCard(event.data.id, event.data.conversation_id);
  });
  document.addEventListener("htmx:afterSettle", (e) => setupAll(e.target));
  document.addEventListener("DOMContentLoaded", () => setupAll(document));
  if (document.readyState !== "loading") setupAll(document);

  window.scrmPanel = { refreshCard };
})();
