// The engineer's app: the phone's position on depart/arrive, the signature pad, and the
// customer's answer to a quote as soon as it is given.
// Plain forms post without this script too (no position, no signature): nothing else needs it.
(function () {
  "use strict";

  // The bell in the top bar: the unread count from the portal, now and every minute.
  var bellSlot = document.querySelector("[data-bell]");
  function refreshBell() {
    fetch(bellSlot.dataset.bell, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("div");
        holder.innerHTML = html; // our own template, same origin
        var bell = holder.querySelector(".bell");
        if (bell) bellSlot.replaceChildren(bell);
      })
      .catch(function () { /* offline: the bell keeps its last count */ });
  }
  if (bellSlot) {
    refreshBell();
    window.setInterval(refreshBell, 60000);
  }

  // Forms marked data-geo send the phone's position when it gives one within a few seconds;
  // a refusal or a timeout sends the form without it rather than keep the engineer waiting.
  function withPosition(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located === "1" || !("geolocation" in navigator)) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        if (form.dataset.locating) button.textContent = form.dataset.locating;
      }
      var sent = false;
      function send() {
        if (sent) return;
        sent = true;
        form.dataset.located = "1";
        form.submit();
      }
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          form.elements.lat.value = pos.coords.latitude.toFixed(6);
          form.elements.lng.value = pos.coords.longitude.toFixed(6);
          if (pos.coords.accuracy != null) form.elements.accuracy.value = Math.round(pos.coords.accuracy);
          send();
        },
        send,
        { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }
      );
      window.setTimeout(send, 10000);
    });
  }

  // The signature pad: pointer events cover mouse, pen and touch; the drawing is sent as a
  // PNG data URL in a hidden field.
  function signaturePad(form) {
    var canvas = form.querySelector("canvas");
    var field = form.elements.signature;
    var ctx = canvas.getContext("2d");
    var drawn = false;
    var last = null;

    function fit() {
      // At most 2x: sharp enough, and the PNG stays small.
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      var rect = canvas.getBoundingClientRect();
      canvas.width = Math.round(rect.width * ratio);
      canvas.height = Math.round(rect.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, rect.width, rect.height);
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
      drawn = false;
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      last = point(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
      ctx.fillStyle = "#111";
      ctx.fill();
      drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!last) return;
      event.preventDefault();
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      drawn = true;
    });
    function stop() { last = null; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);

    // A signature the portal sent back (the signer's name was missing): drawn again, so
    // the customer does not have to sign twice.
    function restore() {
      var kept = form.dataset.kept;
      if (!kept) return;
      var image = new Image();
      image.onload = function () {
        var rect = canvas.getBoundingClientRect();
        ctx.drawImage(image, 0, 0, rect.width, rect.height);
        drawn = true;
      };
      image.src = kept;
    }

    form.querySelector("[data-clear]").addEventListener("click", fit);
    form.addEventListener("submit", function (event) {
      if (!drawn) {
        event.preventDefault();
        window.alert(form.dataset.empty || "");
        return;
      }
      field.value = canvas.toDataURL("image/png");
    });
    fit();
    restore();
  }

  // A sent quote: ask the portal every few seconds whether the customer answered, and show
  // the answer (the page reloads) as soon as they did. Stops when the tab is hidden.
  var POLL_MS = 3000;
  function watchQuote(section) {
    var url = section.dataset.poll;
    var number = section.dataset.number;
    var timer = 0;
    function check() {
      if (document.visibilityState === "hidden") return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (state && (state.number !== number || state.status !== "sent")) {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {});
    }
    timer = window.setInterval(check, POLL_MS);
    document.addEventListener("visibilitychange", check);
  }

  // A form further down the page (…#cause, #photos) that redirected back with a message: the
  // message sits at the top of the page, off the phone's screen once the browser jumps to the
  // form. Move it into that section, under its heading, and show it there.
  function nextToTheForm() {
    var message = document.querySelector("[data-testid=flash]");
    var id = decodeURIComponent(window.location.hash.slice(1));
    var section = id ? document.getElementById(id) : null;
    if (!message || !section) return;
    var heading = section.querySelector("h2, h3");
    if (heading && heading.parentNode === section) heading.insertAdjacentElement("afterend", message);
    else section.insertBefore(message, section.firstChild);
    message.scrollIntoView({ block: "center" });
  }

  // Each form posts alone: what the engineer typed in the job page's other forms and did not
  // save (a diagnosis, say, before tapping 完工) is kept in the tab and put back in the page
  // the post comes back to, refused or not (a form gone from that page simply takes none).
  var job = window.location.pathname.match(/^\/field\/jobs\/[^/]+/);
  var TYPED = job ? "field-typed:" + job[0] : null;

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !/^(hidden|file|password|submit|button|reset)$/.test(el.type);
    });
  }

  function initial(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.defaultChecked;
    if (el.tagName === "SELECT") {
      var chosen = Array.prototype.find.call(el.options, function (o) { return o.defaultSelected; });
      return chosen ? chosen.value : (el.options[0] ? el.options[0].value : "");
    }
    return el.defaultValue;
  }

  function current(el) {
    return el.type === "checkbox" || el.type === "radio" ? el.checked : el.value;
  }

  function keepTyped(sent) {
    var kept = [];
    document.querySelectorAll("main form[method=post]").forEach(function (form) {
      if (form === sent) return;
      fieldsOf(form).forEach(function (el, i) {
        if (current(el) !== initial(el)) {
          kept.push({ form: form.getAttribute("action"), i: i, name: el.name, value: current(el) });
        }
      });
    });
    try {
      window.sessionStorage.setItem(TYPED, JSON.stringify({ at: Date.now(), kept: kept }));
    } catch (e) { /* private mode: nothing kept */ }
  }

  function putBackTyped() {
    var raw = null;
    try {
      raw = window.sessionStorage.getItem(TYPED);
      window.sessionStorage.removeItem(TYPED);
    } catch (e) { return; }
    var saved = null;
    try { saved = raw && JSON.parse(raw); } catch (e) { return; }
    if (!saved || Date.now() - saved.at > 15 * 60 * 1000) return;
    var forms = document.querySelectorAll("main form[method=post]");
    saved.kept.forEach(function (k) {
      var form = Array.prototype.find.call(forms, function (f) { return f.getAttribute("action") === k.form; });
      var el = form ? fieldsOf(form)[k.i] : null;
      if (!el || el.name !== k.name) return;
      if (typeof k.value === "boolean") el.checked = k.value;
      else el.value = k.value;
    });
  }

  if (TYPED) {
    document.addEventListener("submit", function (event) { keepTyped(event.target); }, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (TYPED) putBackTyped();
    document.querySelectorAll("form[data-geo]").forEach(withPosition);
    document.querySelectorAll("form[data-signature]").forEach(signaturePad);
    document.querySelectorAll("[data-poll]").forEach(watchQuote);
    // A refused form comes back with its reason next to it: bring that into view.
    var refused = document.querySelector("[data-scroll-here]");
    if (refused) refused.scrollIntoView({ block: "start" });
    else nextToTheForm();
  });
})();
