// Live SLA countdowns: every <time data-due="ISO"> is a RUNNING clock (the server renders stopped
// ones as plain text, routing/clock.py); it says "due in 1 h 20 min" or "overdue by 25 min".
(function () {
  // The same words as routing/clock.py span().
  function span(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    m = m % 60;
    if (h < 48) return m ? h + " h " + m + " min" : h + " h";
    var d = Math.floor(h / 24);
    h = h % 24;
    return h ? d + " d " + h + " h" : d + " d";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = left >= 0 ? "due in " + span(left) : "overdue by " + span(-left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();

// Loading state for EVERY htmx action (the sla work): while a request runs, the button that
// triggered it (or the form's submit button) and the element being replaced carry aria-busy="true"
// (Pico draws a spinner; screen readers hear "busy"), the button is disabled so a second click
// cannot send twice, and a thin bar runs along the top of the page. A trigger with data-busy="…"
// shows those words in its target while it works (the long what-if previews).
(function () {
  function triggerOf(evt) {
    var elt = evt.detail.elt;
    var cfg = evt.detail.requestConfig || {};
    var submitter = cfg.triggeringEvent && cfg.triggeringEvent.submitter;
    if (submitter) return submitter;
    if (elt && elt.tagName === "FORM") return elt.querySelector("button[type=submit], button:not([type])") || elt;
    return elt;
  }
  var busy = new Map();
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var button = triggerOf(evt);
    var target = evt.detail.target;
    var marked = [];
    [button, target].forEach(function (el) {
      if (el && el.getAttribute("aria-busy") !== "true") {
        el.setAttribute("aria-busy", "true");
        marked.push(el);
      }
    });
    if (button && button.tagName === "BUTTON" && !button.disabled) {
      button.disabled = true;
      button.dataset.busyDisabled = "1";
    }
    var words = evt.detail.elt && evt.detail.elt.dataset ? evt.detail.elt.dataset.busy : null;
    if (words && target) target.setAttribute("data-busy-text", words);
    busy.set(evt.detail.xhr, { marked: marked, button: button, target: words ? target : null });
    document.documentElement.classList.add("htmx-busy");
  });
  function done(evt) {
    var entry = busy.get(evt.detail.xhr);
    if (!entry) return;
    busy.delete(evt.detail.xhr);
    entry.marked.forEach(function (el) { el.removeAttribute("aria-busy"); });
    if (entry.button && entry.button.dataset.busyDisabled) {
      entry.button.disabled = false;
      delete entry.button.dataset.busyDisabled;
    }
    if (entry.target) entry.target.removeAttribute("data-busy-text");
    if (busy.size === 0) document.documentElement.classList.remove("htmx-busy");
  }
  document.addEventListener("htmx:afterRequest", done);
  document.addEventListener("htmx:sendError", done);
  document.addEventListener("htmx:timeout", done);
})();
// Import in the app (issue 13): a file over the limit is refused before it is sent, and changing
// what the rows are (or their encoding) checks the mapping again at once.
(function () {
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (input.matches && input.matches(".upload-form input[type=file]")) {
      var form = input.form, max = Number(form.dataset.maxBytes), file = input.files && input.files[0];
      var msg = form.querySelector(".upload-too-large"), button = form.querySelector("button[type=submit]");
      var tooBig = !!file && max > 0 && file.size > max;
      msg.hidden = !tooBig;
      msg.textContent = tooBig ? "This file is " + (file.size / 1048576).toFixed(0) + " MB; an import in the app takes up to " +
        (max / 1048576).toFixed(0) + " MB. Split it, or import it on the server with leadloop import." : "";
      button.disabled = tooBig;
    }
    if (input.matches && input.matches(".import-mapping [data-recheck]")) {
      var recheck = input.form.querySelector("#recheck");
      if (recheck) { input.form.requestSubmit(recheck); }
    }
  });
})();
// The rep's workbench (issue 13): inbox keyboard shortcuts, "next step" buttons that open a form,
// and a form's error said inside the form when an HTMX post is refused (what was typed stays).
(function () {
  var selected = null; // the id of the selected inbox row ("lead-12"), kept across HTMX swaps

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#inbox tbody tr[data-lead]")); }
  function current() { return selected ? document.getElementById(selected) : null; }
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
    if (!row) { selected = null; return; }
    selected = row.id;
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var i = all.indexOf(current());
    select(all[i < 0 ? 0 : Math.max(0, Math.min(all.length - 1, i + step))]);
  }
  function open(id) {
    var d = document.getElementById(id);
    if (!d) return;
    d.open = true;
    // The field to start with: the outcome of a call, the title of a task, else the first one.
    var wanted = ["select[name=outcome]", "input[name=title]", "select, input:not([type=hidden]), textarea"];
    for (var i = 0; i < wanted.length; i++) {
      var field = d.querySelector(wanted[i]);
      if (field) { field.focus(); return; }
    }
  }
  function toggleHelp() {
    var dlg = document.getElementById("shortcuts");
    if (!dlg) return;
    if (dlg.open) dlg.close(); else dlg.showModal();
  }

  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("keys-hint")) return; // the inbox only
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var row = current();
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "?": toggleHelp(); break;
      case "a":
        if (!row) return;
        var accept = row.querySelector("button[hx-post$='/accept']");
        if (accept) accept.click();
        break;
      case "c":
        if (!row) return;
        open("log-" + row.dataset.lead);
        break;
      case "r":
        if (!row) return;
        var reason = row.querySelector("select[name=reason]");
        if (reason) reason.focus();
        break;
      default: return;
    }
    e.preventDefault();
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("[data-open], [data-close], #inbox tbody tr[data-lead]") : null;
    if (!t) return;
    if (t.dataset.open) { open(t.dataset.open); return; }
    if (t.dataset.close) { var d = document.getElementById(t.dataset.close); if (d) d.close(); return; }
    if (t.dataset.lead && t.id !== selected) select(t);
  });

  document.addEventListener("htmx:afterSwap", function () {
    var row = current();
    if (row) { row.classList.add("selected"); row.setAttribute("aria-current", "true"); }
  });

  // An HTMX post refused (422, 403...): say why inside the form, keep what was typed.
  document.addEventListener("htmx:responseError", function (e) {
    var form = e.detail.elt && e.detail.elt.closest ? e.detail.elt.closest("form") : null;
    var box = form || e.detail.elt;
    if (!box) return;
    var msg = "That did not work; nothing was saved.";
    try {
      var doc = new DOMParser().parseFromString(e.detail.xhr.responseText, "text/html");
      var p = doc.querySelector("#error p");
      var items = Array.prototype.map.call(doc.querySelectorAll("#error li"), function (li) { return li.textContent; });
      if (p) msg = p.textContent + (items.length ? " " + items.join("; ") : "");
      else {
        var data = JSON.parse(e.detail.xhr.responseText);
        if (typeof data.detail === "string") msg = data.detail;
      }
    } catch (err) { /* keep the plain message */ }
    var out = box.querySelector(".form-error");
    if (!out) {
      out = document.createElement("p");
      out.className = "form-error";
      out.setAttribute("role", "alert");
      box.appendChild(out);
    }
    out.textContent = msg;
  });
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
// The qualification desk (issue 13, item 3): a refused form comes back as 422 with the sentence and
// the values as typed; swap it in (htmx leaves 4xx answers out by default) so nothing typed is lost.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
  if (evt.detail.xhr.status === 422 && elt && elt.closest && elt.closest("[data-swap-errors]")) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
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
