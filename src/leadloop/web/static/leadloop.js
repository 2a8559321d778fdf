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

// Home, search and lists (issue 13 item 6): page-size and filter selects submit on change; bulk
// selection (select all, the count, actions enabled only with a selection); the search dropdown is
// reachable by keyboard (↓ from the box into the results, Esc closes).
(function () {
  function bulkForms() { return document.querySelectorAll("form[data-bulk]"); }
  function refresh() {
    bulkForms().forEach(function (form) {
      var boxes = document.querySelectorAll('input[type=checkbox][form="' + form.id + '"]');
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n += 1; });
      var label = form.querySelector("[data-selected-count]");
      if (label) label.textContent = n ? n + " selected" : "None selected";
      form.querySelectorAll("button[data-needs-selection]").forEach(function (b) { b.disabled = n === 0; });
      form.querySelectorAll("summary[data-needs-selection]").forEach(function (s) {
        s.setAttribute("aria-disabled", n === 0 ? "true" : "false");
      });
      form.classList.toggle("has-selection", n > 0);
      var all = document.querySelector("input[data-select-all]");
      if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
    });
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("select[data-autosubmit]") && t.form && !t.form.hasAttribute("hx-get")) {
      t.form.requestSubmit();
    }
    if (t.matches && t.matches("input[data-select-all]")) {
      bulkForms().forEach(function (form) {
        document.querySelectorAll('input[type=checkbox][form="' + form.id + '"]').forEach(function (b) { b.checked = t.checked; });
      });
    }
    refresh();
  });
  document.addEventListener("click", function (e) {
    var s = e.target.closest && e.target.closest("summary[aria-disabled=true]");
    if (s) { e.preventDefault(); }
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSwap", refresh);

  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("global-q");
    var drop = document.getElementById("search-dropdown");
    if (!box || !drop) return;
    var links = Array.prototype.slice.call(drop.querySelectorAll("a"));
    if (e.key === "Escape" && (document.activeElement === box || drop.contains(document.activeElement))) {
      drop.innerHTML = "";
      box.focus();
      return;
    }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    if (!links.length) return;
    var i = links.indexOf(document.activeElement);
    if (document.activeElement === box && e.key === "ArrowDown") { links[0].focus(); e.preventDefault(); }
    else if (i >= 0) {
      e.preventDefault();
      if (e.key === "ArrowDown") links[Math.min(i + 1, links.length - 1)].focus();
      else if (i === 0) box.focus();
      else links[i - 1].focus();
    }
  });
  document.addEventListener("click", function (e) {
    var drop = document.getElementById("search-dropdown");
    if (drop && drop.innerHTML && !e.target.closest(".global-search")) drop.innerHTML = "";
  });
})();
