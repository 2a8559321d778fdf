// Draws each dashboard chart from the JSON in its canvas's data-chart attribute (data only: the Content-Security-Policy
// runs no inline script, and the configuration carries no code). The table under it is the truth.
(function () {
  "use strict";
  function draw() {
    if (typeof window.Chart === "undefined") return;
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    if (dark) {
      window.Chart.defaults.color = "#c2c7d0";
      window.Chart.defaults.borderColor = "rgba(255,255,255,0.12)";
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, JSON.parse(canvas.getAttribute("data-chart")));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
