// Check in / check out (出勤): the form sends the phone's position, or why there is none —
// "denied" when the engineer refused location access, "unavailable" for no fix, a timeout or
// a browser without geolocation. The check-in is never blocked by the position.
(function () {
  "use strict";

  function attend(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located === "1") return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        if (form.dataset.locating) button.textContent = form.dataset.locating;
      }
      var sent = false;
      function send(position, lat, lng) {
        if (sent) return;
        sent = true;
        form.elements.position.value = position;
        form.elements.lat.value = lat || "";
        form.elements.lng.value = lng || "";
        form.dataset.located = "1";
        form.submit();
      }
      if (!("geolocation" in navigator)) {
        send("unavailable");
        return;
      }
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          send("ok", pos.coords.latitude.toFixed(6), pos.coords.longitude.toFixed(6));
        },
        function (err) {
          send(err && err.code === 1 ? "denied" : "unavailable");
        },
        { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }
      );
      window.setTimeout(function () { send("unavailable"); }, 10000);
    });
  }

  document.querySelectorAll("form[data-attendance]").forEach(attend);
})();
