/* The keyboard shortcuts every signed-in page offers, shown beside the menu and listed by "?".
   A link marked data-shortcut="n" opens when "n" is pressed; "/" goes to the page's search
   field, or to the search page that its link names; "?" shows the list. Nothing happens while
   the person types in a field, nor with Ctrl, Alt or Meta held (the browser's own keys).
   Pages keep other keys for themselves (the alarm queue's "a", "j", "k"). */
(function () {
  "use strict";
  var SEARCH_MARK = "#recherche";

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function searchField() {
    var fields = document.querySelectorAll(
      "main input[type=search], main input[name=q], main [data-search-field]"
    );
    for (var i = 0; i < fields.length; i += 1) {
      if (fields[i].offsetParent !== null && !fields[i].disabled) {
        return fields[i];
      }
    }
    return null;
  }

  function focusSearch() {
    var field = searchField();
    if (field) {
      field.focus();
      if (field.select) {
        field.select();
      }
      return true;
    }
    return false;
  }

  function showHelp() {
    var help = document.getElementById("shortcuts-help");
    if (help && !help.open) {
      help.showModal();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) {
      return; // an open dialog keeps its keys (Escape closes it)
    }
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    if (key === "/") {
      if (focusSearch()) {
        event.preventDefault();
        return;
      }
      var search = document.querySelector('a[data-shortcut="/"]');
      if (search) {
        event.preventDefault();
        window.location.assign(search.href + SEARCH_MARK);
      }
      return;
    }
    if (key.length !== 1 || key === "\"" || key === "\\") {
      return;
    }
    var link = document.querySelector('a[data-shortcut="' + key + '"]');
    if (link) {
      event.preventDefault();
      link.click();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-shortcut-help]");
    if (button) {
      button.addEventListener("click", showHelp);
    }
    var search = document.querySelector('a[data-shortcut="/"]');
    if (search) {
      // The link itself leads to the search page with its field ready for typing.
      search.addEventListener("click", function (event) {
        if (focusSearch()) {
          event.preventDefault();
        } else {
          search.href = search.href.split("#")[0] + SEARCH_MARK;
        }
      });
    }
    if (window.location.hash === SEARCH_MARK) {
      focusSearch();
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  });
})();
