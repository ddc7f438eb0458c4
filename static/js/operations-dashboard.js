// The room's dashboard refreshes itself: it fetches the JSON every 15 s and rewrites the lists.
(function () {
  "use strict";
  var PERIOD_MS = 15000;
  var status = document.getElementById("dash-status");
  var labels = JSON.parse(document.getElementById("dash-labels").textContent);
  var url = status.dataset.url;
  var signalementUrl = status.dataset.signalementUrl;
  var cameraUrl = status.dataset.cameraUrl;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function link(href, text) {
    var a = el("a", text);
    a.href = href;
    return a;
  }
  function time(iso, withDate) {
    if (!iso) return "—";
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    return withDate === false ? hm : pad(d.getDate()) + "/" + pad(d.getMonth() + 1) + " " + hm;
  }
  function fill(id, items, render, emptyText, columns) {
    var target = document.getElementById(id);
    var nodes = items.map(render);
    if (!nodes.length) {
      if (columns) {
        var row = el("tr");
        var cell = el("td", emptyText, "muted");
        cell.colSpan = columns;
        row.appendChild(cell);
        nodes = [row];
      } else {
        nodes = [el("li", emptyText, id === "dash-on-duty" ? "bad" : "muted")];
      }
    }
    target.replaceChildren.apply(target, nodes);
  }
  function row(cells, className) {
    var tr = el("tr", null, className);
    cells.forEach(function (c) {
      var td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    });
    return tr;
  }
  function text(id, value) { document.getElementById(id).textContent = value; }

  function render(data) {
    text("dash-on-duty-count", data.on_duty.length);
    fill("dash-on-duty", data.on_duty, function (s) {
      return el("li", s.operator + " — " + labels.since + " " + time(s.started_at));
    }, labels.nobody);
    fill("dash-planned", data.planned, function (p) {
      return el("li", p.operator + " — " + time(p.starts_at) + " → " + time(p.ends_at));
    }, labels.noSlot);
    text("dash-cameras", data.cameras_in_service);
    fill("dash-health-counts", Object.keys(data.health_counts).sort().map(function (k) {
      return [k, data.health_counts[k]];
    }), function (pair) {
      return el("li", pair[1].label + " : " + pair[1].count, "health-" + pair[0]);
    }, "—");
    fill("dash-failing", data.failing_cameras, function (c) {
      var name = el("span");
      name.appendChild(link(cameraUrl + encodeURIComponent(c.code) + "/", c.code));
      name.appendChild(document.createTextNode(" — " + c.name));
      return row([name, c.sector, c.status_label, time(c.checked_at)], "health-" + c.status);
    }, labels.allOk, 4);
    text("dash-open-count", data.open_count);
    fill("dash-open", data.open_signalements, function (s) {
      return row([link(signalementUrl + s.number + "/", s.number), s.category_label,
        time(s.occurred_at), s.location, s.author]);
    }, labels.noOpen, 5);
    text("dash-recording-count", data.recording_alert_count);
    fill("dash-recording", data.recording_alerts, function (c) {
      return row([c.code + " — " + c.name, labels[c.state] || c.state, time(c.last_segment_at)], "bad");
    }, labels.allRecorded, 3);
    text("dash-req-export", data.requisitions_to_export);
    text("dash-req-release", data.requisitions_to_release);
    var requisitions = document.getElementById("dash-requisitions");
    if (requisitions) {
      fill("dash-requisitions", data.requisitions_waiting, function (r) {
        return row([link(requisitions.dataset.url + r.id + "/", r.reference), r.service,
          r.status_label, time(r.waiting_since), time(r.footage_expires_at)]);
      }, labels.noRequisition, 5);
    }
    text("dash-updated", time(data.now, false) + ":" + String(new Date(data.now).getSeconds()).padStart(2, "0"));
    status.classList.remove("bad");
  }

  function refresh() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(render)
      .catch(function () {
        status.classList.add("bad");
        status.title = labels.stale + " " + document.getElementById("dash-updated").textContent;
      });
  }
  window.setInterval(refresh, PERIOD_MS);
})();
