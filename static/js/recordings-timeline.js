// Replay timeline: drag (or click) on the day's strip to fill the start and end of the form.
// Times are written as Paris wall-clock time whatever the browser's own time zone.
(function () {
  "use strict";
  var timeline = document.getElementById("timeline");
  var form = document.getElementById("playback-form");
  if (!timeline || !form) return;
  var track = timeline.querySelector(".timeline-track");
  var selection = timeline.querySelector(".tl-selection");
  var startInput = form.querySelector("input[name=start]");
  var endInput = form.querySelector("input[name=end]");
  var windowStart = Number(timeline.dataset.start);
  var windowEnd = Number(timeline.dataset.end);
  var maxMs = Number(timeline.dataset.max) * 60 * 1000;
  var CLICK_MS = 5 * 60 * 1000;
  // "sv-SE" formats as "YYYY-MM-DD HH:MM:SS", what a datetime-local input wants (with a T).
  var paris = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });

  function at(event) {
    var box = track.getBoundingClientRect();
    var ratio = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    return Math.round((windowStart + ratio * (windowEnd - windowStart)) / 1000) * 1000;
  }

  function show(from, to) {
    var span = windowEnd - windowStart;
    selection.setAttribute("visibility", "visible");
    selection.setAttribute("x", ((from - windowStart) / span * 100) + "%");
    selection.setAttribute("width", Math.max((to - from) / span * 100, 0.1) + "%");
    startInput.value = paris.format(new Date(from)).replace(" ", "T");
    endInput.value = paris.format(new Date(to)).replace(" ", "T");
  }

  var anchor = null;
  track.addEventListener("pointerdown", function (event) {
    anchor = at(event);
    track.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  track.addEventListener("pointermove", function (event) {
    if (anchor === null) return;
    var here = at(event);
    var from = Math.min(anchor, here);
    var to = Math.min(Math.max(anchor, here), from + maxMs);
    if (to > from) show(from, to);
  });
  track.addEventListener("pointerup", function (event) {
    if (anchor === null) return;
    var here = at(event);
    var from = Math.min(anchor, here);
    var to = Math.max(anchor, here);
    if (to - from < 1000) to = Math.min(from + CLICK_MS, windowEnd);
    show(from, Math.min(to, from + maxMs));
    anchor = null;
  });
})();
