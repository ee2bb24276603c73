// The word-list page's "try a text" box: asks POST /api/v1/monitoring/screen/ what a reply with
// the typed text would do and shows the text with each match highlighted (built with DOM
// nodes: the text is never parsed as HTML). Sentences come from the box's data attributes, in
// the page's language.
(function () {
  "use strict";
  const box = document.querySelector(".try-form");
  if (!box) return;
  const button = document.getElementById("try-button");
  const input = document.getElementById("try-text");
  const shop = document.getElementById("try-shop");
  const out = document.getElementById("try-result");
  const labelsNode = document.getElementById("category-labels");
  const labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};

  function csrfToken() {
    const field = box.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function para(text, cls) {
    const p = document.createElement("p");
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }

  // The text with <mark> around each match (offsets in UTF-16 code units from the server are
  // Python's code points: walk by code point so a surrogate pair counts once).
  function highlighted(text, matches) {
    const chars = Array.from(text);
    const sorted = matches.slice().sort((a, b) => a.start - b.start || b.end - a.end);
    const pre = document.createElement("p");
    pre.className = "try-text";
    pre.id = "try-highlighted";
    let at = 0;
    for (const m of sorted) {
      if (m.start < at) continue; // overlapping: the first (longest) one shows
      if (m.start > at) pre.append(chars.slice(at, m.start).join(""));
      const mark = document.createElement("mark");
      mark.className = "hit hit-" + m.action;
      mark.dataset.category = m.category;
      mark.dataset.action = m.action;
      const what = labels[m.category] || m.category;
      mark.title = what + " · " + m.action + (m.word ? " · " + m.word : " · " + box.dataset.detector);
      mark.textContent = chars.slice(m.start, m.end).join("");
      pre.append(mark);
      at = m.end;
    }
    if (at < chars.length) pre.append(chars.slice(at).join(""));
    return pre;
  }

  function show(body, text) {
    out.replaceChildren();
    out.dataset.action = body.action || "none";
    const sentence = box.dataset[body.action || "none"] || box.dataset.none;
    out.append(para(sentence, "try-verdict try-" + (body.action || "none")));
    if (body.matches.length) out.append(highlighted(text, body.matches));
    if (body.action === "mask") out.append(para(body.text, "try-masked"));
    if (body.matches.length) {
      const list = document.createElement("ul");
      list.className = "try-matches";
      for (const m of body.matches) {
        const li = document.createElement("li");
        li.textContent = (labels[m.category] || m.category) + ": " + (m.word || box.dataset.detector) + " → " + m.action;
        list.append(li);
      }
      out.append(list);
    }
  }

  async function check() {
    const text = input.value;
    if (!text.trim()) { out.replaceChildren(); return; }
    button.disabled = true;
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ text: text, shop_account: Number(shop ? shop.value : 0) }),
      });
      const body = await response.json();
      if (!response.ok) {
        out.replaceChildren(para((body.error && body.error.message) || box.dataset.failed, "error"));
        return;
      }
      show(body, text);
    } catch (e) {
      out.replaceChildren(para(box.dataset.failed, "error"));
    } finally {
      button.disabled = false;
    }
  }

  button.addEventListener("click", check);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); check(); }
  });
})();

// Editing a word in place: the page carries one edit form (<template id="entry-edit">), cloned
// under the row whose "Edit" was pressed and filled from the row's data attributes (a page of
// hundreds of words stays light: no form per row).
(function () {
  "use strict";
  const template = document.getElementById("entry-edit");
  if (!template) return;
  document.addEventListener("click", (event) => {
    const edit = event.target.closest("tr[data-entry] button.edit");
    if (edit) {
      const row = edit.closest("tr");
      const open = row.nextElementSibling;
      if (open && open.classList.contains("entry-edit")) return;
      const form = template.content.firstElementChild.cloneNode(true);
      form.querySelector("input[name=entry]").value = row.dataset.entry;
      const word = form.querySelector("input[name=word]");
      word.value = row.dataset.word;
      form.querySelector("select[name=category]").value = row.dataset.category;
      form.querySelector("select[name=word_action]").value = row.dataset.action;
      row.after(form);
      word.focus();
      return;
    }
    const cancel = event.target.closest("tr.entry-edit button.cancel");
    if (cancel) cancel.closest("tr").remove();
  });
})();
