// Parts of a page that htmx refreshes on their own. A refresh that fails (an error, no answer,
// or an answer that is not the part, such as the sign-in page once the session has ended) leaves
// the part as it was, and the status line (the element with data-stale-title) turns red with
// that title until every part has been refreshed again.
(function () {
  "use strict";
  var failing = new Set();

  function show() {
    var status = document.querySelector("[data-stale-title]");
    if (!status) return;
    if (failing.size) {
      status.classList.add("bad");
      status.title = status.dataset.staleTitle;
    } else {
      status.classList.remove("bad");
      status.removeAttribute("title");
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var asked = new URL(event.detail.pathInfo.requestPath, document.baseURI).pathname;
    var answered = new URL(event.detail.xhr.responseURL || asked, document.baseURI).pathname;
    if (answered !== asked) {
      event.detail.shouldSwap = false;
      event.detail.isError = true;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var part = event.detail.pathInfo.requestPath;
    if (event.detail.successful) failing.delete(part);
    else failing.add(part);
    show();
  });
  // htmx puts the old classes back on a swapped element while it settles, then the new ones.
  document.addEventListener("htmx:afterSettle", show);
})();
