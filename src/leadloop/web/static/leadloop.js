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
