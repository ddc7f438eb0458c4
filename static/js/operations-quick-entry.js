// Quick entry: Enter saves the signalement from any field — the description too (Shift+Enter
// starts a new line there), the category list and the service boxes, where browsers would not.
(function () {
  "use strict";
  var form = document.getElementById("quick-entry");
  if (!form) return;
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    var target = event.target;
    var saves =
      (target.tagName === "TEXTAREA" && !event.shiftKey) ||
      target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type === "checkbox");
    if (saves) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("quick-save"));
    }
  });
})();
