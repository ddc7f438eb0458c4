// The video wall. Each tile opens one WebSocket to the camera's live process and decodes the
// H.264 it receives with WebCodecs (VideoDecoder) straight onto a canvas.
//
// Why this transport: the server already decodes every frame to burn the masks in, so it sends
// one encoded access unit per WebSocket message as soon as it leaves the encoder. WebCodecs
// decodes and paints it at once: no media buffer, no container, no play-out delay (Media Source
// Extensions keeps a buffer ahead of the play position and needs a fMP4 muxer on the server). A
// slow tile simply skips to the next key frame. Chromium, Firefox and Safari all ship it.
(function () {
  "use strict";
  const cameras = JSON.parse(document.getElementById("wall-data").textContent);
  const labels = JSON.parse(document.getElementById("wall-labels").textContent);
  const byCode = new Map(cameras.map((c) => [c.code, c]));
  const byNumber = new Map(cameras.filter((c) => c.number !== null).map((c) => [c.number, c]));
  const wall = document.getElementById("wall");
  const keysEl = document.getElementById("wall-keys");
  const STORE = "csu.wall";
  const clock = new Intl.DateTimeFormat("fr-FR", {
    timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const tiles = [];
  let selected = 0;
  let typed = "";

  function socketUrl(url) {
    if (/^wss?:\/\//.test(url)) return url;
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + url;
  }

  class Tile {
    constructor(index) {
      this.index = index;
      this.el = document.createElement("div");
      this.el.className = "tile";
      this.el.id = "tile-" + index;
      this.el.dataset.state = "empty";
      this.el.dataset.frames = "0";
      this.el.innerHTML =
        '<canvas width="640" height="360"></canvas><div class="tile-bar">' +
        '<span class="tile-name"></span><span class="tile-alert"></span>' +
        '<span class="tile-state"></span><time class="tile-time"></time>' +
        '<a class="tile-report" target="_blank" rel="noopener" hidden></a></div>';
      this.canvas = this.el.querySelector("canvas");
      this.ctx = this.canvas.getContext("2d");
      this.camera = null;
      this.ws = null;
      this.decoder = null;
      this.retry = 500;
      this.timer = null;
      this.setState("empty");
      this.el.addEventListener("click", () => select(index));
      this.el.addEventListener("dblclick", () => this.fullscreen());
      this.el.addEventListener("dragover", (e) => { e.preventDefault(); this.el.classList.add("drop"); });
      this.el.addEventListener("dragleave", () => this.el.classList.remove("drop"));
      this.el.addEventListener("drop", (e) => {
        e.preventDefault();
        this.el.classList.remove("drop");
        const camera = byCode.get(e.dataTransfer.getData("text/plain"));
        if (camera) { select(index); this.show(camera); save(); }
      });
    }

    setState(state) {
      this.el.dataset.state = state;
      this.el.querySelector(".tile-state").textContent = labels[state] || state;
    }

    fullscreen() {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (this.el.requestFullscreen) this.el.requestFullscreen();
    }

    show(camera, fromTour) {
      if (!fromTour) this.stopTour();
      this.stop();
      this.camera = camera;
      this.refused = null;
      this.ended = false;
      this.el.dataset.camera = camera ? camera.code : "";
      this.el.querySelector(".tile-name").textContent =
        camera ? (camera.number !== null ? camera.number + " · " : "") + camera.name : "";
      this.setAlert(camera ? camera.alert : "");
      const report = this.el.querySelector(".tile-report");
      report.textContent = labels.report;
      // Only for those who log the room's signalements (not the Police nationale's station).
      report.hidden = !camera || !wall.dataset.signalementUrl;
      this.ctx.fillStyle = "#000";
      this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
      if (camera) this.open(); else this.setState("empty");
    }

    // The camera's recording is not healthy (the recorders page's rule, pushed by the server).
    setAlert(reason) {
      const alert = this.el.querySelector(".tile-alert");
      alert.textContent = reason ? labels.alert : "";
      alert.title = reason || "";
      if (reason) this.el.dataset.alert = reason; else delete this.el.dataset.alert;
    }

    // A saved wall names a camera this person may no longer watch: said so, nothing opened.
    refuse(code) {
      this.stopTour();
      this.show(null);
      this.el.dataset.camera = code;
      this.refused = code;
      this.el.querySelector(".tile-name").textContent = code;
      this.setState("refused");
    }

    // A tour: this tile cycles through the given cameras, one every `seconds`.
    startTour(list, seconds) {
      this.stopTour();
      if (!list.length) return;
      this.tourCodes = list.map((c) => c.code);
      this.tourSeconds = seconds;
      let position = 0;
      this.show(list[0], true);
      this.tour = setInterval(() => {
        position = (position + 1) % list.length;
        this.show(list[position], true);
      }, seconds * 1000);
      this.el.dataset.tour = list.map((c) => c.code).join(" ");
    }

    stopTour() {
      clearInterval(this.tour);
      this.tour = null;
      this.tourCodes = null;
      delete this.el.dataset.tour;
    }

    stop() {
      clearTimeout(this.timer);
      if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
      if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
      this.decoder = null;
    }

    open() {
      if (typeof VideoDecoder === "undefined") { this.setState("unsupported"); return; }
      const camera = this.camera;
      this.setState("connecting");
      const ws = new WebSocket(socketUrl(camera.url));
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.needKey = true;
      ws.onmessage = (event) => this.receive(event.data);
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
          this.setState(this.ended ? "ended" : "refused");
          return;
        }
        // The camera or the live process dropped: try again, a little later each time.
        this.setState("reconnecting");
        this.timer = setTimeout(() => this.camera === camera && this.open(), this.retry);
        this.retry = Math.min(this.retry * 2, 5000);
      };
    }

    configure(config) {
      if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
      this.decoder = new VideoDecoder({
        output: (frame) => this.paint(frame),
        error: () => { this.needKey = true; this.configure(config); },
      });
      // No description: the bytes are Annex B, parameter sets in every key frame.
      this.decoder.configure({ codec: config.codec, optimizeForLatency: true });
      this.canvas.width = config.width;
      this.canvas.height = config.height;
      this.needKey = true;
    }

    receive(data) {
      if (typeof data === "string") {
        const message = JSON.parse(data);
        if (message.type === "config") this.configure(message);
        else if (message.type === "state") this.setState(message.state);
        else if (message.type === "recording") this.setAlert(message.alert);
        else if (message.type === "ended") { this.ended = true; this.setState("ended"); }
        return;
      }
      if (!this.decoder || this.decoder.state !== "configured") return;
      const view = new DataView(data);
      const key = (view.getUint8(0) & 1) === 1;
      const captured = view.getFloat64(1);
      if (this.needKey && !key) return;
      // Behind: skip to the next key frame rather than show old pictures late.
      if (!key && this.decoder.decodeQueueSize > 2) { this.needKey = true; return; }
      this.needKey = false;
      this.retry = 500;
      this.decoder.decode(new EncodedVideoChunk({
        type: key ? "key" : "delta",
        timestamp: Math.round(captured * 1000),
        data: new Uint8Array(data, 9),
      }));
    }

    paint(frame) {
      this.ctx.drawImage(frame, 0, 0, this.canvas.width, this.canvas.height);
      const captured = frame.timestamp / 1000;
      frame.close();
      this.lastPaint = Date.now();
      this.el.dataset.frames = String(Number(this.el.dataset.frames) + 1);
      this.el.querySelector(".tile-time").textContent = clock.format(new Date(captured));
      // A signalement from this tile: the camera and the picture's time filled in.
      if (wall.dataset.signalementUrl) {
        this.el.querySelector(".tile-report").href = wall.dataset.signalementUrl +
          "?camera=" + encodeURIComponent(this.camera.code) + "&at=" + Math.round(captured);
      }
      if (this.el.dataset.state !== "live") this.setState("live");
    }
  }

  function select(index) {
    selected = index;
    tiles.forEach((t, i) => t.el.classList.toggle("selected", i === index));
  }

  function layout(count) {
    while (tiles.length > count) { const t = tiles.pop(); t.stopTour(); t.stop(); t.el.remove(); }
    while (tiles.length < count) { const t = new Tile(tiles.length); tiles.push(t); wall.appendChild(t.el); }
    wall.dataset.layout = String(count);
    document.querySelectorAll(".wall-layout").forEach((b) =>
      b.setAttribute("aria-pressed", String(b.dataset.layout === String(count))));
    select(Math.min(selected, count - 1));
  }

  // This station remembers its last wall (layout and cameras) in the browser.
  function save() {
    const state = { layout: tiles.length, cameras: tiles.map((t) => (t.camera ? t.camera.code : null)) };
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function restore() {
    let state = null;
    try { state = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { state = null; }
    const count = state && [1, 4, 9, 16].includes(state.layout) ? state.layout : 4;
    layout(count);
    if (state && Array.isArray(state.cameras)) {
      state.cameras.slice(0, count).forEach((code, i) => { if (byCode.has(code)) tiles[i].show(byCode.get(code)); });
    }
  }

  document.getElementById("wall-tour-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const typed = document.getElementById("wall-tour-cameras").value.split(/[ ,]+/).filter(Boolean);
    const list = typed.length ? typed.map((n) => byNumber.get(Number(n))).filter(Boolean) : cameras;
    const seconds = Math.min(600, Math.max(3, Number(document.getElementById("wall-tour-seconds").value) || 10));
    tiles[selected].startTour(list, seconds);
  });

  // --- Saved walls: this person's layouts, and the presets of the station's room. ---
  const saved = JSON.parse(document.getElementById("wall-saved-data").textContent);
  const ROOM_STORE = "csu.wall.room";
  const roomSelect = document.getElementById("wall-room");
  const savedList = document.getElementById("wall-saved-list");
  const nameInput = document.getElementById("wall-saved-name");
  const savedMessage = document.getElementById("wall-saved-message");
  const csrf = document.querySelector("#wall-saved [name=csrfmiddlewaretoken]").value;

  function say(text, bad) {
    savedMessage.textContent = text;
    savedMessage.className = bad ? "bad" : "ok";
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (m, key) => values[key]);
  }

  function currentRoom() { return roomSelect.value ? Number(roomSelect.value) : null; }

  function listSaved(selectId) {
    savedList.innerHTML = "";
    const groups = [[labels.mine, saved.mine]];
    if (currentRoom() !== null) groups.push([labels.presets, saved.presets.filter((p) => p.room === currentRoom())]);
    groups.forEach(([title, entries]) => {
      if (!entries.length) return;
      const group = document.createElement("optgroup");
      group.label = title;
      entries.forEach((entry) => {
        const option = document.createElement("option");
        option.value = String(entry.id);
        option.textContent = entry.name + " (" + entry.size + ")";
        option.selected = entry.id === selectId;
        group.appendChild(option);
      });
      savedList.appendChild(group);
    });
    if (!savedList.options.length) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = labels.none;
      savedList.appendChild(option);
    }
  }

  function chosen() {
    const id = Number(savedList.value);
    return saved.mine.find((x) => x.id === id) || saved.presets.find((x) => x.id === id) || null;
  }

  // The wall as it stands: one entry per tile, a camera, a tour, or nothing.
  function describe() {
    return tiles.map((t) => {
      if (t.tourCodes) return { tour: t.tourCodes, seconds: t.tourSeconds };
      return { camera: t.camera ? t.camera.code : t.refused || null };
    });
  }

  function apply(entry) {
    layout(entry.size);
    entry.tiles.forEach((tile, i) => {
      const t = tiles[i];
      if (tile.tour && tile.tour.length) {
        const list = tile.tour.map((code) => byCode.get(code)).filter(Boolean);
        if (list.length) t.startTour(list, tile.seconds); else t.refuse(tile.tour[0]);
      } else if (!tile.camera) {
        t.stopTour(); t.show(null);
      } else if (byCode.has(tile.camera)) {
        t.show(byCode.get(tile.camera));
      } else {
        t.refuse(tile.camera);
      }
    });
    save();
    say(fill(labels.loaded, { name: entry.name }));
  }

  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const errors = typeof data === "object" ? Object.values(data).flat().join(" ") : String(data);
      throw new Error(errors || String(response.status));
    }
    return data;
  }

  function replace(entry) {
    const list = entry.room === null ? saved.mine : saved.presets;
    const at = list.findIndex((x) => x.id === entry.id);
    if (at >= 0) list[at] = entry; else list.push(entry);
    list.sort((a, b) => a.name.localeCompare(b.name, "fr"));
    listSaved(entry.id);
  }

  async function store(asPreset) {
    const name = nameInput.value.trim();
    if (!name) { say(labels.need_name, true); return; }
    if (asPreset && currentRoom() === null) { say(labels.need_room, true); return; }
    const body = { name, size: tiles.length, tiles: describe() };
    const same = (asPreset ? saved.presets.filter((p) => p.room === currentRoom()) : saved.mine)
      .find((x) => x.name === name);
    try {
      let entry;
      if (asPreset) {
        body.room = currentRoom();
        entry = same ? await call("PUT", saved.presets_url + same.id + "/", body)
          : await call("POST", saved.presets_url, body);
      } else {
        entry = same ? await call("PUT", saved.layouts_url + same.id + "/", body)
          : await call("POST", saved.layouts_url, body);
      }
      replace(entry);
      say(fill(labels.saved, { name: entry.name }));
    } catch (error) { say(fill(labels.failed, { error: error.message }), true); }
  }

  function urlOf(entry) { return (entry.room === null ? saved.layouts_url : saved.presets_url) + entry.id + "/"; }

  document.getElementById("wall-save").addEventListener("click", () => store(false));
  const presetButton = document.getElementById("wall-save-preset");
  if (presetButton) presetButton.addEventListener("click", () => store(true));
  document.getElementById("wall-load").addEventListener("click", () => {
    const entry = chosen();
    if (entry) apply(entry); else say(labels.pick, true);
  });
  document.getElementById("wall-rename").addEventListener("click", async () => {
    const entry = chosen();
    if (!entry) { say(labels.pick, true); return; }
    if (entry.room !== null && !saved.can_edit_presets) { say(labels.not_yours, true); return; }
    const name = nameInput.value.trim();
    if (!name) { say(labels.need_name, true); return; }
    try { replace(await call("PATCH", urlOf(entry), { name })); say(labels.renamed); }
    catch (error) { say(fill(labels.failed, { error: error.message }), true); }
  });
  document.getElementById("wall-delete").addEventListener("click", async () => {
    const entry = chosen();
    if (!entry) { say(labels.pick, true); return; }
    if (entry.room !== null && !saved.can_edit_presets) { say(labels.not_yours, true); return; }
    if (!window.confirm(fill(labels.confirm_delete, { name: entry.name }))) return;
    try {
      await call("DELETE", urlOf(entry));
      const list = entry.room === null ? saved.mine : saved.presets;
      list.splice(list.indexOf(entry), 1);
      listSaved(null);
      say(fill(labels.deleted, { name: entry.name }));
    } catch (error) { say(fill(labels.failed, { error: error.message }), true); }
  });
  savedList.addEventListener("change", () => { const entry = chosen(); if (entry) nameInput.value = entry.name; });
  // The station's room is remembered in this browser, as its last wall is.
  roomSelect.addEventListener("change", () => {
    try { localStorage.setItem(ROOM_STORE, roomSelect.value); } catch (e) { /* private mode */ }
    listSaved(null);
  });
  let room = null;
  try { room = localStorage.getItem(ROOM_STORE); } catch (e) { room = null; }
  if (room && saved.rooms.some((r) => String(r.id) === room)) roomSelect.value = room;
  listSaved(null);
  document.getElementById("wall-tour-stop").addEventListener("click", () => tiles[selected].stopTour());

  document.querySelectorAll(".wall-layout").forEach((button) =>
    button.addEventListener("click", () => { layout(Number(button.dataset.layout)); save(); }));

  document.querySelectorAll("#wall-cameras li[data-code]").forEach((item) => {
    item.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/plain", item.dataset.code));
    item.addEventListener("click", () => { tiles[selected].show(byCode.get(item.dataset.code)); save(); });
  });

  // Control-room keyboard: the camera's number, then Enter, into the selected tile.
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select")) return;
    if (/^[0-9]$/.test(e.key)) { typed = (typed + e.key).slice(-4); }
    else if (e.key === "Enter" && typed) {
      const camera = byNumber.get(Number(typed));
      if (camera) { tiles[selected].show(camera); save(); typed = ""; }
      else { keysEl.textContent = labels.unknown_number.replace("%(n)s", typed); typed = ""; return; }
    } else if (e.key === "Escape" || e.key === "Backspace") { typed = ""; }
    else if (e.key === "ArrowRight") { select((selected + 1) % tiles.length); }
    else if (e.key === "ArrowLeft") { select((selected + tiles.length - 1) % tiles.length); }
    else return;
    keysEl.textContent = typed;
  });

  setInterval(() => {
    // A tile whose picture stopped says so even before the server does.
    const now = Date.now();
    tiles.forEach((t) => {
      if (t.el.dataset.state === "live" && t.lastPaint && now - t.lastPaint > 3000) t.setState("reconnecting");
    });
  }, 1000);

  window.csuWall = { tiles, layout, select, describe };
  restore();
  // Opened from elsewhere (the camera map) for one camera: it comes into the selected tile.
  const asked = new URLSearchParams(location.search).get("camera");
  if (asked && byCode.has(asked)) { tiles[selected].show(byCode.get(asked)); save(); }
})();
