// followback app: the queue's keys and the help dialog. No inline script anywhere (the
// Content-Security-Policy allows only this file and htmx); no data from the page is evaluated.
(function () {
  "use strict";
  var busy = false;

  function typing(target) {
    return target && (target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var help = document.getElementById("help");
    if (help && help.open && event.key !== "?") return;  // the dialog has its own keys
    var el = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!el || el.disabled) return;
    event.preventDefault();
    if (busy && !el.dataset.opens) return;  // one answer at a time
    el.click();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-opens]");
    if (!opener) return;
    var dialog = document.getElementById(opener.dataset.opens);
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  });

  // While a request is out, keys are dropped rather than queued: an answer is given to the card
  // on screen, never to one not yet seen. <html data-busy> shows the state (and tests wait on it).
  function setBusy(value) {
    busy = value;
    if (value) document.documentElement.dataset.busy = "1";
    else delete document.documentElement.dataset.busy;
  }
  document.addEventListener("htmx:beforeRequest", function () { setBusy(true); });
  document.addEventListener("htmx:afterSettle", function () { setBusy(false); });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) setBusy(false);
  });
  // A refused request (409: a job is running; 403: reload for a fresh token) says why.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var box = document.getElementById("flash");
    if (!box) {
      box = document.createElement("p");
      box.id = "flash";
      box.className = "error";
      box.setAttribute("role", "alert");
      document.getElementById("main").prepend(box);
    }
    box.textContent = xhr.status + ": " + (xhr.responseText || "").replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ").trim().slice(0, 300);
  });
})();
