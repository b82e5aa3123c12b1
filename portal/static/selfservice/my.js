// The customers' pages: a form the server refused comes back with its reason next to it;
// bring that reason into view (on a phone it would otherwise lie below the fold).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var refused = document.querySelector("[data-scroll-here]");
    if (refused) refused.scrollIntoView({ block: "center" });
  });
})();
