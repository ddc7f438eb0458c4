/* Privacy mask editor: polygons in normalized coordinates (0–1) drawn over the snapshot. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("mask-svg");
  var image = document.getElementById("mask-image");
  var input = document.getElementById("id_polygons");
  var buttons = {
    add: document.getElementById("mask-new"),
    finish: document.getElementById("mask-finish"),
    remove: document.getElementById("mask-delete"),
    refresh: document.getElementById("mask-refresh")
  };
  var modeSelect = document.getElementById("mask-mode");
  var count = document.getElementById("mask-count");
  var polygons = [];
  try {
    polygons = JSON.parse(JSON.parse(document.getElementById("mask-polygons").textContent));
  } catch (e) {
    polygons = [];
  }
  if (!Array.isArray(polygons)) { polygons = []; }
  var drawing = null;   // points of the polygon being drawn
  var selected = -1;
  var drag = null;      // {index, start: [x, y], points}

  function clamp(v) { return Math.min(1, Math.max(0, v)); }
  function round(v) { return Math.round(v * 10000) / 10000; }

  function position(event) {
    var box = svg.getBoundingClientRect();
    return [round(clamp((event.clientX - box.left) / box.width)),
            round(clamp((event.clientY - box.top) / box.height))];
  }

  function pointsAttr(points) {
    return points.map(function (p) { return p[0] + "," + p[1]; }).join(" ");
  }

  function sync() {
    input.value = JSON.stringify(polygons);
    count.textContent = polygons.length + " polygone(s)";
    buttons.remove.disabled = selected < 0;
    modeSelect.disabled = selected < 0;
    if (selected >= 0) { modeSelect.value = polygons[selected].mode || "software"; }
    buttons.finish.disabled = !drawing || drawing.length < 3;
  }

  function render() {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    polygons.forEach(function (polygon, index) {
      var shape = document.createElementNS(SVG, "polygon");
      shape.setAttribute("points", pointsAttr(polygon.points));
      shape.setAttribute("class", "mask-shape mask-" + (polygon.mode || "software") +
        (index === selected ? " selected" : ""));
      shape.setAttribute("vector-effect", "non-scaling-stroke");
      shape.dataset.index = index;
      svg.appendChild(shape);
    });
    if (drawing) {
      var line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", pointsAttr(drawing));
      line.setAttribute("class", "mask-drawing");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.appendChild(line);
    }
    sync();
  }

  buttons.add.addEventListener("click", function () {
    drawing = [];
    selected = -1;
    svg.classList.add("drawing");
    render();
  });

  buttons.finish.addEventListener("click", function () {
    if (drawing && drawing.length >= 3) {
      polygons.push({mode: "software", label: "", points: drawing});
      selected = polygons.length - 1;
    }
    drawing = null;
    svg.classList.remove("drawing");
    render();
  });

  buttons.remove.addEventListener("click", function () {
    if (selected >= 0) {
      polygons.splice(selected, 1);
      selected = -1;
      render();
    }
  });

  buttons.refresh.addEventListener("click", function () {
    image.src = image.src.split("?")[0] + "?t=" + Date.now();
  });

  modeSelect.addEventListener("change", function () {
    if (selected >= 0) {
      polygons[selected].mode = modeSelect.value;
      render();
    }
  });

  svg.addEventListener("pointerdown", function (event) {
    var point = position(event);
    if (drawing) {
      drawing.push(point);
      render();
      return;
    }
    var index = event.target.dataset ? event.target.dataset.index : undefined;
    if (index === undefined) {
      selected = -1;
      render();
      return;
    }
    selected = Number(index);
    drag = {index: selected, start: point,
            points: polygons[selected].points.map(function (p) { return p.slice(); })};
    svg.setPointerCapture(event.pointerId);
    render();
  });

  svg.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var point = position(event);
    var dx = point[0] - drag.start[0];
    var dy = point[1] - drag.start[1];
    // Keep the whole polygon inside the image.
    drag.points.forEach(function (p) {
      dx = Math.min(Math.max(dx, -p[0]), 1 - p[0]);
      dy = Math.min(Math.max(dy, -p[1]), 1 - p[1]);
    });
    polygons[drag.index].points = drag.points.map(function (p) {
      return [round(p[0] + dx), round(p[1] + dy)];
    });
    render();
  });

  svg.addEventListener("pointerup", function () { drag = null; });

  document.getElementById("mask-form").addEventListener("submit", function () {
    input.value = JSON.stringify(polygons);
  });

  render();
})();
