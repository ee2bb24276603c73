/* The agent workspace: live updates over the websocket (with catch-up from the change feed),
   the composer (replies, notes, quick replies), bulk actions and keyboard shortcuts.
   Server-rendered fragments are fetched with htmx; writes go through the REST API. */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("inbox-config").textContent);
  const T = JSON.parse(document.getElementById("inbox-strings").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => String(vars[k]));
  const baseTitle = document.title;

  let openId = cfg.openId || null;
  const drafts = new Map(); // conversation id -> {text, mode}
  const assignees = new Map(); // conversation id -> assignee user id (or null)
  const pendingBuyer = new Map(); // conversation id -> {n, name, text} awaiting its row update
  const unseen = new Map(); // conversation id -> new buyer messages not yet looked at

  // ---- helpers ---------------------------------------------------------------------------
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function api(method, url, body, headers) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: Object.assign(
        { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        headers || {}
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function announce(text) {
    const el = $("#announcer");
    if (!el) return;
    el.textContent = "";
    window.setTimeout(() => (el.textContent = text), 30);
  }

  function debounce(fn, ms) {
    let t = null;
    return function (...args) {
      window.clearTimeout(t);
      t = window.setTimeout(() => fn.apply(this, args), ms);
    };
  }

  function shortDuration(seconds) {
    const minutes = Math.max(0, Math.floor(seconds / 60));
    if (minutes < 1) return T.now;
    if (minutes < 60) return fmt(T.min, { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return fmt(T.h, { n: hours });
    return fmt(T.d, { n: Math.floor(hours / 24) });
  }

  function refreshWaits() {
    const now = Date.now();
    $$("[data-since]").forEach((el) => {
      const since = Date.parse(el.dataset.since);
      if (!isNaN(since)) el.textContent = shortDuration((now - since) / 1000);
    });
  }

  // Fragments: fetched with fetch (not htmx.ajax, which drops a request while another one from
  // the same source is in flight) and coalesced per key: while one is loading, later asks for
  // the same key collapse into one more load, so the newest state always lands.
  const jobs = new Map();

  async function fragment(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (!response.ok) throw new Error(String(response.status));
    return response.text();
  }

  function place(target, html, style) {
    if (!target || !target.isConnected) return null;
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    tpl.content.querySelectorAll("[hx-swap-oob]").forEach((oob) => {
      const dest = document.getElementById(oob.id);
      if (dest) {
        dest.innerHTML = oob.innerHTML;
        htmx.process(dest);
      }
      oob.remove();
    });
    let result = target;
    if (style === "outerHTML") {
      const first = tpl.content.firstElementChild;
      target.replaceWith(tpl.content);
      result = first;
    } else {
      target.replaceChildren(tpl.content);
    }
    if (result) htmx.process(result);
    return result;
  }

  function load(key, url, apply) {
    const running = jobs.get(key);
    if (running) {
      running.again = true;
      running.url = url;
      running.apply = apply;
      return running.promise;
    }
    const job = { again: false, url, apply };
    jobs.set(key, job);
    job.promise = (async () => {
      try {
        do {
          job.again = false;
          const html = await fragment(job.url);
          if (!job.again) job.apply(html);
        } while (job.again);
      } catch (e) {
        announce(T.error);
      } finally {
        jobs.delete(key);
      }
    })();
    return job.promise;
  }

  // The language form returns to "next": keep it on the conversation that is open now.
  function setUrl(how, url) {
    if (how === "push") history.pushState({ openId }, "", url);
    else history.replaceState({ openId }, "", url);
    const next = $('form.lang input[name="next"]');
    if (next) next.value = location.pathname + location.search;
  }

  // ---- queue -----------------------------------------------------------------------------
  const filters = $("#queue-filters");

  function queueQuery() {
    const params = new URLSearchParams();
    const view = filters.elements.view.value;
    if (view && view !== "all") params.set("view", view);
    if (filters.elements.q.value.trim()) params.set("q", filters.elements.q.value.trim());
    if (filters.elements.shop.value) params.set("shop", filters.elements.shop.value);
    if (filters.elements.kind && filters.elements.kind.value !== "all") params.set("kind", filters.elements.kind.value);
    if (filters.elements.sort && filters.elements.sort.value !== "waiting") params.set("sort", filters.elements.sort.value);
    if (filters.elements.due && filters.elements.due.checked) params.set("due", "today");
    return params.toString();
  }

  function markOpenRow() {
    $$(".qrow").forEach((row) => {
      const isOpen = String(row.dataset.id) === String(openId);
      row.classList.toggle("is-open", isOpen);
      const link = $(".qlink", row);
      if (isOpen) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  function rememberRows(root) {
    $$(".qrow", root).forEach((row) => {
      assignees.set(Number(row.dataset.id), row.dataset.assignee ? Number(row.dataset.assignee) : null);
    });
  }

  function loadQueue() {
    const q = queueQuery();
    const selected = new Set(selectedIds());
    return load("queue", "/inbox/queue/" + (q ? "?" + q : ""), (html) => {
      place($("#queue"), html);
      $$(".qsel").forEach((box) => (box.checked = selected.has(Number(box.value))));
      updateBulkBar();
      markOpenRow();
      rememberRows();
      const path = openId ? "/inbox/c/" + openId + "/" : "/inbox/";
      setUrl("replace", path + (q ? "?" + q : ""));
    });
  }

  // Rows follow the server's order live. Each row carries data-sort, its place in the view's
  // order (web/shaping.py queue_sort_key); a row an event touched is fetched for the view on
  // screen, dropped when the view no longer lists it (data-in-view="0"), and moved to where
  // the server would list it: after the loaded rows with more to load, it waits for its page.
  function placeRow(row) {
    const list = $("#queue-list");
    if (!list) return false;
    const key = row.dataset.sort || "";
    const more = $(".queue-more", list);
    const before = $$(".qrow, .qcase", list).find((r) => r !== row && (r.dataset.sort || "") > key);
    if (!before && more) return false;
    list.insertBefore(row, before || more || null);
    const empty = $(".queue-empty", list);
    if (empty) empty.remove();
    return true;
  }

  function afterRowsChanged() {
    if (!$(".qrow, .qcase") && !$(".queue-more")) return loadQueue(); // the view's own empty text
    markOpenRow();
    rememberRows();
    updateBulkBar();
  }

  const rowTimers = new Map();
  function refreshRow(id) {
    window.clearTimeout(rowTimers.get(id));
    rowTimers.set(
      id,
      window.setTimeout(() => {
        const q = queueQuery();
        load("row-" + id, "/inbox/queue/" + id + "/" + (q ? "?" + q : ""), (html) => {
          if (q !== queueQuery()) return; // another view since: its own load lists the rows
          const tpl = document.createElement("template");
          tpl.innerHTML = html.trim();
          const fresh = tpl.content.firstElementChild;
          const old = document.getElementById("qrow-" + id);
          if (!fresh) return;
          const checked = old && $(".qsel", old) && $(".qsel", old).checked;
          const focused = old && old.contains(document.activeElement);
          let shown = false;
          if (fresh.dataset.inView !== "0" && old && Number(id) === Number(openId)) {
            // The open conversation's row stays where it is while the agent works in it (j/k
            // and "the next one" keep their meaning); it moves when they leave it.
            fresh.dataset.unsorted = "1";
            old.replaceWith(fresh);
            shown = true;
          } else {
            if (old) old.remove();
            shown = fresh.dataset.inView !== "0" && placeRow(fresh);
          }
          if (shown) {
            htmx.process(fresh);
            if (checked) $(".qsel", fresh).checked = true;
            if (focused) $(".qlink", fresh).focus({ preventScroll: true });
          }
          afterRowsChanged();
        });
      }, 150)
    );
  }

  // Events about conversations the page does not list: each is asked about alone, unless a
  // burst (a bulk action elsewhere) makes one reload of the queue cheaper.
  const unlisted = new Set();
  const flushUnlisted = debounce(() => {
    const ids = Array.from(unlisted);
    unlisted.clear();
    if (ids.length > 8) loadQueue();
    else ids.forEach(refreshRow);
  }, 300);
  function rowChanged(id) {
    if (document.getElementById("qrow-" + id)) return refreshRow(id);
    unlisted.add(id);
    flushUnlisted();
  }

  // "Load more" pages from the last row's position: a row that moved down live while the page
  // was open can come again with the next page; the copy placed first stays.
  document.addEventListener("htmx:afterSwap", () => {
    const seen = new Set();
    $$(".qrow, .qcase").forEach((row) => {
      if (seen.has(row.id)) row.remove();
      seen.add(row.id);
    });
    markOpenRow();
    rememberRows();
  });

  $$(".view-tab").forEach((tab) =>
    tab.addEventListener("click", (e) => {
      e.preventDefault();
      filters.elements.view.value = tab.dataset.view;
      $$(".view-tab").forEach((t) => t.removeAttribute("aria-current"));
      tab.setAttribute("aria-current", "true");
      loadQueue();
    })
  );
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    loadQueue();
  });
  filters.elements.q.addEventListener("input", debounce(loadQueue, 300));
  filters.elements.shop.addEventListener("change", loadQueue);
  if (filters.elements.kind) filters.elements.kind.addEventListener("change", loadQueue);
  if (filters.elements.sort) filters.elements.sort.addEventListener("change", loadQueue);
  if (filters.elements.due) filters.elements.due.addEventListener("change", loadQueue);

  // ---- after-sales rows of the queue (case.updated) --------------------------------------
  // A case needing a decision is a row of its own (templates/inbox/_queue_case_row.html). An
  // event shows its decision's state at once; a case leaving "needs a decision" is removed;
  // otherwise the row is fetched for the view on screen and placed by its data-sort.
  function showCaseDecision(row, d) {
    const slot = row && $("[data-decision]", row);
    if (!slot) return;
    const state = d.decision_state || "";
    slot.classList.toggle("is-failed", state === "failed");
    if (state === "pending" || state === "sending") slot.textContent = T.case_deciding;
    else if (state === "failed") slot.textContent = fmt(T.case_failed, { reason: d.decision_failure_reason || "—" });
    else slot.textContent = "";
  }

  function caseRowRefresh(id, d) {
    const q = queueQuery();
    load("case-" + id, "/inbox/queue/case/" + id + "/" + (q ? "?" + q : ""), (html) => {
      if (q !== queueQuery()) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = html.trim();
      const fresh = tpl.content.firstElementChild;
      const old = document.getElementById("qcase-" + id);
      if (!fresh) return;
      const focused = old && old.contains(document.activeElement);
      if (old) old.remove();
      if (fresh.dataset.inView !== "0" && placeRow(fresh)) {
        htmx.process(fresh);
        if (d && d.decision_state) showCaseDecision(fresh, d);
        refreshDues(fresh);
        if (focused) $(".qlink", fresh).focus({ preventScroll: true });
      }
      afterRowsChanged();
    });
  }

  function caseChanged(d) {
    const row = document.getElementById("qcase-" + d.id);
    if (d.stage !== "needs_decision") {
      if (row) {
        row.remove();
        afterRowsChanged();
      }
      return;
    }
    showCaseDecision(row, d);
    caseRowRefresh(d.id, d);
  }

  function refreshDues(root) {
    const now = Date.now();
    $$(".qdue[data-due]", root).forEach((el) => {
      const due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      const late = due <= now;
      el.textContent = fmt(late ? T.case_overdue : T.case_due_in, { time: shortDuration(Math.abs(due - now) / 1000) });
      el.classList.toggle("is-late", late);
      const row = el.closest(".qcase");
      if (row) row.classList.toggle("is-overdue", late);
    });
  }

  // ---- bulk ------------------------------------------------------------------------------
  function selectedIds() {
    return $$(".qsel:checked").map((b) => Number(b.value));
  }

  function updateBulkBar() {
    const ids = selectedIds();
    $("#bulk-bar").hidden = ids.length === 0;
    $("#bulk-count").textContent = fmt(T.selected, { n: ids.length });
  }

  document.addEventListener("change", (e) => {
    if (e.target.classList && e.target.classList.contains("qsel")) updateBulkBar();
  });

  $("#bulk-bar").addEventListener("click", async (e) => {
    const button = e.target.closest("[data-bulk]");
    if (!button) return;
    const action = button.dataset.bulk;
    if (action === "clear") {
      $$(".qsel:checked").forEach((b) => (b.checked = false));
      updateBulkBar();
      return;
    }
    const ids = selectedIds();
    if (!ids.length) return announce(T.bulk_none);
    const body = { action, conversation_ids: ids };
    if (action === "assign") {
      const value = $("#bulk-assignee").value;
      body.assignee_id = value ? Number(value) : null;
    }
    button.disabled = true;
    const r = await api("POST", "/api/v1/conversations/bulk/", body);
    button.disabled = false;
    if (r.ok) {
      announce(r.data.message || fmt(T.bulk_done, { n: r.data.updated }));
      $$(".qsel:checked").forEach((b) => (b.checked = false));
      loadQueue();
      if (openId && ids.includes(Number(openId))) refreshHeader();
    } else {
      announce((r.data && r.data.error && r.data.error.message) || T.error);
    }
  });

  // ---- conversation ----------------------------------------------------------------------
  function saveDraft() {
    const form = $("#composer");
    if (!form) return;
    drafts.set(Number(form.dataset.conversation), {
      text: $("#composer-text").value,
      mode: form.dataset.mode,
    });
  }

  function openConversation(id, push) {
    saveDraft();
    openId = Number(id);
    // The row left behind takes its place in the order now (it stayed put while open).
    $$('.qrow[data-unsorted="1"]').forEach((row) => {
      if (Number(row.dataset.id) === openId) return;
      delete row.dataset.unsorted;
      if (!placeRow(row)) row.remove();
    });
    markOpenRow();
    const q = queueQuery();
    if (push !== false) setUrl("push", "/inbox/c/" + id + "/" + (q ? "?" + q : ""));
    const wanted = openId;
    return load("conversation", "/inbox/c/" + id + "/", (html) => {
      if (wanted !== openId) return;
      place($("#conversation"), html);
      afterConversationLoad();
    });
  }

  function afterConversationLoad() {
    const form = $("#composer");
    if (!form) return;
    const id = Number(form.dataset.conversation);
    openId = id;
    const draft = drafts.get(id);
    if (draft) {
      $("#composer-text").value = draft.text;
      setMode(draft.mode, false);
    }
    updateCounter();
    scrollTimelineToEnd(true);
    unseen.delete(id);
    updateTitle();
    const row = document.getElementById("qrow-" + id);
    if (row && Number(row.dataset.unread) > 0) {
      api("POST", "/api/v1/conversations/" + id + "/read/");
    }
    const conv = $(".conversation");
    if (conv) assignees.set(id, conv.dataset.assignee ? Number(conv.dataset.assignee) : null);
  }

  function scrollTimelineToEnd(force) {
    const tl = $("#timeline");
    if (!tl) return;
    if (force || tl.scrollHeight - tl.scrollTop - tl.clientHeight < 120) tl.scrollTop = tl.scrollHeight;
  }

  function shownId() {
    const conv = $(".conversation");
    return conv ? Number(conv.dataset.conversation) : null;
  }

  const refreshTimeline = debounce(function () {
    const id = shownId();
    if (!id) return;
    load("timeline", "/inbox/c/" + id + "/timeline/", (html) => {
      const tl = $("#timeline");
      if (!tl || shownId() !== id) return;
      const nearEnd = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 120;
      place(tl, html);
      if (nearEnd) scrollTimelineToEnd(true);
    });
  }, 80);

  // A live refresh of the header waits while the agent is in one of its menus or fields (a
  // half-typed tag is not wiped by a colleague's change); it lands when they leave.
  let headerStale = false;
  function headerBusy() {
    const header = $("#conv-header");
    if (!header) return false;
    if ($("details[open]", header)) return true;
    const active = document.activeElement;
    return !!active && header.contains(active) && (active.tagName === "INPUT" || active.tagName === "SELECT");
  }

  const loadHeader = debounce(function () {
    const id = shownId();
    if (!id) return;
    headerStale = false;
    const refocus = document.activeElement && document.activeElement.id === "tag-input";
    load("header", "/inbox/c/" + id + "/header/", (html) => {
      if (shownId() !== id) return;
      place($("#conv-header"), html);
      if (refocus && $("#tag-input")) $("#tag-input").focus();
    });
  }, 80);

  function refreshHeader(force) {
    if (!force && headerBusy()) {
      headerStale = true;
      return;
    }
    loadHeader();
  }

  function headerMaybeStale() {
    window.setTimeout(() => {
      if (headerStale && !headerBusy()) loadHeader();
    }, 0);
  }
  document.addEventListener("focusout", (e) => {
    if (e.target.closest && e.target.closest("#conv-header")) headerMaybeStale();
  });
  document.addEventListener("toggle", headerMaybeStale, true); // a menu closed

  function closeMenus(except) {
    $$("details.menu[open]").forEach((menu) => {
      if (menu !== except) menu.open = false;
    });
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-open]");
    if (link && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
      e.preventDefault();
      openConversation(link.dataset.open);
      return;
    }
    const action = e.target.closest("[data-action]");
    if (action) {
      e.preventDefault();
      conversationAction(action.dataset.action);
      return;
    }
    const retry = e.target.closest("[data-retry]");
    if (retry) {
      e.preventDefault();
      retryMessage(retry.dataset.retry, retry);
      return;
    }
    const snooze = e.target.closest("[data-snooze]");
    if (snooze) {
      e.preventDefault();
      // "In 1 hour" counts from the click, not from when the header was drawn.
      const until =
        snooze.dataset.snoozeKey === "hour" ? new Date(Date.now() + 3600 * 1000).toISOString() : snooze.dataset.snooze;
      snoozeUntil(until);
      return;
    }
    const untag = e.target.closest("[data-tag-remove]");
    if (untag) {
      e.preventDefault();
      const tag = untag.dataset.tagRemove;
      headerChange({ remove_tags: [tag] }, fmt(T.tag_removed, { tag }));
      return;
    }
    closeMenus(e.target.closest("details.menu"));
  });

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.id === "tag-add") {
      e.preventDefault();
      const input = $("#tag-input");
      const tag = input.value.trim();
      if (!tag) return;
      headerChange({ add_tags: [tag] }, fmt(T.tag_added, { tag })).then((ok) => {
        if (ok && $("#tag-input")) $("#tag-input").value = "";
      });
    } else if (form.id === "snooze-custom") {
      e.preventDefault();
      const input = $("#snooze-until");
      // datetime-local values of one format compare as strings; min is "now" in the viewer's
      // time zone, which is also how the server reads this value (the person's time zone).
      if (!input.value || (input.min && input.value < input.min)) {
        input.setCustomValidity(T.snooze_future);
        input.reportValidity();
        return;
      }
      snoozeUntil(input.value);
    } else if (form.id === "transfer-form") {
      e.preventDefault();
      const select = $("#transfer-to");
      if (!select.options.length) return;
      const option = select.options[select.selectedIndex];
      const value = select.value ? Number(select.value) : null;
      const done = value === null ? T.unassigned : fmt(T.transferred, { name: option.textContent.split(" · ")[0] });
      headerChange({ assignee_id: value }, done);
    }
  });

  document.addEventListener("input", (e) => {
    if (e.target.id === "snooze-until") e.target.setCustomValidity("");
  });

  document.addEventListener("change", (e) => {
    if (e.target.id === "conv-priority") {
      const option = e.target.options[e.target.selectedIndex];
      headerChange({ priority: Number(e.target.value) }, fmt(T.priority_set, { priority: option.textContent }));
    }
  });

  window.addEventListener("popstate", (e) => {
    const id = (e.state && e.state.openId) || (location.pathname.match(/\/inbox\/c\/(\d+)\//) || [])[1];
    if (id) openConversation(id, false);
  });

  // One change to the open conversation from its header; true when the server took it.
  async function headerChange(body, done, options) {
    const id = shownId() || openId;
    if (!id) {
      announce(T.no_conversation);
      return false;
    }
    const next = options && options.thenNext ? nextRow(id) : null;
    const r = await api("PATCH", "/api/v1/conversations/" + id + "/", body);
    if (!r.ok) {
      announce((r.data && r.data.error && r.data.error.message) || T.error);
      return false;
    }
    announce(done);
    closeMenus();
    rowChanged(id);
    if (next) openConversation(next);
    else refreshHeader(true);
    return true;
  }

  // The conversation to open once this one leaves the view (resolved, snoozed): the next in
  // the view's order, else the one before it; the first row when this one is not listed.
  function nextRow(id) {
    const rows = $$(".qrow");
    const i = rows.findIndex((r) => Number(r.dataset.id) === Number(id));
    const row = i < 0 ? rows[0] : rows[i + 1] || rows[i - 1];
    return row && Number(row.dataset.id) !== Number(id) ? Number(row.dataset.id) : null;
  }

  // Resolving carries the problem log's issue type and SKU when the agent set them (else the
  // server keeps its suggestion; where a type is required, its refusal is announced).
  function resolveBody() {
    const body = { status: "resolved" };
    const type = $("#conv-issue-type");
    const sku = $("#conv-issue-sku");
    if (type && type.value) body.issue_type = type.value;
    if (sku && sku.value.trim() !== (sku.dataset.initial || "")) body.sku = sku.value.trim();
    return body;
  }

  function snoozeUntil(until) {
    return headerChange({ status: "snoozed", snoozed_until: until }, T.snoozed, { thenNext: true });
  }

  function conversationAction(action) {
    if (!openId) return announce(T.no_conversation);
    if (action === "assign-me") return headerChange({ assignee_id: cfg.me }, T.assigned_me);
    if (action === "resolve") return headerChange(resolveBody(), T.resolved, { thenNext: true });
    if (action === "reopen") return headerChange({ status: "open" }, T.reopened);
  }

  async function retryMessage(id, button) {
    if (button) button.disabled = true;
    const r = await api("POST", "/api/v1/conversations/" + openId + "/messages/" + id + "/retry/");
    if (!r.ok) announce((r.data && r.data.error && r.data.error.message) || T.error);
    refreshTimeline();
  }

  // ---- composer --------------------------------------------------------------------------
  let inFlight = false;
  let pendingKey = null; // the idempotency key of the submit in progress (kept on network errors)

  function setMode(mode, focus) {
    const form = $("#composer");
    if (!form) return;
    form.dataset.mode = mode;
    const radio = $('input[name="mode"][value="' + mode + '"]', form);
    if (radio) radio.checked = true;
    const ta = $("#composer-text");
    ta.placeholder = mode === "note" ? ta.dataset.placeholderNote : ta.dataset.placeholderReply;
    updateCounter();
    if (focus !== false) ta.focus();
  }

  function setAlert(text) {
    const el = $("#composer-alert");
    if (el) el.textContent = text || "";
  }

  function updateCounter() {
    const form = $("#composer");
    if (!form) return;
    const limit = Number(form.dataset.limit);
    const length = $("#composer-text").value.trim().length;
    const counter = $("#composer-count");
    counter.textContent = length + " / " + limit;
    const over = form.dataset.mode === "reply" && length > limit;
    counter.classList.toggle("is-over", over);
    form.classList.toggle("is-over", over);
    if (over) setAlert(fmt(T.too_long, { n: length, max: limit }));
    else if ($("#composer-alert").textContent && $("#composer-alert").dataset.kind === "limit") setAlert("");
    $("#composer-alert").dataset.kind = over ? "limit" : "";
  }

  function optimistic(text) {
    const tl = $("#timeline");
    if (!tl) return null;
    const el = document.createElement("article");
    el.className = "msg msg-out is-optimistic";
    el.dataset.state = "pending";
    const meta = document.createElement("header");
    meta.className = "msg-meta";
    meta.textContent = T.you;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    const state = document.createElement("footer");
    state.className = "msg-state state-pending";
    state.setAttribute("role", "status");
    state.textContent = T.sending;
    el.append(meta, bubble, state);
    tl.append(el);
    scrollTimelineToEnd(true);
    return el;
  }

  async function submitComposer() {
    const form = $("#composer");
    if (!form || inFlight) return;
    const ta = $("#composer-text");
    const text = ta.value.trim();
    const id = Number(form.dataset.conversation);
    const mode = form.dataset.mode;
    if (!text) return setAlert(T.empty);
    const limit = Number(form.dataset.limit);
    if (mode === "reply" && text.length > limit) return setAlert(fmt(T.too_long, { n: text.length, max: limit }));
    closePicker();
    inFlight = true;
    $("#composer-send").disabled = true;
    setAlert("");
    let r;
    let bubble = null;
    try {
      if (mode === "note") {
        r = await api("POST", "/api/v1/conversations/" + id + "/notes/", { text });
      } else {
        pendingKey = pendingKey || uuid();
        bubble = optimistic(text);
        const body = { text, idempotency_key: pendingKey };
        const used = insertedQuickReplies.get(id); // counted as used when the reply is sent
        if (used) Object.assign(body, { quick_reply_id: used.id, quick_reply_language: used.language });
        r = await api("POST", "/api/v1/conversations/" + id + "/messages/", body);
      }
    } catch (err) {
      // Network problem: keep the text and the key, so pressing Enter again cannot send twice.
      if (bubble) bubble.remove();
      setAlert(T.network_error);
      inFlight = false;
      $("#composer-send").disabled = false;
      return;
    }
    inFlight = false;
    $("#composer-send").disabled = false;
    if (r.ok) {
      pendingKey = null;
      if (Number(form.dataset.conversation) === id) {
        ta.value = "";
        updateCounter();
      }
      drafts.delete(id);
      if (mode !== "note") insertedQuickReplies.delete(id);
      if (mode === "note") announce(T.note_saved);
      form.dispatchEvent(new CustomEvent("composer:sent", { bubbles: true }));
      refreshTimeline();
    } else {
      pendingKey = null; // refused by the server: nothing stored, a new attempt is a new reply
      if (bubble) bubble.remove();
      const error = (r.data && r.data.error) || {};
      setAlert(fmt(T.send_failed, { reason: error.message || T.error }));
      // composer_screen.js highlights the words of a reply the word policy refused
      form.dispatchEvent(new CustomEvent("composer:refused", { bubbles: true, detail: { error } }));
    }
  }

  document.addEventListener("submit", (e) => {
    if (e.target.id === "composer") {
      e.preventDefault();
      submitComposer();
    }
  });

  document.addEventListener("change", (e) => {
    if (e.target.name === "mode" && e.target.closest("#composer")) setMode(e.target.value);
  });

  document.addEventListener("input", (e) => {
    if (e.target.id !== "composer-text") return;
    if (pendingKey && !inFlight) pendingKey = null; // the text changed: a new reply
    if (!e.target.value.trim()) insertedQuickReplies.delete(openId); // cleared: not used
    updateCounter();
    maybeOpenPicker();
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "composer-text") return;
    if (pickerOpen()) {
      if (pickerKey(e)) return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitComposer();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.target.blur();
    }
  });

  // ---- quick replies ---------------------------------------------------------------------
  let picker = { items: [], active: 0, token: null, seq: 0 };
  // Conversation id -> the quick reply last inserted into its draft ({id, language}): sent with
  // the reply, so the use counts when the reply is sent, never on insert.
  const insertedQuickReplies = new Map();

  function pickerOpen() {
    const el = $("#qr-picker");
    return el && !el.hidden;
  }

  function closePicker() {
    const el = $("#qr-picker");
    if (el) el.hidden = true;
    const prompts = $("#qr-prompts");
    if (prompts) {
      prompts.hidden = true;
      prompts.innerHTML = "";
    }
    const ta = $("#composer-text");
    if (ta) {
      ta.removeAttribute("aria-activedescendant");
      ta.setAttribute("aria-expanded", "false");
    }
    picker.items = [];
  }

  function slashToken() {
    const ta = $("#composer-text");
    const before = ta.value.slice(0, ta.selectionStart);
    const m = before.match(/(^|\s)\/([\p{L}\p{N}_-]*)$/u);
    if (!m) return null;
    return { start: before.length - m[2].length - 1, end: ta.selectionStart, term: m[2] };
  }

  const searchQuickReplies = debounce(async function (token) {
    const seq = ++picker.seq;
    const url = "/api/v1/templates/?page_size=8" + (token.term ? "&search=" + encodeURIComponent(token.term) : "");
    const r = await api("GET", url);
    if (seq !== picker.seq || !pickerOpen()) return;
    picker.items = r.ok && r.data ? r.data.results || [] : [];
    picker.active = 0;
    renderPicker();
  }, 120);

  function maybeOpenPicker() {
    const form = $("#composer");
    if (!form || form.dataset.mode !== "reply") return closePicker();
    const token = slashToken();
    if (!token) return closePicker();
    picker.token = token;
    const el = $("#qr-picker");
    if (el.hidden) {
      el.hidden = false;
      $("#qr-list").innerHTML = "";
      const p = document.createElement("li");
      p.className = "qr-empty";
      p.textContent = T.qr_searching;
      $("#qr-list").append(p);
    }
    $("#composer-text").setAttribute("aria-expanded", "true");
    searchQuickReplies(token);
  }

  function renderPicker() {
    const list = $("#qr-list");
    list.innerHTML = "";
    if (!picker.items.length) {
      const li = document.createElement("li");
      li.className = "qr-empty";
      li.textContent = T.qr_none;
      list.append(li);
      return;
    }
    picker.items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = "qr-opt-" + item.id;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === picker.active ? "true" : "false");
      li.className = "qr-item";
      const sc = document.createElement("span");
      sc.className = "qr-shortcut";
      sc.textContent = "/" + item.shortcut;
      const title = document.createElement("span");
      title.className = "qr-title";
      title.textContent = item.title;
      const body = document.createElement("span");
      body.className = "qr-body";
      body.textContent = (item.body || "").slice(0, 120);
      li.append(sc, title, body);
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        pickQuickReply(item);
      });
      list.append(li);
    });
    const active = picker.items[picker.active];
    if (active) $("#composer-text").setAttribute("aria-activedescendant", "qr-opt-" + active.id);
  }

  function pickerKey(e) {
    if (!$("#qr-prompts").hidden) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = picker.items.length;
      if (!n) return true;
      picker.active = (picker.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderPicker();
      return true;
    }
    if ((e.key === "Enter" || e.key === "Tab") && picker.items.length) {
      e.preventDefault();
      pickQuickReply(picker.items[picker.active]);
      return true;
    }
    if (e.key === "Escape") {
      e.preventDefault();
      closePicker();
      return true;
    }
    if (e.key === "Enter") {
      e.preventDefault(); // no match yet: do not send "/term" to the buyer
      return true;
    }
    return false;
  }

  async function renderQuickReply(item, values) {
    const body = { conversation_id: openId };
    if (values) body.values = values;
    return api("POST", "/api/v1/templates/" + item.id + "/render/", body);
  }

  async function pickQuickReply(item, values) {
    const token = picker.token;
    const r = await renderQuickReply(item, values);
    if (r.ok) {
      insertText(token, r.data.text);
      insertedQuickReplies.set(openId, { id: item.id, language: r.data.language });
      closePicker();
      announce(T.qr_inserted);
      return;
    }
    const error = (r.data && r.data.error) || {};
    if (error.code === "template_variables" && error.details && error.details.prompts) {
      askForValues(item, error.details.prompts, values || {});
    } else {
      setAlert(error.message || T.qr_error);
      closePicker();
    }
  }

  function askForValues(item, prompts, known) {
    const box = $("#qr-prompts");
    box.innerHTML = "";
    box.hidden = false;
    $("#qr-list").innerHTML = "";
    const head = document.createElement("p");
    head.className = "qr-fill-head";
    head.textContent = T.qr_fill + " · /" + item.shortcut;
    box.append(head);
    const inputs = [];
    prompts.forEach((p) => {
      if (p.value !== null && p.value !== undefined && p.value !== "") return;
      const id = "qr-var-" + p.name;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = p.label || p.name.replace(/_/g, " ");
      const input = document.createElement("input");
      input.id = id;
      input.name = p.name;
      input.required = true;
      input.value = known[p.name] || "";
      box.append(label, input);
      inputs.push(input);
    });
    const actions = document.createElement("div");
    actions.className = "qr-fill-actions";
    const ok = document.createElement("button");
    ok.type = "button";
    ok.className = "primary";
    ok.textContent = T.qr_insert;
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = T.qr_cancel;
    actions.append(ok, cancel);
    box.append(actions);
    const submit = () => {
      const values = Object.assign({}, known);
      inputs.forEach((i) => (values[i.name] = i.value.trim()));
      pickQuickReply(item, values);
    };
    ok.addEventListener("click", submit);
    cancel.addEventListener("click", () => {
      closePicker();
      $("#composer-text").focus();
    });
    inputs.forEach((i) =>
      i.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          submit();
        } else if (e.key === "Escape") {
          e.preventDefault();
          closePicker();
          $("#composer-text").focus();
        }
      })
    );
    if (inputs[0]) inputs[0].focus();
  }

  function insertText(token, text) {
    const ta = $("#composer-text");
    const start = token ? token.start : ta.selectionStart;
    const end = token ? token.end : ta.selectionEnd;
    ta.value = ta.value.slice(0, start) + text + ta.value.slice(end);
    const caret = start + text.length;
    ta.focus();
    ta.setSelectionRange(caret, caret);
    updateCounter();
  }

  // ---- notifications and the title badge -------------------------------------------------
  function updateTitle() {
    let total = 0;
    unseen.forEach((n) => (total += n));
    document.title = (total ? "(" + total + ") " : "") + baseTitle;
  }

  const notifyButton = $("#notify-enable");
  if ("Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", () => {
      Notification.requestPermission().then((p) => {
        notifyButton.hidden = true;
        announce(p === "granted" ? T.notifications_on : T.notifications_blocked);
      });
    });
  }

  function notifyBuyerMessage(conversationId, info) {
    const looking = !document.hidden && Number(openId) === Number(conversationId);
    if (looking) return;
    unseen.set(conversationId, (unseen.get(conversationId) || 0) + info.n);
    updateTitle();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        const n = new Notification(fmt(T.new_message, { name: info.name || "" }), {
          body: info.text || "",
          tag: "conversation-" + conversationId,
        });
        n.onclick = () => {
          window.focus();
          openConversation(conversationId);
        };
      } catch (e) {
        /* some browsers only allow notifications from a service worker */
      }
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && openId) {
      unseen.delete(Number(openId));
      updateTitle();
    }
  });

  // ---- live events -----------------------------------------------------------------------
  function applyEvent(event) {
    const d = event.data || {};
    // The buyer panel's script (panel.js) listens to every event too.
    document.dispatchEvent(new CustomEvent("scrm:event", { detail: event }));
    switch (event.type) {
      case "message.created": {
        const cid = d.conversation_id;
        if (Number(cid) === Number(openId)) refreshTimeline();
        if (d.direction === "in" && d.sender_role === "BUYER") {
          const p = pendingBuyer.get(cid) || { n: 0 };
          p.n += 1;
          p.text = d.text || "";
          pendingBuyer.set(cid, p);
        }
        break;
      }
      case "case.updated":
        caseChanged(d);
        break;
      case "sla.deadline":
        // The badge changes at once (sla.js); the row is read again, as its place under
        // "due soonest first" and its presence under "due today" follow the deadline.
        if (d.subject === "conversation") rowChanged(d.id);
        else if (d.subject === "case" && document.getElementById("qcase-" + d.id)) caseRowRefresh(d.id);
        break;
      case "message.updated":
      case "note.created":
        if (Number(d.conversation_id) === Number(openId)) refreshTimeline();
        break;
      case "conversation.updated": {
        const assignee = d.assignee ? d.assignee.id : null;
        assignees.set(d.id, assignee);
        const p = pendingBuyer.get(d.id);
        if (p) {
          pendingBuyer.delete(d.id);
          if (assignee === cfg.me) {
            p.name = d.customer && d.customer.name;
            notifyBuyerMessage(d.id, p);
          }
        }
        rowChanged(d.id);
        if (Number(d.id) === Number(openId)) refreshHeader();
        break;
      }
      default:
        break;
    }
  }

  function setLive(state, text) {
    const el = $("#live-state");
    el.dataset.state = state;
    el.textContent = text;
  }

  // One socket module for every page (static/inbox/socket.js): reconnects with jittered
  // backoff, replaces a socket that stops answering pings, and catches up from the feed.
  let live = null;
  function connect() {
    live = window.scrmSocket({
      path: cfg.wsPath,
      lastEventId: cfg.lastEventId || 0,
      onEvent: applyEvent,
      onState(state, detail) {
        if (state === "live") setLive("live", T.live);
        else if (state === "connecting") setLive("connecting", T.connecting);
        else if (state === "reconnecting") setLive("offline", fmt(T.reconnecting, { n: detail.seconds }));
        else setLive("offline", T.offline);
      },
    });
  }

  // Exposed for the browser tests and for debugging from the console.
  window.scrmInbox = {
    get lastEventId() {
      return live ? live.lastEventId : cfg.lastEventId || 0;
    },
    get socket() {
      return live && live.socket;
    },
    applyEvent: (event) => live.deliver(event),
    catchUp: () => live.catchUp(),
  };

  // ---- keyboard --------------------------------------------------------------------------
  function typing(target) {
    if (!target) return false;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function move(step) {
    const rows = $$(".qrow");
    if (!rows.length) return;
    let index = rows.findIndex((r) => String(r.dataset.id) === String(openId));
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    const row = rows[index];
    row.scrollIntoView({ block: "nearest" });
    $(".qlink", row).focus({ preventScroll: true });
    openConversation(row.dataset.id);
  }

  document.addEventListener("keydown", (e) => {
    const menu = $("details.menu[open]");
    if (menu && e.key === "Escape") {
      e.preventDefault();
      menu.open = false;
      $("summary", menu).focus();
      return;
    }
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) return;
    const dialog = $("#shortcuts");
    if (dialog && dialog.open) return;
    switch (e.key) {
      case "j":
        e.preventDefault();
        move(1);
        break;
      case "k":
        e.preventDefault();
        move(-1);
        break;
      case "r":
        if (!$("#composer")) return announce(T.no_conversation);
        e.preventDefault();
        setMode("reply");
        break;
      case "n":
        if (!$("#composer")) return announce(T.no_conversation);
        e.preventDefault();
        setMode("note");
        break;
      case "e":
        e.preventDefault();
        conversationAction("resolve");
        break;
      case "a":
        e.preventDefault();
        conversationAction("assign-me");
        break;
      case "s": {
        const snoozeMenu = $("#snooze-menu");
        if (!snoozeMenu) return announce(T.no_conversation);
        e.preventDefault();
        closeMenus(snoozeMenu);
        snoozeMenu.open = true;
        $("[data-snooze]", snoozeMenu).focus();
        break;
      }
      case "?":
        e.preventDefault();
        dialog.showModal();
        break;
      default:
        break;
    }
  });

  // ---- start -----------------------------------------------------------------------------
  rememberRows();
  if (openId) afterConversationLoad();
  window.setInterval(refreshWaits, 60000);
  window.setInterval(refreshDues, 60000);
  connect();
  document.documentElement.dataset.inboxReady = "1";
  if (window.performance && performance.mark) performance.mark("inbox-ready");
})();
