// The customers' pages: a form the server refused comes back with its reason next to it;
// bring that reason into view (on a phone it would otherwise lie below the fold).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var refused = document.querySelector("[data-scroll-here]");
    if (refused) refused.scrollIntoView({ block: "center" });
    // A picker of the customer's registered units fills the request form's product, model
    // and serial number (and the unit's address, when on file) in place, keeping the rest.
    document.querySelectorAll("form[data-fills]").forEach(function (picker) {
      var target = document.getElementById(picker.getAttribute("data-fills"));
      var select = picker.querySelector("select");
      if (!target || !select) return;
      var fields = { product: "product", model: "model_code", serial: "serial_number", address: "address" };
      function fill() {
        var option = select.options[select.selectedIndex];
        if (!option || !option.value) return;
        Object.keys(fields).forEach(function (key) {
          var input = target.querySelector("[name=" + fields[key] + "]");
          var value = option.getAttribute("data-" + key) || "";
          if (input && (value || key !== "address")) input.value = value;
        });
      }
      select.addEventListener("change", fill);
      // With script the choice fills the form at once: the button is for pages without it.
      picker.querySelectorAll("button").forEach(function (b) { b.hidden = true; });
      picker.addEventListener("submit", function (event) {
        event.preventDefault();
        fill();
      });
    });
    // A button that may be used only after a wait (the sign-in code's resend): disabled,
    // with the seconds left said next to it, until the wait is over.
    document.querySelectorAll("[data-countdown]").forEach(function (button) {
      var label = document.getElementById(button.getAttribute("data-countdown"));
      var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
      var template = label ? label.getAttribute("data-template") || "" : "";
      function tick() {
        button.disabled = left > 0;
        if (label) {
          label.hidden = left <= 0;
          label.textContent = template.replace("{seconds}", String(left));
        }
        if (left > 0) {
          left -= 1;
          window.setTimeout(tick, 1000);
        }
      }
      tick();
    });
  });
})();
