/* The day plan's map and its adjustments, offline: every route drawn as a plain SVG plot of
   its coordinates (no tiles, no library), and the per-engineer lists made movable (a stop
   to another engineer through its select, up and down within a day). The lists are the
   state: the form posts them as they stand, so the server computes ETAs and publishes.
   The map fits one city's visits at a time; visits at one spot are drawn apart, never on
   top of each other; a legend names each engineer's colour; the list and the map light the
   same visit under the pointer. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 1000;
  var HEIGHT = 620;
  var PAD = 36;
  var KM_PER_DEG_LAT = 111.32;

  function node(name, attrs, parent) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) {
      el.setAttribute(key, attrs[key]);
    });
    if (parent) parent.appendChild(el);
    return el;
  }

  function number(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function stopsOf(list) {
    return Array.prototype.filter.call(list.children, function (li) {
      return li.classList.contains("dx-stop");
    });
  }

  function lists() {
    return Array.prototype.slice.call(document.querySelectorAll("ol.dx-stops"));
  }

  /* What to draw: each list with its origin and its stops in order. */
  function routes() {
    return lists().map(function (ol) {
      var lat = number(ol.dataset.originLat);
      var lng = number(ol.dataset.originLng);
      return {
        engineer: ol.dataset.engineer,
        name: ol.dataset.name,
        colour: ol.dataset.colour || "#1677ff",
        origin: lat !== null && lng !== null ? [lat, lng] : null,
        stops: stopsOf(ol).map(function (li, i) {
          return {
            number: li.dataset.number,
            city: li.dataset.city || "",
            seq: i + 1,
            lat: number(li.dataset.lat),
            lng: number(li.dataset.lng),
          };
        }),
      };
    });
  }

  function draw() {
    var box = document.getElementById("plan-map");
    if (!box) return;
    var all = routes();
    var city = zoom(all);
    // The map fits the visits of the city it shows (homes far off are drawn on its edge,
    // towards where they are), so one city's visits stand apart instead of shrinking into a
    // corner of a map that spans two cities.
    var points = [];
    all.forEach(function (r) {
      r.stops.forEach(function (s) {
        if (s.lat === null || s.lng === null) return;
        if (city !== null && s.city !== city) {
          s.lat = s.lng = null; // drawn when its city is shown
          return;
        }
        points.push([s.lat, s.lng]);
      });
    });
    box.textContent = "";
    if (!points.length) {
      var empty = document.createElement("p");
      empty.className = "muted dx-map-empty";
      empty.textContent = box.dataset.empty || "";
      box.appendChild(empty);
      box.dataset.drawn = "0";
      legend(all);
      return;
    }
    // Map units per screen pixel: markers, numbers and names keep their size on screen
    // whether the map is 560 or 1000 pixels wide.
    var u = Math.min(Math.max(WIDTH / (box.clientWidth || WIDTH), 1), 2.5);
    var size = { dot: 11 * u, free: 8 * u, home: 7 * u, seq: 12 * u, name: 13 * u };
    var pad = Math.max(PAD, 2.2 * size.dot);
    var lats = points.map(function (p) { return p[0]; });
    var lngs = points.map(function (p) { return p[1]; });
    var midLat = (Math.min.apply(null, lats) + Math.max.apply(null, lats)) / 2;
    var midLng = (Math.min.apply(null, lngs) + Math.max.apply(null, lngs)) / 2;
    // Equirectangular around the middle latitude: fine at a city's scale.
    var kx = Math.cos(midLat * Math.PI / 180);
    var spanX = Math.max((Math.max.apply(null, lngs) - Math.min.apply(null, lngs)) * kx, 0.005);
    var spanY = Math.max(Math.max.apply(null, lats) - Math.min.apply(null, lats), 0.005);
    var scale = Math.min((WIDTH - 2 * pad) / spanX, (HEIGHT - 2 * pad) / spanY);
    function xy(lat, lng) {
      return [WIDTH / 2 + (lng - midLng) * kx * scale, HEIGHT / 2 - (lat - midLat) * scale];
    }
    /* A home off the map: on its edge, on the line from the middle towards it. */
    function onMap(p) {
      var m = size.home + 4;
      var dx = p[0] - WIDTH / 2;
      var dy = p[1] - HEIGHT / 2;
      var t = 1;
      if (Math.abs(dx) > WIDTH / 2 - m) t = Math.min(t, (WIDTH / 2 - m) / Math.abs(dx));
      if (Math.abs(dy) > HEIGHT / 2 - m) t = Math.min(t, (HEIGHT / 2 - m) / Math.abs(dy));
      return { at: [WIDTH / 2 + dx * t, HEIGHT / 2 + dy * t], far: t < 1 };
    }

    var svg = node("svg", {
      viewBox: "0 0 " + WIDTH + " " + HEIGHT,
      class: "dx-svg",
      "data-testid": "plan-svg",
    });
    node("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, class: "dx-svg-bg" }, svg);
    // A grid and a scale bar in round kilometres.
    var kmPerPx = KM_PER_DEG_LAT / scale;
    var steps = [0.5, 1, 2, 5, 10, 20, 50, 100];
    var stepKm = steps.filter(function (k) { return k / kmPerPx >= 80 * u; })[0] || 100;
    var stepPx = stepKm / kmPerPx;
    for (var gx = stepPx; gx < WIDTH; gx += stepPx) {
      node("line", { x1: gx, y1: 0, x2: gx, y2: HEIGHT, class: "dx-grid-line" }, svg);
    }
    for (var gy = stepPx; gy < HEIGHT; gy += stepPx) {
      node("line", { x1: 0, y1: gy, x2: WIDTH, y2: gy, class: "dx-grid-line" }, svg);
    }
    var bar = node("g", { class: "dx-scale" }, svg);
    node("line", { x1: 16, y1: HEIGHT - 16, x2: 16 + stepPx, y2: HEIGHT - 16 }, bar);
    var label = node("text", { x: 16, y: HEIGHT - 16 - 6 * u }, bar);
    label.setAttribute("style", "font-size:" + size.name + "px");
    label.textContent = stepKm + " " + (box.dataset.km || "km");

    // Homes stay where they are; each visit's marker goes on its spot when free, else on the
    // nearest free cell of a grid around it (a thin line back to the spot), so markers of
    // visits at one address or one district's centre never cover each other. Every home and
    // marker is then an obstacle for the names.
    var taken = [];
    all.forEach(function (r) {
      if (r.origin && r.engineer !== "" && r.stops.some(function (s) { return s.lat !== null; })) {
        r.home = onMap(xy(r.origin[0], r.origin[1]));
        var h = r.home.at;
        taken.push({ x: h[0] - size.home, y: h[1] - size.home, w: 2 * size.home, h: 2 * size.home });
      }
    });
    var spots = {};
    all.forEach(function (r) {
      var rad = r.engineer === "" ? size.free : size.dot;
      r.stops.forEach(function (s) {
        if (s.lat === null || s.lng === null) return;
        s.at = xy(s.lat, s.lng);
        s.shown = freeCell(taken, s.at, rad, u);
        taken.push({ x: s.shown[0] - rad, y: s.shown[1] - rad, w: 2 * rad, h: 2 * rad });
        var key = s.at.join(",");
        var moved = s.shown[0] !== s.at[0] || s.shown[1] !== s.at[1];
        spots[key] = { at: s.at, bare: (spots[key] ? spots[key].bare : true) && moved };
      });
    });
    var anchors = node("g", { class: "dx-anchors" }, svg);
    var names = []; // drawn last, above every route, each in a spot still free
    all.forEach(function (r) {
      var placed = r.stops.filter(function (s) { return s.shown; });
      if (!placed.length) return;
      var unplanned = r.engineer === "";
      var g = node("g", {
        class: "dx-route-g" + (unplanned ? " dx-unplanned-g" : ""),
        "data-engineer": r.engineer,
      }, svg);
      if (!unplanned) {
        var path = (r.home ? [r.home.at] : []).concat(placed.map(function (s) {
          return s.shown;
        }));
        node("polyline", {
          points: path.map(function (p) { return p.join(","); }).join(" "),
          stroke: r.colour,
          class: "dx-path",
        }, g);
        if (r.home) {
          var o = r.home.at;
          var home = node("rect", {
            x: o[0] - size.home, y: o[1] - size.home, width: 2 * size.home, height: 2 * size.home,
            fill: r.colour, class: "dx-origin" + (r.home.far ? " dx-origin-far" : ""),
          }, g);
          node("title", {}, home).textContent = r.name;
          names.push([o, r.name, r.engineer, r.colour]);
        }
      }
      placed.forEach(function (s) {
        if (s.shown[0] !== s.at[0] || s.shown[1] !== s.at[1]) {
          node("line", {
            x1: s.at[0], y1: s.at[1], x2: s.shown[0], y2: s.shown[1],
            stroke: unplanned ? "#8a8f99" : r.colour, class: "dx-leader",
          }, anchors);
        }
        var dot = node("g", {
          class: "dx-dot", "data-number": s.number, "data-engineer": r.engineer,
        }, g);
        node("circle", {
          cx: s.shown[0], cy: s.shown[1], r: unplanned ? size.free : size.dot,
          fill: unplanned ? "#fff" : r.colour,
          stroke: unplanned ? "#8a8f99" : "#fff",
        }, dot);
        if (!unplanned) {
          var seq = node("text", {
            x: s.shown[0], y: s.shown[1] + size.seq * 0.36, class: "dx-seq-label",
            style: "font-size:" + size.seq + "px",
          }, dot);
          seq.textContent = String(s.seq);
        }
        node("title", {}, dot).textContent = s.number + (r.name ? " · " + r.name + " #" + s.seq : "");
      });
    });
    // The real places, under everything: a small dot where a marker was moved away from.
    Object.keys(spots).forEach(function (key) {
      if (!spots[key].bare) return; // a marker stands on it
      var at = spots[key].at;
      node("circle", { cx: at[0], cy: at[1], r: 3 * u, class: "dx-anchor" }, anchors);
    });
    var labels = node("g", { class: "dx-labels" }, svg);
    names.forEach(function (n) {
      var spot = freeSpot(taken, n[0], n[1], u);
      var name = node("text", {
        x: spot[0], y: spot[1], class: "dx-origin-label", "data-engineer": n[2],
        // In the route's colour, so a name says whose home it is.
        style: "font-size:" + size.name + "px;font-weight:600;fill:" + n[3],
      }, labels);
      name.textContent = n[1];
    });
    box.appendChild(svg);
    legend(all);
    box.dataset.drawn = "1";
    lit();
  }

  /* Which city the map shows when the visits are in several: the one picked, else the one
     with the most visits (null: all of them); the buttons to pick another, with counts. */
  var picked;

  function zoom(all) {
    var bar = document.querySelector("[data-testid=map-zoom]");
    var counts = {};
    all.forEach(function (r) {
      r.stops.forEach(function (s) {
        if (s.lat !== null && s.lng !== null) counts[s.city] = (counts[s.city] || 0) + 1;
      });
    });
    var cities = Object.keys(counts).sort(function (a, b) {
      return counts[b] - counts[a] || (a < b ? -1 : 1);
    });
    if (!bar || cities.length < 2) {
      if (bar) bar.hidden = true;
      return null;
    }
    if (picked === undefined || (picked !== null && !counts[picked])) picked = cities[0];
    bar.textContent = "";
    cities.concat([null]).forEach(function (c) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ghost dx-zoom-city";
      button.dataset.city = c === null ? "" : c;
      button.setAttribute("aria-pressed", String(c === picked));
      button.textContent = c === null ? (bar.dataset.all || "") : (c || "—") + " " + counts[c];
      bar.appendChild(button);
    });
    bar.hidden = false;
    return picked;
  }

  /* Where a marker of radius `rad` goes: its own spot if no home or marker is there, else the
     nearest cell of a grid around it (cells a marker and a gap apart, so markers put around
     one spot never touch) that is free and on the map. */
  function freeCell(taken, at, rad, u) {
    var step = 2 * rad + 4 * u;
    var cells = [];
    for (var i = -9; i <= 9; i += 1) {
      for (var j = -9; j <= 9; j += 1) cells.push([i, j]);
    }
    cells.sort(function (a, b) {
      return (a[0] * a[0] + a[1] * a[1]) - (b[0] * b[0] + b[1] * b[1])
        || Math.atan2(a[1], a[0]) - Math.atan2(b[1], b[0]);
    });
    for (var k = 0; k < cells.length; k += 1) {
      var x = at[0] + cells[k][0] * step;
      var y = at[1] + cells[k][1] * step;
      if (x - rad < 2 || y - rad < 2 || x + rad > WIDTH - 2 || y + rad > HEIGHT - 2) continue;
      var box = { x: x - rad - 1, y: y - rad - 1, w: 2 * rad + 2, h: 2 * rad + 2 };
      var clear = taken.every(function (b) {
        return box.x >= b.x + b.w || b.x >= box.x + box.w || box.y >= b.y + b.h || b.y >= box.y + box.h;
      });
      if (clear) return [x, y];
    }
    return at;
  }

  /* The legend under the map: each engineer with visits on it in their colour, with how many;
     the visits not planned last. Pointing at an entry lights that engineer's route. */
  function legend(all) {
    var list = document.querySelector("[data-testid=map-legend]");
    if (!list) return;
    list.textContent = "";
    all.forEach(function (r) {
      var n = r.stops.length;
      // Those on the map as drawn (a map of one city names that city's engineers).
      if (!r.stops.some(function (s) { return s.shown; })) return;
      var item = document.createElement("li");
      item.setAttribute("data-testid", "legend-item");
      item.dataset.engineer = r.engineer;
      item.dataset.colour = r.engineer === "" ? "" : r.colour;
      item.className = r.engineer === "" ? "dx-legend-unplanned" : "";
      item.style.setProperty("--c", r.colour);
      item.tabIndex = 0;
      var swatch = document.createElement("span");
      swatch.className = "dx-swatch";
      swatch.setAttribute("aria-hidden", "true");
      var name = document.createElement("span");
      name.textContent = r.engineer === "" ? (list.dataset.unplanned || "") : r.name;
      var count = document.createElement("span");
      count.className = "dx-legend-n";
      count.textContent = String(n);
      item.appendChild(name);
      item.insertBefore(swatch, name);
      item.appendChild(count);
      list.appendChild(item);
    });
  }

  /* What is lit: the visit under the pointer in the list or on the map, else the one last
     clicked; the engineer whose legend entry is pointed at. */
  var pointed = null;
  var pinned = null;
  var route = null;

  function lit() {
    var hot = pointed || pinned;
    document.querySelectorAll(".dx-hot").forEach(function (el) {
      el.classList.remove("dx-hot");
    });
    var svg = document.querySelector("#plan-map .dx-svg");
    if (svg) svg.classList.toggle("dx-focus", Boolean(hot || route !== null));
    document.querySelectorAll("#plan-map .dx-route-g").forEach(function (g) {
      var dots = hot ? g.querySelector('.dx-dot[data-number="' + hot + '"]') : null;
      g.classList.toggle("dx-hot-route", Boolean(dots) || (route !== null && g.dataset.engineer === route));
    });
    if (!hot) return;
    document.querySelectorAll('#plan-map .dx-dot[data-number="' + hot + '"], li.dx-stop[data-number="' + hot + '"]')
      .forEach(function (el) { el.classList.add("dx-hot"); });
  }

  function numberAt(target) {
    var el = target.closest && target.closest("li.dx-stop, #plan-map .dx-dot");
    return el ? el.dataset.number : null;
  }

  document.addEventListener("mouseover", function (event) {
    var number = numberAt(event.target);
    var item = event.target.closest && event.target.closest("[data-testid=legend-item]");
    var engineer = item ? item.dataset.engineer : null;
    if (number === pointed && engineer === route) return;
    pointed = number;
    route = engineer;
    lit();
  });

  document.addEventListener("focusin", function (event) {
    pointed = numberAt(event.target);
    var item = event.target.closest && event.target.closest("[data-testid=legend-item]");
    route = item ? item.dataset.engineer : null; // the keyboard reaches the legend too
    lit();
  });

  document.addEventListener("click", function (event) {
    var city = event.target.closest && event.target.closest("button.dx-zoom-city");
    if (city) {
      picked = city.dataset.city || null;
      draw();
      return;
    }
    var number = numberAt(event.target);
    if (!number) {
      // A click elsewhere lets go of the visit clicked before.
      if (pinned !== null && !(event.target.closest && event.target.closest("button, select, input"))) {
        pinned = null;
        lit();
      }
      return;
    }
    var stop = document.querySelector('li.dx-stop[data-number="' + number + '"]');
    if (stop && picked && stop.dataset.city !== picked) {
      picked = stop.dataset.city; // a visit of another city: show its city
      pinned = number;
      draw();
    }
    pinned = number;
    lit();
    var onMap = event.target.closest("#plan-map");
    var row = document.querySelector('li.dx-stop[data-number="' + number + '"]');
    if (onMap && row) row.scrollIntoView({ block: "nearest" });
  });

  /* Where an engineer's name goes beside their home: the first of a few spots around it
     (then further down and up) whose box stays on the map and overlaps no dot, home or name
     drawn before; remembered in `taken`. None free: the in-map spot covering the least. */
  function freeSpot(taken, at, text, u) {
    var w = (Math.max(text.length, 1) * 13 + 4) * u;
    var h = 16 * u;
    var a = 10 * u;
    var up = -9 * u;
    var down = 19 * u;
    var row = 18 * u;
    var tries = [[a, up], [a, down], [-a - w, up], [-a - w, down]];
    for (var k = 1; k <= 8; k += 1) {
      tries.push([a, down + k * row], [-a - w, down + k * row]);
      tries.push([a, up - k * row], [-a - w, up - k * row]);
    }
    function overlap(a, b) {
      var dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      var dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      return dx > 0 && dy > 0 ? dx * dy : 0;
    }
    var best = null;
    for (var i = 0; i < tries.length; i += 1) {
      var x = at[0] + tries[i][0];
      var y = at[1] + tries[i][1];
      var box = { x: x, y: y - h + 3 * u, w: w, h: h };
      if (box.x < 0 || box.y < 0 || box.x + w > WIDTH || box.y + h > HEIGHT) continue;
      var covered = taken.reduce(function (sum, b) { return sum + overlap(box, b); }, 0);
      if (!best || covered < best.covered) best = { box: box, at: [x, y], covered: covered };
      if (!covered) break;
    }
    if (!best) return [at[0] + a, at[1] + up];
    taken.push(best.box);
    return best.at;
  }

  /* Keep numbers, order fields and the colour of each list in step with its items. */
  function renumber(ol) {
    stopsOf(ol).forEach(function (li, i) {
      var seq = li.querySelector(".dx-seq");
      if (seq) seq.textContent = String(i + 1);
      var order = li.querySelector("input.dx-order");
      if (order) order.value = String(i + 1);
      var select = li.querySelector("select[name=engineer]");
      if (select) {
        if (select.value !== ol.dataset.engineer) select.value = ol.dataset.engineer;
        // The option of the list the stop is in reads "keep here"; the others "move to …".
        Array.prototype.forEach.call(select.options, function (option) {
          if (!option.dataset.label) return;
          option.textContent = option.value === ol.dataset.engineer
            ? select.dataset.keep : option.dataset.label;
        });
      }
    });
    var free = ol.parentNode && ol.parentNode.querySelector(".dx-free");
    if (free) free.hidden = stopsOf(ol).length > 0;
  }

  /* A list that changed: its arrival times and legs are no longer true. They say so in words
     (no stale time left on show, the moved stop's old one included) until the preview
     recomputes them; the lists that did not change keep theirs. */
  function stale(ol) {
    var plan = document.querySelector("[data-testid=day-plan]");
    var label = (plan && plan.dataset.etaStale) || "";
    stopsOf(ol).forEach(function (li) {
      var when = li.querySelector(".dx-when");
      if (!when) return;
      var eta = when.querySelector(".dx-eta");
      if (!eta) {
        eta = document.createElement("span");
        eta.setAttribute("data-testid", "stop-eta");
        when.insertBefore(eta, when.firstChild);
      }
      eta.className = "dx-eta dx-stale";
      eta.textContent = label;
      eta.hidden = ol.dataset.engineer === "";
      var leg = when.querySelector(".dx-leg");
      if (leg) leg.hidden = true;
      li.classList.remove("dx-late");
    });
  }

  function adjusted() {
    var note = document.querySelector("[data-testid=adjust-note]");
    if (note) note.hidden = false;
    var publish = document.querySelector("[data-testid=publish-plan]");
    if (publish) {
      publish.disabled = !lists().some(function (ol) {
        return ol.dataset.engineer !== "" && stopsOf(ol).length > 0;
      });
      // A disabled button says why beside it (nothing given to an engineer).
      var why = document.querySelector("[data-testid=publish-why]");
      if (why) why.hidden = !publish.disabled;
    }
  }

  function changed(ols) {
    ols.forEach(renumber);
    ols.forEach(stale);
    adjusted();
    draw();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-move]");
    if (!button) return;
    var li = button.closest("li.dx-stop");
    var ol = li && li.parentNode;
    if (!ol) return;
    var items = stopsOf(ol);
    var at = items.indexOf(li);
    if (button.dataset.move === "up" && at > 0) {
      ol.insertBefore(li, items[at - 1]);
    } else if (button.dataset.move === "down" && at < items.length - 1) {
      ol.insertBefore(li, items[at + 1].nextSibling);
    } else {
      return;
    }
    changed([ol]);
    button.focus();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    var li = target.closest && target.closest("li.dx-stop");
    if (!li) return;
    var from = li.parentNode;
    if (target.matches("select[name=engineer]")) {
      var to = document.querySelector('ol.dx-stops[data-engineer="' + target.value + '"]');
      if (!to || to === from) return;
      to.appendChild(li);
      changed([from, to]);
      target.focus();
    } else if (target.matches("input.dx-order")) {
      // Put the stop where its number says, the others keeping their order.
      var items = stopsOf(from).filter(function (x) { return x !== li; });
      var want = Math.max(1, Math.min(items.length + 1, parseInt(target.value, 10) || 1));
      from.insertBefore(li, items[want - 1] || null);
      changed([from]);
      target.focus();
    }
  });

  lists().forEach(renumber);
  draw();
})();
