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
