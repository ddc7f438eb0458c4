/* On a phone the menu folds behind the "Menu" button. Loaded in the head, before the page is
   drawn, so that the folded menu never flashes open; without scripts the menu stays open. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".menu-toggle");
    var menu = document.getElementById("main-nav");
    if (!button || !menu) {
      return;
    }
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
      if (open) {
        var first = menu.querySelector("a");
        if (first) {
          first.focus();
        }
      }
    });
  });
})();
