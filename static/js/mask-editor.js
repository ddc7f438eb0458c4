/* Polygon editor over a camera picture, in normalized coordinates (0–1).

   Serves the privacy masks (one still position per polygon) and the areas of an
   access-request extract, which can move: with a time slider (#area-time), each polygon holds
   key positions {t, points}; between two keys every corner moves in a straight line, before
   the first and after the last the polygon stands still. Editing at a moment where the polygon
   has no key adds one there. Corners are dragged; the small dot in the middle of an edge adds a
   corner there (in every key); a chosen corner or polygon can be deleted; Ctrl+Z undoes,
   Ctrl+Y (or Ctrl+Maj+Z) redoes. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var KEY_EPSILON = 0.05;  // seconds: editing this close to a key edits that key
  var svg = document.getElementById("mask-svg");
  var image = document.getElementById("mask-image");
  var form = document.getElementById("mask-form");
  if (!svg || !image || !form) { return; }
  var slider = document.getElementById("area-time");
  var timed = !!slider;
  var $ = function (id) { return document.getElementById(id); };
  var buttons = {
    add: $("mask-new"), finish: $("mask-finish"), remove: $("mask-delete"),
    removeVertex: $("mask-delete-vertex"), refresh: $("mask-refresh"),
    undo: $("mask-undo"), redo: $("mask-redo"), removeKey: $("area-key-delete")
  };
  var modeSelect = $("mask-mode");
  var count = $("mask-count");
  var keysText = $("area-keys");
  var timeLabel = $("area-time-label");
  var text = {};
  try { text = JSON.parse($("editor-text").textContent) || {}; } catch (e) { text = {}; }

  function parsed(value) {
    if (typeof value === "string") {
      try { return JSON.parse(value); } catch (e) { return []; }
    }
    return Array.isArray(value) ? value : [];
  }
  function clamp(v) { return Math.min(1, Math.max(0, v)); }
  function round(v) { return Math.round(v * 10000) / 10000; }
  function copy(points) { return points.map(function (p) { return [p[0], p[1]]; }); }

  // --- The model: polygons of {mode, label, keys: [{t, points}]} ----------------------------

  function area(mode, value) {
    if (value && !Array.isArray(value) && Array.isArray(value.keys)) {
      return {mode: mode, label: "", keys: value.keys.map(function (k) {
        return {t: Number(k.t) || 0, points: copy(k.points)};
      })};
    }
    if (value && !Array.isArray(value) && Array.isArray(value.points)) {  // a privacy mask
      return {mode: value.mode || mode, label: value.label || "", keys: [{t: 0, points: copy(value.points)}]};
    }
    return {mode: mode, label: "", keys: [{t: 0, points: copy(value || [])}]};
  }

  var polygons = [];
  if (timed) {
    var data = JSON.parse($("area-data").textContent || "{}");
    parsed(data.keep).forEach(function (v) { polygons.push(area("keep", v)); });
    parsed(data.blur).forEach(function (v) { polygons.push(area("blur", v)); });
  } else {
    var masks = [];
    try { masks = parsed(JSON.parse($("mask-polygons").textContent)); } catch (e) { masks = []; }
    masks.forEach(function (m) { if (m && Array.isArray(m.points)) { polygons.push(area("software", m)); } });
  }
  polygons = polygons.filter(function (p) {
    return p.keys.length && p.keys.every(function (k) { return Array.isArray(k.points) && k.points.length >= 3; });
  });

  var now = 0;             // the slider's moment, seconds since the period's start
  var drawing = null;      // corners of the polygon being drawn
  var selected = -1;       // chosen polygon
  var vertex = -1;         // chosen corner of the chosen polygon
  var drag = null;
  var past = [], future = [];

  function positionOf(polygon, t) {
    var keys = polygon.keys;
    if (t <= keys[0].t) { return keys[0].points; }
    for (var i = 1; i < keys.length; i++) {
      if (t <= keys[i].t) {
        var a = keys[i - 1], b = keys[i];
        var share = (t - a.t) / (b.t - a.t);
        return a.points.map(function (p, j) {
          return [p[0] + (b.points[j][0] - p[0]) * share, p[1] + (b.points[j][1] - p[1]) * share];
        });
      }
    }
    return keys[keys.length - 1].points;
  }

  function keyIndexAt(polygon, t) {
    for (var i = 0; i < polygon.keys.length; i++) {
      if (Math.abs(polygon.keys[i].t - t) < KEY_EPSILON) { return i; }
    }
    return -1;
  }

  /* The key edited at the slider's moment: the polygon's only key without a slider, the key
     at this moment, or a new key made of the polygon's position now. */
  function editedKey(polygon) {
    if (!timed) { return polygon.keys[0]; }
    var found = keyIndexAt(polygon, now);
    if (found >= 0) { return polygon.keys[found]; }
    var key = {t: round(now), points: copy(positionOf(polygon, now))};
    polygon.keys.push(key);
    polygon.keys.sort(function (a, b) { return a.t - b.t; });
    return key;
  }

  function snapshot() { return JSON.stringify(polygons); }
  function remember() { past.push(snapshot()); future = []; }
  function restore(state) {
    polygons = JSON.parse(state);
    drawing = null;
    // The chosen polygon and corner stay chosen while they exist.
    if (selected >= polygons.length) { selected = -1; }
    if (selected < 0 || vertex >= polygons[selected].keys[0].points.length) { vertex = -1; }
  }

  function undo() {
    if (drawing) { drawing = null; svg.classList.remove("drawing"); render(); return; }
    if (!past.length) { return; }
    future.push(snapshot());
    restore(past.pop());
    render();
  }

  function redo() {
    if (!future.length) { return; }
    past.push(snapshot());
    restore(future.pop());
    render();
  }

  // --- Output ---------------------------------------------------------------------------------

  function stored(polygon) {
    if (polygon.keys.length === 1) { return polygon.keys[0].points.map(function (p) { return [round(p[0]), round(p[1])]; }); }
    return {keys: polygon.keys.map(function (k) {
      return {t: round(k.t), points: k.points.map(function (p) { return [round(p[0]), round(p[1])]; })};
    })};
  }

  function write() {
    if (timed) {
      $("id_keep_areas").value = JSON.stringify(polygons.filter(function (p) { return p.mode === "keep"; }).map(stored));
      $("id_blur_areas").value = JSON.stringify(polygons.filter(function (p) { return p.mode === "blur"; }).map(stored));
    } else {
      $("id_polygons").value = JSON.stringify(polygons.map(function (p) {
        return {mode: p.mode, label: p.label, points: stored(p)};
      }));
    }
  }

  // --- Drawing --------------------------------------------------------------------------------

  function size() {
    var box = svg.getBoundingClientRect();
    return [Math.max(1, box.width), Math.max(1, box.height)];
  }

  function position(event) {
    var box = svg.getBoundingClientRect();
    return [round(clamp((event.clientX - box.left) / box.width)),
            round(clamp((event.clientY - box.top) / box.height))];
  }

  function element(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    return node;
  }

  function pixels(points, wh) {
    return points.map(function (p) { return (p[0] * wh[0]).toFixed(1) + "," + (p[1] * wh[1]).toFixed(1); }).join(" ");
  }

  function seconds(t) {
    return (Math.round(t * 10) / 10).toFixed(1).replace(".", text.decimal || ",") + " s";
  }

  function sync() {
    write();
    if (count) { count.textContent = (text.count || "%s").replace("%s", polygons.length); }
    buttons.remove.disabled = selected < 0;
    if (buttons.removeVertex) {
      buttons.removeVertex.disabled = selected < 0 || vertex < 0 || polygons[selected].keys[0].points.length <= 3;
    }
    if (buttons.undo) { buttons.undo.disabled = !past.length && !drawing; }
    if (buttons.redo) { buttons.redo.disabled = !future.length; }
    modeSelect.disabled = selected < 0;
    if (selected >= 0) { modeSelect.value = polygons[selected].mode; }
    buttons.finish.disabled = !drawing || drawing.length < 3;
    if (timed) {
      if (timeLabel) {
        var start = Number(slider.dataset.startsAt);
        var clock = new Date(start + now * 1000).toLocaleTimeString(text.locale || "fr-FR", {timeZone: "Europe/Paris"});
        timeLabel.textContent = "+" + seconds(now) + " — " + clock;
      }
      var polygon = selected >= 0 ? polygons[selected] : null;
      if (keysText) {
        keysText.textContent = polygon ? (text.keys || "%s").replace("%s", polygon.keys.map(function (k) { return seconds(k.t); }).join(" · ")) : "";
      }
      if (buttons.removeKey) {
        buttons.removeKey.disabled = !polygon || polygon.keys.length < 2 || keyIndexAt(polygon, now) < 0;
      }
    }
  }

  /* The picture as large as the editor's width allows, but never taller than the window: the
     whole of it is in view at once. */
  function fit() {
    var stage = image.parentNode;
    var room = stage.parentNode.clientWidth;
    if (!image.naturalWidth || !room) { return; }
    var scale = Math.min(room / image.naturalWidth, (window.innerHeight - 16) / image.naturalHeight);
    image.style.width = Math.floor(image.naturalWidth * scale) + "px";
  }

  function render() {
    var wh = size();
    svg.setAttribute("viewBox", "0 0 " + wh[0] + " " + wh[1]);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    polygons.forEach(function (polygon, index) {
      var here = timed && keyIndexAt(polygon, now) >= 0;
      svg.appendChild(element("polygon", {
        points: pixels(positionOf(polygon, now), wh),
        "class": "mask-shape mask-" + polygon.mode + (index === selected ? " selected" : "") + (here ? " at-key" : ""),
        "data-index": index
      }));
    });
    if (selected >= 0 && !drawing) {
      var points = positionOf(polygons[selected], now);
      points.forEach(function (p, j) {
        var q = points[(j + 1) % points.length];
        svg.appendChild(element("circle", {
          cx: ((p[0] + q[0]) / 2 * wh[0]).toFixed(1), cy: ((p[1] + q[1]) / 2 * wh[1]).toFixed(1),
          r: 5, "class": "mask-midpoint", "data-edge": j
        }));
      });
      points.forEach(function (p, j) {
        svg.appendChild(element("circle", {
          cx: (p[0] * wh[0]).toFixed(1), cy: (p[1] * wh[1]).toFixed(1), r: 8,
          "class": "mask-vertex" + (j === vertex ? " selected" : ""), "data-vertex": j
        }));
      });
    }
    if (drawing) {
      svg.appendChild(element("polyline", {points: pixels(drawing, wh), "class": "mask-drawing"}));
    }
    sync();
  }

  // --- Actions --------------------------------------------------------------------------------

  buttons.add.addEventListener("click", function () {
    drawing = [];
    selected = -1;
    vertex = -1;
    svg.classList.add("drawing");
    render();
  });

  buttons.finish.addEventListener("click", function () {
    if (drawing && drawing.length >= 3) {
      remember();
      var mode = timed ? (modeSelect.value || "keep") : "software";
      polygons.push({mode: mode, label: "", keys: [{t: round(now), points: drawing}]});
      selected = polygons.length - 1;
    }
    drawing = null;
    svg.classList.remove("drawing");
    render();
  });

  buttons.remove.addEventListener("click", function () {
    if (selected >= 0) {
      remember();
      polygons.splice(selected, 1);
      selected = -1;
      vertex = -1;
      render();
    }
  });

  function removeVertex() {
    if (selected < 0 || vertex < 0 || polygons[selected].keys[0].points.length <= 3) { return; }
    remember();
    polygons[selected].keys.forEach(function (k) { k.points.splice(vertex, 1); });
    vertex = -1;
    render();
  }
  if (buttons.removeVertex) { buttons.removeVertex.addEventListener("click", removeVertex); }
  if (buttons.undo) { buttons.undo.addEventListener("click", undo); }
  if (buttons.redo) { buttons.redo.addEventListener("click", redo); }
  if (buttons.refresh) {
    buttons.refresh.addEventListener("click", function () {
      image.src = image.src.split("?")[0] + "?t=" + Date.now();
    });
  }
  if (buttons.removeKey) {
    buttons.removeKey.addEventListener("click", function () {
      var polygon = polygons[selected];
      var index = polygon ? keyIndexAt(polygon, now) : -1;
      if (index >= 0 && polygon.keys.length > 1) {
        remember();
        polygon.keys.splice(index, 1);
        render();
      }
    });
  }

  modeSelect.addEventListener("change", function () {
    if (selected >= 0) {
      remember();
      polygons[selected].mode = modeSelect.value;
      render();
    }
  });

  if (timed) {
    var frameTimer = null;
    slider.addEventListener("input", function () {
      now = Number(slider.value) || 0;
      render();
      clearTimeout(frameTimer);
      frameTimer = setTimeout(function () {
        image.src = slider.dataset.frameUrl + "?t=" + now;
      }, 150);
    });
  }

  svg.addEventListener("pointerdown", function (event) {
    var point = position(event);
    if (drawing) {
      drawing.push(point);
      render();
      return;
    }
    var target = event.target.dataset || {};
    var before = snapshot();
    if (target.vertex !== undefined && selected >= 0) {
      vertex = Number(target.vertex);
      drag = {kind: "vertex", before: before};
    } else if (target.edge !== undefined && selected >= 0) {
      var edge = Number(target.edge);
      // The new corner goes in the middle of that edge in every key, then follows the pointer.
      polygons[selected].keys.forEach(function (k) {
        var a = k.points[edge], b = k.points[(edge + 1) % k.points.length];
        k.points.splice(edge + 1, 0, [round((a[0] + b[0]) / 2), round((a[1] + b[1]) / 2)]);
      });
      vertex = edge + 1;
      drag = {kind: "vertex", before: before};
    } else if (target.index !== undefined) {
      selected = Number(target.index);
      vertex = -1;
      drag = {kind: "move", before: before, start: point,
              points: copy(positionOf(polygons[selected], now))};
    } else {
      selected = -1;
      vertex = -1;
      render();
      return;
    }
    svg.setPointerCapture(event.pointerId);
    render();
  });

  svg.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var point = position(event);
    var key = editedKey(polygons[selected]);  // a key at this moment from the first move on
    if (drag.kind === "vertex") {
      key.points[vertex] = point;
    } else {
      var dx = point[0] - drag.start[0];
      var dy = point[1] - drag.start[1];
      // Keep the whole polygon inside the image.
      drag.points.forEach(function (p) {
        dx = Math.min(Math.max(dx, -p[0]), 1 - p[0]);
        dy = Math.min(Math.max(dy, -p[1]), 1 - p[1]);
      });
      key.points = drag.points.map(function (p) { return [round(p[0] + dx), round(p[1] + dy)]; });
    }
    render();
  });

  function endDrag() {
    if (!drag) { return; }
    if (snapshot() !== drag.before) { past.push(drag.before); future = []; }
    drag = null;
    render();
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" && event.target.type !== "range" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if ((event.ctrlKey || event.metaKey) && (key === "y" || (key === "z" && event.shiftKey))) {
      event.preventDefault();
      redo();
    } else if ((key === "delete" || key === "backspace") && vertex >= 0) {
      event.preventDefault();
      removeVertex();
    }
  });

  form.addEventListener("submit", write);
  window.addEventListener("resize", function () { fit(); render(); });
  image.addEventListener("load", function () { fit(); render(); });
  fit();
  render();
})();
