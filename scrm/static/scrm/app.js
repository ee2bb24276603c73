/* Every page: behaviour that used to be inline attributes (the Content-Security-Policy allows
   no inline script, see docs/ui.md). */
(function () {
  "use strict";
  // The language menu switches at once; without JavaScript its "Go" button does.
  const lang = document.getElementById("lang-select");
  if (lang) lang.addEventListener("change", () => lang.form.submit());
})();
