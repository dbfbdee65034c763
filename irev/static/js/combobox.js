/* « Commune ou intercommunalité »: the keyboard and state part of the ARIA 1.2 combobox
   pattern (list autocomplete, https://www.w3.org/WAI/ARIA/apg/patterns/combobox/).
   htmx fetches the options from the server into the listbox; this file, of our own, opens
   and closes it, moves the active option with the arrow keys (aria-activedescendant: focus
   stays in the text field), and on Enter or a click copies the chosen name and its code.
   Without it the field is a plain text input that the server matches on submit. */
(function () {
  "use strict";

  function enhance(root) {
    if (root.hasAttribute("data-combobox-ready")) {
      return;
    }
    var input = root.querySelector("input[type='text']");
    var listbox = root.querySelector("[role='listbox']");
    var code = document.getElementById(root.getAttribute("data-combobox") + "_code");
    if (!input || !listbox || !code) {
      return;
    }
    root.setAttribute("data-combobox-ready", "");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    /* autocomplete stays as the server wrote it ("organization" when the field is about the
       person filling the form, WCAG 1.3.5 / RGAA 11.13): the browser may offer its own saved
       value too, which is acceptable; its list is the browser's, ours stays in the page. */
    var active = -1;

    function options() {
      return Array.prototype.slice.call(listbox.querySelectorAll("[role='option']"));
    }

    function open() {
      if (options().length === 0) {
        close();
        return;
      }
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      activate(-1);
    }

    function activate(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function move(step) {
      var count = options().length;
      if (count === 0) {
        return;
      }
      if (listbox.hidden) {
        open();
      }
      activate(active < 0 ? (step > 0 ? 0 : count - 1) : (active + step + count) % count);
    }

    function choose(option) {
      input.value = option.getAttribute("data-name");
      code.value = option.getAttribute("data-code");
      close();
      showDepartment(option.getAttribute("data-departement"));
    }

    /* A known code gives the département: its question is hidden, and shown again as soon
       as the name is edited (the server decides in the end, from the code it re-checks). */
    function showDepartment(name) {
      var derived = document.getElementById("department-derived");
      var question = document.getElementById("department-question");
      if (!derived || !question) {
        return;
      }
      var known = Boolean(name) && code.value !== "";
      derived.hidden = !known;
      question.hidden = known;
      var slot = derived.querySelector("[data-derived-name]");
      if (slot && known) {
        slot.textContent = name;
      }
    }

    input.addEventListener("input", function () {
      if (code.value !== "") {
        code.value = "";
        showDepartment("");
      }
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (event.altKey) {
          open();
        } else {
          move(1);
        }
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        move(-1);
      } else if (event.key === "Enter") {
        if (!listbox.hidden && active >= 0 && options()[active]) {
          event.preventDefault(); // choosing must not send the form
          choose(options()[active]);
        }
      } else if (event.key === "Escape") {
        if (!listbox.hidden) {
          event.preventDefault();
          close();
        }
      }
    });

    input.addEventListener("blur", function () {
      close();
    });

    // Keep focus in the field when an option is pressed; the click then chooses it.
    listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role='option']");
      if (option) {
        choose(option);
      }
    });

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== listbox) {
        return;
      }
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (document.activeElement === input) {
        open();
      } else {
        close();
      }
    });
  }

  function enhanceAll(scope) {
    scope.querySelectorAll("[data-combobox]").forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceAll(document);
  });
  // The form is swapped whole after a failed submit: enhance the new field too.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.querySelectorAll) {
      if (elt.matches("[data-combobox]")) {
        enhance(elt);
      }
      enhanceAll(elt);
    }
  });
})();
