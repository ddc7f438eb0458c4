"""Scheduled housekeeping: expired playback files and expired sessions go without waiting for
someone's next playback or sign-in."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from audit.models import AuditEvent
from compliance.registers import REGISTERS
from csu.celery import app
from recordings import playback, tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    settings.RECORDING_PLAYBACK_TOKEN_SECONDS = 900
    return playback.playback_folder()


def _file(folder, name: str, age_seconds: float):
    path = folder / f"{name}.csuseg"
    path.write_bytes(b"CSUSEG encrypted playback")
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))
    return path


def test_the_scheduled_sweep_deletes_only_the_files_of_expired_playbacks(folder):
    expired = _file(folder, "expired-token", 900 + 120)
    current = _file(folder, "current-token", 60)
    unrelated = folder / "notes.txt"
    unrelated.write_text("not a playback")

    assert tasks.sweep_playback_files() == 1

    assert not expired.exists()
    assert current.exists() and unrelated.exists()
    assert tasks.sweep_playback_files() == 0


def test_the_sweep_leaves_one_register_entry_per_run_that_deleted_files(folder):
    older = _file(folder, "older", 3 * 3600)
    newer = _file(folder, "newer", 1800)
    _file(folder, "valid", 600)
    now = time.time()

    assert playback.playback_files_sweep(now=now) == 2

    event = AuditEvent.objects.get(action="recording.playback_files_destroyed")
    assert event.details["files"] == 2
    assert event.details["bytes"] == 2 * len(b"CSUSEG encrypted playback")
    oldest = datetime.fromisoformat(event.details["oldest"])
    newest = datetime.fromisoformat(event.details["newest"])
    assert abs(oldest.timestamp() - (now - 3 * 3600)) < 5
    assert abs(newest.timestamp() - (now - 1800)) < 5
    assert not older.exists() and not newer.exists()
    rows = REGISTERS["fichiers-derives"].rows(None, None)
    assert [row[1] for row in rows] == ["Fichier de relecture"]
    assert rows[0][3] == str(event.details["bytes"])
    assert rows[0][2].startswith("2 fichiers écrits")
    # Nothing to delete: no entry.
    assert playback.playback_files_sweep(now=now) == 0
    assert AuditEvent.objects.filter(action="recording.playback_files_destroyed").count() == 1
    # The valid one goes once its token has expired too.
    assert playback.playback_files_sweep(now=now + 900) == 1


def test_the_scheduled_cleanup_deletes_expired_sessions_and_their_playback_keys():
    expired = SessionStore()
    expired[playback.SESSION_KEY] = {"token": {"key": "b25lLW9mZiBrZXk="}}
    expired.set_expiry(1)
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=5)
    )
    alive = SessionStore()
    alive["user"] = "chef"
    alive.create()

    assert tasks.clear_expired_sessions() == 1

    assert set(Session.objects.values_list("session_key", flat=True)) == {alive.session_key}
    assert tasks.clear_expired_sessions() == 0


@pytest.mark.parametrize(
    ("entry", "task"),
    [
        ("recordings-sweep-playback-files", "recordings.tasks.sweep_playback_files"),
        ("recordings-clear-expired-sessions", "recordings.tasks.clear_expired_sessions"),
    ],
)
def test_beat_runs_the_housekeeping_with_an_expiry(entry, task):
    scheduled = app.conf.beat_schedule[entry]
    assert scheduled["task"] == task and task in app.tasks
    assert scheduled["options"]["expires"] > 0
