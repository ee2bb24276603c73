// The SLA settings pages work without JavaScript; this only keeps the first reply's custom
// minutes field in step with its choice (24 h / 12 h / custom): typing minutes picks "custom",
// picking a preset shows its minutes.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var radio = event.target.closest('input[name="first_reply_preset"]');
    if (!radio || !radio.form) return;
    var custom = radio.form.querySelector('input[name="first_reply_custom"]');
    if (custom && radio.value !== "custom") custom.value = radio.value;
  });
  document.addEventListener("input", function (event) {
    var field = event.target.closest('input[name="first_reply_custom"]');
    if (!field || !field.form) return;
    var custom = field.form.querySelector('input[name="first_reply_preset"][value="custom"]');
    if (custom) custom.checked = true;
  });
})();
