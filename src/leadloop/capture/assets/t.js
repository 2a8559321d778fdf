/* Leadloop website tracking: first-party, no third-party code, a few KB.
   <script src="https://leadloop.example.com/t.js" data-site="ll_..." async></script>
   Options on the tag: data-consent="required" (send nothing until the site's consent banner calls
   leadloop('consent')), data-collect-forms (also log the site's own form submissions).
   Global Privacy Control is honoured: with it the script does nothing at all. */
(function () {
  "use strict";
  var tag = document.currentScript;
  if (!tag || window.__leadloop) return;
  window.__leadloop = true;
  var site = tag.getAttribute("data-site");
  if (!site) return;
  var endpoint = new URL("/collect", tag.src).href;
  var waitForConsent = tag.getAttribute("data-consent") === "required";
  var collectForms = tag.hasAttribute("data-collect-forms");
  var queued = (window.leadloop && window.leadloop.q) || [];
  var consented = !waitForConsent;
  var started = false;
  var COOKIE = "_llvid";

  function gpc() { return navigator.globalPrivacyControl === true; }

  function visitor() {
    var m = document.cookie.match(new RegExp("(?:^|; )" + COOKIE + "=([A-Za-z0-9-]{8,64})"));
    if (m) return m[1];
    var id = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
    document.cookie = COOKIE + "=" + id + "; Max-Age=" + 60 * 60 * 24 * 395 + "; Path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    return id;
  }

  function send(body) {
    if (!consented || gpc()) return;  // consent revoked (or GPC turned on) since the page loaded
    var data = JSON.stringify(body);
    if (data.length > 8000) return;
    var sent = false;
    try { sent = navigator.sendBeacon(endpoint, new Blob([data], { type: "text/plain" })); } catch (e) { sent = false; }
    if (!sent && window.fetch) {
      fetch(endpoint, { method: "POST", body: data, keepalive: true, mode: "no-cors", credentials: "omit" });
    }
  }

  function pageView() {
    send({ s: site, v: visitor(), k: "pv", u: location.href, t: document.title.slice(0, 300),
      r: document.referrer.slice(0, 2000) });
  }

  var SKIP = /pass|card|cvc|cvv|iban|ssn|secret|token|csrf/i;
  function onSubmit(event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM" || form.hasAttribute("data-leadloop-ignore")) return;
    var fields = {};
    var count = 0;
    for (var i = 0; i < form.elements.length && count < 40; i++) {
      var el = form.elements[i];
      var name = el.name || el.id;
      if (!name || el.disabled || SKIP.test(name) || SKIP.test(el.type || "")) continue;
      if (el.type === "file" || el.type === "submit" || el.type === "button" || el.type === "password") continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
      if (!el.value) continue;
      fields[name.slice(0, 100)] = String(el.value).slice(0, 1000);
      count++;
    }
    if (count) send({ s: site, v: visitor(), k: "form", u: location.href, f: fields });
  }

  function start() {
    if (started || !consented || gpc()) return;
    started = true;
    pageView();
    if (collectForms) document.addEventListener("submit", onSubmit, true);
  }

  window.leadloop = function (command) {
    if (command === "consent") { consented = true; start(); }
    else if (command === "revoke") {
      consented = false;
      document.cookie = COOKIE + "=; Max-Age=0; Path=/";
    } else if (command === "visitor") { return started ? visitor() : null; }
    return undefined;
  };
  for (var q = 0; q < queued.length; q++) window.leadloop.apply(null, queued[q]);
  start();
})();
