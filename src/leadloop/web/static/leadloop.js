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
// Phone and accessibility (issue 13, item 9): the navigation's disclosures (<details>) work without
// this; it closes an open one on Escape (focus back on its summary) and when another opens, and
// makes a table that scrolls sideways reachable by keyboard.
(function () {
  var menus = "header.app details";
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll(menus + "[open]").forEach(function (d) {
      d.open = false;
      if (d.contains(document.activeElement)) d.querySelector("summary").focus();
    });
  });
  // A table wider than a phone scrolls inside its .overflow-auto box: a keyboard must reach that
  // box to scroll it (WCAG 2.1.1), so a box that scrolls becomes a named, focusable region.
  function regions() {
    document.querySelectorAll(".overflow-auto").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        var h = box.previousElementSibling;
        while (h && !/^(H[1-6]|HGROUP)$/.test(h.tagName)) h = h.previousElementSibling;
        box.dataset.region = "1";
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (h ? h.textContent.trim() + ": " : "") + "table, scrolls sideways");
      } else if (!scrolls && box.dataset.region) {
        delete box.dataset.region;
        ["tabindex", "role", "aria-label"].forEach(function (a) { box.removeAttribute(a); });
      }
    });
  }
  var later;
  document.addEventListener("DOMContentLoaded", regions);
  document.addEventListener("htmx:afterSwap", regions);
  window.addEventListener("resize", function () { clearTimeout(later); later = setTimeout(regions, 150); });
  document.addEventListener("toggle", function (e) {
    var opened = e.target;
    if (!opened.open || !opened.matches || !opened.matches(menus)) return;
    document.querySelectorAll(menus + "[open]").forEach(function (d) {
      if (d !== opened && !d.contains(opened)) d.open = false;
    });
  }, true);
})();
