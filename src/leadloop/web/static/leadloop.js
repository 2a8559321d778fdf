// Live SLA countdowns: every <time data-due="ISO"> shows the time left (or overdue), each second.
(function () {
  function fmt(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return (h ? h + ":" : "") + mm;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = left >= 0 ? fmt(left) + " left" : "overdue " + fmt(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();

// The qualification desk (issue 13, item 3): a refused form comes back as 422 with the sentence and
// the values as typed; swap it in (htmx leaves 4xx answers out by default) so nothing typed is lost.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
  if (evt.detail.xhr.status === 422 && elt && elt.closest && elt.closest("[data-swap-errors]")) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
