/* Registration pages: keep ARIA states in step with htmx swaps.
   A file of our own (the CSP forbids inline scripts and eval); without it, or without
   JavaScript, every form still works as a plain POST. */
(function () {
  "use strict";

  /* After an inline check, mark the field's controls invalid or valid again: the server
     replaced only the message container, never the control that may have focus. */
  function syncField(box) {
    var name = box.getAttribute("data-error-for");
    var form = box.closest("form");
    if (!name || !form) {
      return;
    }
    var invalid = box.textContent.trim() !== "";
    form.querySelectorAll("[name=\"" + name + "\"]").forEach(function (control) {
      if (control.disabled) {
        return;
      }
      if (invalid) {
        control.setAttribute("aria-invalid", "true");
      } else {
        control.removeAttribute("aria-invalid");
      }
    });
    var wrapper = box.closest(".field");
    if (wrapper) {
      wrapper.classList.toggle("field--error", invalid);
    }
  }

  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-error-for]")) {
      syncField(elt);
    }
  });

  /* « Qui inscrivez-vous ? »: the official's fields are the user's own only in the first
     case; otherwise they must not claim the user's autocomplete purposes (WCAG 1.3.5), or the
     browser would fill in the assistant's own name and address. The server renders the same
     from the submitted choice; this follows the choice before any submit. */
  function syncPurposes(form) {
    var chosen = form.querySelector("input[name='for_whom']:checked");
    var forOfficial = Boolean(chosen) && chosen.value === "elu";
    form.querySelectorAll("[data-own-autocomplete]").forEach(function (control) {
      control.setAttribute(
        "autocomplete",
        forOfficial ? "off" : control.getAttribute("data-own-autocomplete")
      );
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "for_whom" && target.form) {
      syncPurposes(target.form);
    }
  });

  /* aria-busy on whatever a request will replace, while it runs. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target) {
      target.setAttribute("aria-busy", "true");
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target && target.isConnected) {
      target.removeAttribute("aria-busy");
    }
  });
})();
