// The alarm queue with the keyboard: j or ↓ moves to the next alarm, k or ↑ to the previous one,
// a opens the acknowledgement comment of the alarm in focus, Enter submits it, Escape cancels.
// While a comment is being typed the queue's automatic refresh waits, so nothing typed is lost;
// after a refresh the focus stays on the same alarm. The sound option (kept in this browser)
// plays a short tone, made here with WebAudio, when a new urgent alarm appears.
(function () {
  "use strict";
  var QUEUE = "#dash-alarms";
  var SOUND_KEY = "csu.alarm-sound";
  var focusedAlarm = null;
  var heard = null; // ids of urgent new alarms already announced
  var audio = null;

  function queue() {
    return document.querySelector(QUEUE);
  }

  function alarms() {
    var q = queue();
    return q ? Array.prototype.slice.call(q.querySelectorAll("li.alarm[data-alarm]")) : [];
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("li.alarm[data-alarm]") : null;
  }

  function move(step) {
    var list = alarms();
    if (!list.length) return;
    var index = list.indexOf(current());
    var next = index < 0 ? (step > 0 ? 0 : list.length - 1) : index + step;
    next = Math.max(0, Math.min(list.length - 1, next));
    list[next].focus();
  }

  function openAcknowledgement() {
    var alarm = current() || alarms()[0];
    if (!alarm) return;
    var details = alarm.querySelector("details.alarm-ack-form");
    if (!details) {
      alarm.focus();
      return;
    }
    details.open = true;
    var field = details.querySelector("input[name=comment]");
    if (field) field.focus();
  }

  // Keys typed into a field are the field's; a checkbox or a button leaves them to the queue.
  var NOT_TYPED = ["checkbox", "radio", "button", "submit", "reset"];

  function typing(target) {
    var tag = target && target.tagName;
    if (tag === "INPUT") return NOT_TYPED.indexOf(target.type) < 0;
    return tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (!queue() || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (event.key === "Escape" && target.closest && target.closest("details.alarm-ack-form")) {
      var details = target.closest("details.alarm-ack-form");
      details.open = false;
      var alarm = details.closest("li.alarm");
      if (alarm) alarm.focus();
      event.preventDefault();
      return;
    }
    if (typing(target)) return;
    var inQueue = current() !== null;
    if (event.key === "j" || (inQueue && event.key === "ArrowDown")) {
      move(1);
    } else if (event.key === "k" || (inQueue && event.key === "ArrowUp")) {
      move(-1);
    } else if (event.key === "a") {
      openAcknowledgement();
    } else {
      return;
    }
    event.preventDefault();
  });

  // A refresh waits while a comment is open or being typed in the queue.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var q = queue();
    if (!q || event.detail.elt !== q) return;
    var active = document.activeElement;
    if (q.querySelector("details.alarm-ack-form[open]") || (typing(active) && q.contains(active))) {
      event.preventDefault();
      return;
    }
    var alarm = current();
    focusedAlarm = alarm ? alarm.getAttribute("data-alarm") : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var q = queue();
    if (!q || event.detail.elt !== q) return;
    if (focusedAlarm) {
      var again = q.querySelector('li.alarm[data-alarm="' + focusedAlarm + '"]');
      if (again) again.focus();
      focusedAlarm = null;
    }
    announce();
  });

  // --- Sound --------------------------------------------------------------------------------

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (e) {
      return false;
    }
  }

  function tone() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
    var start = audio.currentTime;
    [0, 0.3].forEach(function (delay) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + delay);
      gain.gain.exponentialRampToValueAtTime(0.3, start + delay + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + delay + 0.22);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + delay);
      oscillator.stop(start + delay + 0.25);
    });
  }

  function urgentIds() {
    var q = queue();
    if (!q) return [];
    return Array.prototype.map.call(q.querySelectorAll("li.alarm[data-urgent-new]"), function (li) {
      return li.getAttribute("data-alarm");
    });
  }

  function announce() {
    var ids = urgentIds();
    var fresh = heard === null ? [] : ids.filter(function (id) { return heard.indexOf(id) < 0; });
    heard = ids;
    var q = queue();
    if (q) q.setAttribute("data-announced", String(fresh.length));
    if (fresh.length && soundOn()) tone();
  }

  document.addEventListener("DOMContentLoaded", function () {
    announce();
    var box = document.getElementById("alarm-sound");
    if (!box) return;
    box.checked = soundOn();
    var label = box.closest("label");
    if (label) label.hidden = false;
    box.addEventListener("change", function () {
      try {
        window.localStorage.setItem(SOUND_KEY, box.checked ? "on" : "off");
      } catch (e) {
        box.checked = false;
        return;
      }
      if (box.checked) tone(); // a click allows the browser to play; the tone says it works
    });
  });
})();
