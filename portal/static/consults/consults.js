// Consults, live: the engineer's consult page and the experts' desk listen on /consults/ws
// and, when a consult they show changed, fetch its thread (and the desk its lists) again.
// Forms with files are checked here first (count, size) so a refusal comes before a long
// upload; the portal checks everything again.
(function () {
  "use strict";

  // Replace the target's inside with the fragment at url; resolves with the element matching
  // `keep` that the target held just before (taken out, for the caller to put back).
  function swap(target, url, keep) {
    if (!target) return Promise.resolve(null);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html", "X-Fragment": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return null;
        var kept = keep ? target.querySelector(keep) : null;
        target.innerHTML = html;
        return kept;
      })
      .catch(function () { return null; });
  }

  function live(root, onChange) {
    var label = root.querySelector("[data-testid=consult-connection]");
    var delay = 1000;
    var pinger = 0;
    function state(on) {
      root.dataset.connected = on ? "true" : "false";
      if (label) label.textContent = on ? root.dataset.liveText || "" : root.dataset.offlineText || "";
    }
    function connect() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + "/consults/ws");
      var first = true;
      socket.onmessage = function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "hello") {
          state(true);
          delay = 1000;
          // Whatever changed while the socket was away is fetched once.
          if (!first) onChange(null);
          first = false;
        } else if (frame.type === "consult") {
          onChange(frame.id);
        }
      };
      socket.onopen = function () {
        pinger = window.setInterval(function () {
          if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ping" }));
        }, 20000);
      };
      socket.onclose = function () {
        window.clearInterval(pinger);
        state(false);
        first = false;
        window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    state(false);
    connect();
  }

  function fieldConsult(root) {
    var id = root.dataset.liveConsult;
    live(root, function (changed) {
      if (changed === null || String(changed) === id) {
        swap(root.querySelector("[data-thread]"), "/consults/" + id + "/thread");
      }
    });
  }

  function desk(root) {
    var open = root.dataset.open;
    // One column (a phone or a narrow window): the lists come first, so a chosen consult
    // would open below them, out of sight; bring it into view.
    var main = root.querySelector(".cdesk-main");
    if (open && main && window.matchMedia("(max-width: 1100px)").matches && !window.location.hash) {
      main.scrollIntoView({ block: "start" });
    }
    live(root, function (changed) {
      swap(root.querySelector("[data-lists]"), "/consults/lists" + (open ? "?open=" + open : ""));
      if (open && (changed === null || String(changed) === open)) {
        swap(root.querySelector("[data-thread]"), "/consults/" + open + "/thread");
      }
    });
  }

  function checkFiles(form) {
    var box = form.querySelector("[data-file-error]");
    form.addEventListener("submit", function (event) {
      var problem = "";
      var photoMax = Number(form.dataset.photoMax || 0);
      var videoMax = Number(form.dataset.videoMax || 0);
      var most = Number(form.dataset.photos || 0);
      var photos = form.querySelector("input[name=photos]");
      var video = form.querySelector("input[name=video]");
      if (photos && photos.files) {
        if (most && photos.files.length > most) problem = form.dataset.msgPhotos || "";
        for (var i = 0; !problem && i < photos.files.length; i++) {
          if (photoMax && photos.files[i].size > photoMax) {
            problem = (form.dataset.msgPhotoSize || "").replace("{name}", photos.files[i].name);
          }
        }
      }
      if (!problem && video && video.files && video.files.length && videoMax && video.files[0].size > videoMax) {
        problem = form.dataset.msgVideoSize || "";
      }
      if (problem) {
        event.preventDefault();
        if (box) { box.textContent = problem; box.hidden = false; }
        return;
      }
      if (box) box.hidden = true;
      var button = form.querySelector("button[type=submit]");
      if (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
        if (form.dataset.sending) button.textContent = form.dataset.sending;
      }
    });
  }

  // The expert's answer refused (…#answer): its reason comes at the top of the page, off a
  // phone's screen once the browser jumps to the form; it moves under the form's heading.
  // (The field app's own script does this on its pages.)
  function nextToTheForm() {
    if (document.body.classList.contains("field")) return;
    var message = document.querySelector("[data-testid=flash]");
    var id = decodeURIComponent(window.location.hash.slice(1));
    var section = id ? document.getElementById(id) : null;
    if (!message || !section) return;
    var heading = section.querySelector("h2, h3");
    if (heading && heading.parentNode === section) heading.insertAdjacentElement("afterend", message);
    else section.insertBefore(message, section.firstChild);
    message.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    nextToTheForm();
    document.querySelectorAll("[data-live-consult]").forEach(fieldConsult);
    document.querySelectorAll("[data-live-desk]").forEach(desk);
    document.querySelectorAll("form[data-consult-form]").forEach(checkFiles);
    // The field job page's card: the job's consults, fetched after the page. A message the
    // page put in the card (completion refused while a consult waits) stays under its heading.
    document.querySelectorAll("[data-consult-card]").forEach(function (card) {
      swap(card, card.dataset.consultCard, "[data-testid=flash]").then(function (message) {
        if (!message) return;
        var heading = card.querySelector("h2");
        if (heading) heading.insertAdjacentElement("afterend", message);
        else card.insertBefore(message, card.firstChild);
        message.scrollIntoView({ block: "center" });
      });
    });
  });
})();
