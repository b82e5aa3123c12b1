/* Analytics pages: draws each chart from the JSON option the page carries, opens the tickets
   behind a point when it is clicked, and keeps the period choice and the date fields apart. */
(function () {
  "use strict";

  function draw(el) {
    if (el.dataset.drawn || typeof echarts === "undefined") { return; }
    var source = document.getElementById(el.dataset.option);
    if (!source) { return; }
    var option;
    try { option = JSON.parse(source.textContent); } catch (e) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (params) {
      var url = params && params.data && params.data.url;
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.href = url;
      }
    });
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    var charts = document.querySelectorAll(".an-chart[data-option]");
    for (var i = 0; i < charts.length; i++) { draw(charts[i]); }
    var form = document.querySelector(".an-filters");
    if (!form) { return; }
    var period = form.querySelector("select[name=period]");
    var dates = form.querySelectorAll("input[type=date]");
    if (period) {
      period.addEventListener("change", function () {
        for (var j = 0; j < dates.length; j++) { dates[j].value = ""; }
      });
    }
    // An empty field would override nothing; leave it out of the URL.
    form.addEventListener("submit", function () {
      var fields = form.querySelectorAll("input, select");
      for (var k = 0; k < fields.length; k++) {
        if (fields[k].name && fields[k].value === "") { fields[k].disabled = true; }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener("htmx:load", start);
})();
