// The camera map (Leaflet, vendored). Its data comes from the page (json_script
// "camera-map-data"): the cameras' places, and for the room their state and page. With no tile
// server configured the map draws the cameras on a plain background with the sectors' names at
// the centre of their cameras, and asks nothing of any other host. The room's map refreshes the
// states every 30 seconds; the sector select hides the other sectors' cameras.
(function () {
  "use strict";
  var REFRESH_MS = 30000;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function escapeHtml(text) {
    var node = document.createElement("span");
    node.textContent = text;
    return node.innerHTML;
  }

  function start() {
    var container = document.getElementById("camera-map");
    var source = document.getElementById("camera-map-data");
    if (!container || !source || !window.L) return;
    var data = JSON.parse(source.textContent);
    var labels = data.labels;
    var room = container.dataset.map === "room";
    var select = document.getElementById("map-sector");
    var status = document.getElementById("map-status");
    var placed = data.cameras.filter(function (c) { return c.position; });

    if (!placed.length) {
      container.classList.add("camera-map-empty");
      container.appendChild(element("p", "muted", container.dataset.empty || ""));
      return;
    }

    var map = L.map(container, {
      attributionControl: Boolean(data.tiles),
      zoomControl: true,
      zoomSnap: 0.25,
      maxZoom: data.tiles ? data.tiles.max_zoom : 19,
    });
    map.zoomControl.getContainer().querySelector(".leaflet-control-zoom-in").title = labels.zoom_in;
    map.zoomControl.getContainer().querySelector(".leaflet-control-zoom-out").title = labels.zoom_out;
    L.control.scale({ imperial: false }).addTo(map);
    if (data.tiles) {
      L.tileLayer(data.tiles.url, {
        attribution: escapeHtml(data.tiles.attribution || ""),
        maxZoom: data.tiles.max_zoom,
      }).addTo(map);
    } else {
      container.classList.add("camera-map-plain");
    }

    // --- Markers ---------------------------------------------------------------------------
    var markers = {};
    var states = {};
    data.cameras.forEach(function (c) { states[c.code] = c; });

    // The sensors of one multi-sensor head share a place: side by side, not one on the other.
    var shift = {};
    var atPlace = {};
    placed.forEach(function (c) {
      var key = c.position.join(",");
      (atPlace[key] = atPlace[key] || []).push(c.code);
    });
    Object.keys(atPlace).forEach(function (key) {
      var codes = atPlace[key];
      codes.forEach(function (code, i) { shift[code] = Math.round((i - (codes.length - 1) / 2) * 22); });
    });

    function icon(camera) {
      var state = room ? states[camera.code].state : "public";
      var dx = shift[camera.code] || 0;
      return L.divIcon({
        className: "map-pin state-" + state,
        iconSize: [20, 20],
        iconAnchor: [10 - dx, 10],
        popupAnchor: [dx, -10],
      });
    }

    function line(term, value) {
      var p = element("p");
      p.appendChild(element("span", "map-term", term + " : "));
      p.appendChild(document.createTextNode(value));
      return p;
    }

    function popup(camera) {
      var box = element("div", "map-popup");
      box.dataset.code = camera.code;
      box.appendChild(element("strong", null, camera.code));
      box.appendChild(element("p", null, camera.name));
      if (camera.sector) box.appendChild(line(labels.sector, camera.sector));
      if (room) {
        var now = states[camera.code];
        var state = line(labels.state, now.state_label);
        state.classList.add("map-state");
        box.appendChild(state);
        box.appendChild(line(labels.health, now.health));
        if (now.recording) box.appendChild(line(labels.recording, now.recording));
        var link = element("a", "map-open", labels.open);
        link.href = camera.url;
        var links = box.appendChild(element("p"));
        links.appendChild(link);
        if (camera.live_url) {
          var live = element("a", "map-live", labels.live);
          live.href = camera.live_url;
          links.appendChild(document.createTextNode(" · "));
          links.appendChild(live);
        }
      }
      return box;
    }

    // Each marker's element names its camera (and its state): the page's tests find it so.
    function tag(marker, camera) {
      var node = marker.getElement();
      if (!node) return;
      node.dataset.code = camera.code;
      node.dataset.sector = camera.sector;
      if (room) node.dataset.state = states[camera.code].state;
    }

    placed.forEach(function (camera) {
      var marker = L.marker(camera.position, {
        icon: icon(camera),
        title: camera.code + " — " + camera.name,
        alt: camera.code,
        keyboard: true,
        riseOnHover: true,
      });
      marker.bindPopup(function () { return popup(camera); });
      marker.on("add", function () { tag(marker, camera); });
      markers[camera.code] = { marker: marker, camera: camera };
      marker.addTo(map);
    });

    // --- Sectors' names, on the plain background only ---------------------------------------
    var sectorLabels = {};
    if (!data.tiles) {
      // Under the markers (markerPane is 600) and below their centre: a name never hides a
      // camera, nor a camera its name.
      map.createPane("sectors").style.zIndex = 350;
      var bySector = {};
      placed.forEach(function (c) {
        if (!c.sector) return;
        (bySector[c.sector] = bySector[c.sector] || []).push(c.position);
      });
      Object.keys(bySector).forEach(function (sector) {
        var points = bySector[sector];
        var lat = 0, lng = 0;
        points.forEach(function (p) { lat += p[0]; lng += p[1]; });
        var name = element("span", null, sector);
        var label = L.marker([lat / points.length, lng / points.length], {
          icon: L.divIcon({ className: "map-sector-label", html: name, iconSize: null }),
          interactive: false,
          keyboard: false,
          pane: "sectors",
        }).addTo(map);
        sectorLabels[sector] = label;
      });
    }

    // --- The sector filter --------------------------------------------------------------------
    function visible(camera, sector) {
      return !sector || camera.sector === sector;
    }

    function fit(sector) {
      var points = placed.filter(function (c) { return visible(c, sector); })
        .map(function (c) { return c.position; });
      if (!points.length) points = placed.map(function (c) { return c.position; });
      if (points.length === 1) map.setView(points[0], Math.min(17, map.getMaxZoom()));
      else map.fitBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: 18 });
    }

    function applySector(sector, refit) {
      Object.keys(markers).forEach(function (code) {
        var entry = markers[code];
        if (visible(entry.camera, sector)) {
          if (!map.hasLayer(entry.marker)) entry.marker.addTo(map);
        } else if (map.hasLayer(entry.marker)) {
          map.removeLayer(entry.marker);
        }
      });
      Object.keys(sectorLabels).forEach(function (name) {
        var label = sectorLabels[name];
        if (!sector || name === sector) {
          if (!map.hasLayer(label)) label.addTo(map);
        } else if (map.hasLayer(label)) {
          map.removeLayer(label);
        }
      });
      document.querySelectorAll("#map-unplaced li").forEach(function (item) {
        item.hidden = !visible({ sector: item.dataset.sector }, sector);
      });
      if (refit) fit(sector);
    }

    if (select) {
      select.addEventListener("change", function () {
        var query = new URLSearchParams(window.location.search);
        if (select.value) query.set("sector", select.value);
        else query.delete("sector");
        var search = query.toString();
        window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
        applySector(select.value, true);
      });
    }
    var initial = select ? select.value : "";
    fit(initial);
    applySector(initial, false);
    // Come from a camera's page (?camera=CODE): centred on it, its popup open.
    var asked = markers[new URLSearchParams(window.location.search).get("camera") || ""];
    if (asked && map.hasLayer(asked.marker)) {
      map.setView(asked.camera.position, Math.max(map.getZoom(), Math.min(17, map.getMaxZoom())), {
        animate: false,
      });
      asked.marker.openPopup();
    }

    // --- The room's states, every 30 seconds ----------------------------------------------------
    if (!room || !data.states_url) return;

    function say(text, bad) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("bad", bad);
    }

    function refresh() {
      var query = new URLSearchParams(window.location.search);
      query.delete("sector");
      var search = query.toString();
      fetch(data.states_url + (search ? "?" + search : ""), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("stale");
        return response.json();
      }).then(function (answer) {
        answer.cameras.forEach(function (row) {
          if (!states[row.code]) return;
          var before = states[row.code].state;
          Object.assign(states[row.code], row);
          var entry = markers[row.code];
          if (entry && before !== row.state) {
            entry.marker.setIcon(icon(entry.camera));
            tag(entry.marker, entry.camera);
          }
          if (entry && entry.marker.isPopupOpen()) entry.marker.getPopup().setContent(popup(entry.camera));
        });
        say(labels.updated.replace("%(time)s", answer.checked_at_text), false);
      }).catch(function () {
        say(labels.stale, true);
      });
    }
    window.setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
