/* Pages whose figures refresh themselves (seat counts, staff counters, every 30 s): a button
   pauses and resumes that automatic refresh (RGAA 13.8, WCAG 2.2.2). A file of our own (the
   CSP forbids inline scripts); without JavaScript nothing refreshes, so the control stays
   hidden. The choice holds for the visit (sessionStorage). Refreshes that follow the
   visitor's own action (a form sent, a "seats-changed" event) still run. */
(function () {
  "use strict";

  var KEY = "irev-actualisation-suspendue";
  var LABELS = {
    running: "Suspendre la mise à jour automatique",
    paused: "Reprendre la mise à jour automatique"
  };

  function paused() {
    try {
      return window.sessionStorage.getItem(KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  function remember(value) {
    try {
      if (value) {
        window.sessionStorage.setItem(KEY, "1");
      } else {
        window.sessionStorage.removeItem(KEY);
      }
    } catch (error) {
      /* Storage refused (private mode): the choice holds for this page only. */
    }
  }

  var pausedHere = false;

  function show(control) {
    var button = control.querySelector("button");
    var state = control.querySelector("[data-live-state]");
    button.textContent = pausedHere ? LABELS.paused : LABELS.running;
    state.textContent = pausedHere ? "suspendue" : "active";
  }

  function announce(text) {
    var region = document.getElementById("annonces");
    if (region) {
      region.textContent = text;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var control = document.getElementById("actualisation");
    if (!control || !document.querySelector("[data-hx-trigger*='every ']")) {
      return;
    }
    pausedHere = paused();
    show(control);
    control.hidden = false;
    control.querySelector("button").addEventListener("click", function () {
      pausedHere = !pausedHere;
      remember(pausedHere);
      show(control);
      announce(pausedHere ? "Mise à jour automatique suspendue." : "Mise à jour automatique reprise.");
    });
  });

  /* A poll ("every 30s") issues its request without a triggering event. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (pausedHere && !event.detail.requestConfig.triggeringEvent) {
      event.preventDefault();
    }
  });
})();
