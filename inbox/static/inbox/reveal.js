// Reveal a masked personal value: the "Reveal" button ({% masked %}) opens the reason dialog
// ({% reveal_dialog %}); the API's answer replaces the masked text in place, for this view only
// (nothing is stored in the page's state or the browser). No inline script: CSP.
(function () {
  "use strict";
  let target = null; // the .masked wrapper being revealed

  function dialog() {
    return document.getElementById("reveal-dialog");
  }

  function csrf() {
    const input = document.querySelector("#reveal-form input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function showError(text) {
    const error = document.getElementById("reveal-error");
    error.textContent = text;
    error.hidden = !text;
  }

  function open(wrapper) {
    const d = dialog();
    if (!d) return;
    target = wrapper;
    showError("");
    document.getElementById("reveal-reason").value = "";
    d.showModal();
    document.getElementById("reveal-reason").focus();
  }

  async function reveal(event) {
    event.preventDefault();
    const d = dialog();
    if (!target) return d.close();
    const reason = document.getElementById("reveal-reason").value.trim();
    const submit = document.getElementById("reveal-submit");
    submit.disabled = true;
    try {
      const response = await fetch(d.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrf(),
        },
        body: JSON.stringify({
          subject: target.dataset.revealSubject,
          id: Number(target.dataset.revealId),
          field: target.dataset.revealField,
          reason: reason,
        }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        // the page's language for the codes it knows (dataset: data-error-<code>)
        const code = body.error && body.error.code;
        showError((code && d.getAttribute("data-error-" + code)) || d.dataset.error);
        return;
      }
      const value = target.querySelector(".masked-value");
      value.textContent = body.value;
      target.classList.add("is-revealed");
      const button = target.querySelector("[data-reveal]");
      if (button) button.remove();
      target = null;
      d.close();
    } catch (err) {
      showError(d.dataset.error);
    } finally {
      submit.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-reveal]");
    if (button) {
      event.preventDefault();
      open(button.closest(".masked"));
      return;
    }
    if (event.target.id === "reveal-cancel") {
      target = null;
      dialog().close();
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "reveal-form") reveal(event);
  });
})();
