/* Choosing a language in the top bar applies it at once (the button is there without scripts). */
(function () {
  "use strict";
  var select = document.getElementById("language");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
})();
