// The customers' pages: a form the server refused comes back with its reason next to it;
// bring that reason into view (on a phone it would otherwise lie below the fold).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var refused = document.querySelector("[data-scroll-here]");
    if (refused) refused.scrollIntoView({ block: "center" });
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
