"""Scheduled housekeeping: expired playback files and expired sessions go without waiting for
someone's next playback or sign-in."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

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
