/* The regional map: loads the portal's own GeoJSON (static/vendor/china-map), registers it
   with ECharts, draws the figures; a click on a province opens its cities, on a city (or a
   province without a city map) the tickets behind it. */
(function () {
  "use strict";

  function local(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function draw(el) {
    if (el.dataset.drawn || typeof echarts === "undefined") { return; }
    var source = document.getElementById(el.dataset.option);
    if (!source) { return; }
    var option = JSON.parse(source.textContent);
    var labels = option.labels || {};
    delete option.labels;
    option.tooltip.formatter = function (p) {
      var d = p.data;
      if (!d) { return p.name; }
      return p.name + "<br>" + labels.tickets + ": " + d.tickets + "<br>" + labels.failures + ": " +
        d.failures + "<br>" + labels.units + ": " + d.units + "<br>" + labels.rate + ": " +
        (d.rate === null ? "—" : d.rate + "%");
    };
    fetch(el.dataset.geo, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (geo) {
        echarts.registerMap(el.dataset.map, geo);
        var chart = echarts.init(el, null, { renderer: "canvas" });
        chart.setOption(option);
        chart.on("click", function (params) {
          var d = params && params.data;
          var url = d && (d.open || d.url);
          if (local(url)) { window.location.href = url; }
        });
        window.addEventListener("resize", function () { chart.resize(); });
        el.dataset.drawn = "1";
      });
  }

  function start() {
    var maps = document.querySelectorAll(".an-map[data-geo]");
    for (var i = 0; i < maps.length; i++) { draw(maps[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
