// The desk's only script: live countdowns to repair deadlines, and confirmation prompts.
// A static file (no inline script), so the Content-Security-Policy can forbid 'unsafe-inline'.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // The deadline comes from the server (the engine); the page only counts down to it.
  function render(el) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    if (isNaN(deadline)) { return; }
    var left = Math.round((deadline - Date.now()) / 1000);
    var overdue = left < 0;
    var s = Math.abs(left);
    var text = Math.floor(s / 3600) + ":" + pad(Math.floor(s % 3600 / 60)) + ":" + pad(s % 60);
    el.textContent = overdue ? (el.getAttribute("data-overdue") || "overdue") + " " + text : text;
    el.classList.toggle("overdue", overdue);
    el.classList.toggle("soon", !overdue && left < 3600);
  }

  function tick() {
    var els = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < els.length; i++) { render(els[i]); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    document.addEventListener("click", function (event) {
      var target = event.target.closest("[data-confirm]");
      if (target && !window.confirm(target.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
