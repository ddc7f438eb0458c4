"""The server's clock dates every recorded image: it is checked on a schedule against an NTP
server (a real one, answering on this machine) or through the system's synchronization state,
every check is kept, and an offset beyond the tolerance is an alert, audited when it starts and
when it ends."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from audit.models import AuditEvent
from csu.celery import app
from recordings import clock, tasks
from recordings.models import ClockCheck, ClockSource
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NTP_EPOCH = 2_208_988_800  # seconds from 1900 to 1970


class NtpServer:
    """A minimal SNTP server on 127.0.0.1 whose clock runs ``ahead`` seconds ahead of ours."""

    def __init__(self) -> None:
        self.ahead = 0.0
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _stamp(seconds: float) -> tuple[int, int]:
        value = seconds + NTP_EPOCH
        return int(value), int((value % 1) * 2**32)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                request, peer = self.socket.recvfrom(512)
            except TimeoutError:
                continue
            received = time.time() + self.ahead
            originate = request[40:48]
            reply = struct.pack(
                "!BBbbII4s", (0 << 6) | (4 << 3) | 4, 2, 6, -20, 0, 0, b"TEST"
            )  # leap 0, version 4, server mode, stratum 2
            reply += struct.pack("!II", *self._stamp(received))  # reference
            reply += originate
            reply += struct.pack("!II", *self._stamp(received))
            reply += struct.pack("!II", *self._stamp(time.time() + self.ahead))
            self.socket.sendto(reply, peer)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.socket.close()


@pytest.fixture
def ntp_server(settings) -> Iterator[NtpServer]:
    server = NtpServer()
    settings.NTP_SERVER = f"127.0.0.1:{server.port}"
    yield server
    server.stop()


def test_a_server_clock_two_seconds_behind_ntp_raises_the_alert_then_its_end(ntp_server, settings):
    settings.CLOCK_MAX_OFFSET_MS = 500
    ntp_server.ahead = 2.0  # the reference is 2 s ahead: our clock is 2 s behind
    tasks.check_server_clock()
    check = ClockCheck.objects.get()
    assert check.source == ClockSource.NTP
    assert check.offset_ms == pytest.approx(-2000, abs=100)
    assert check.alert
    started = AuditEvent.objects.get(action="recording.clock_alert")
    assert started.details["offset_ms"] == pytest.approx(-2000, abs=100)
    # Still off at the next check: no second event.
    tasks.check_server_clock()
    assert AuditEvent.objects.filter(action="recording.clock_alert").count() == 1
    ntp_server.ahead = 0.0
    tasks.check_server_clock()
    latest = ClockCheck.objects.order_by("-checked_at", "-pk").first()
    assert latest is not None and not latest.alert
    assert abs(latest.offset_ms or 0) < 100
    assert AuditEvent.objects.filter(action="recording.clock_recovered").count() == 1
    assert ClockCheck.objects.count() == 3  # every check is kept


def test_an_unreachable_ntp_server_is_an_alert_not_a_silence(settings):
    settings.NTP_SERVER = "127.0.0.1:9"  # discard port: no NTP answer
    check = clock.server_clock_check()
    assert check.alert and check.offset_ms is None
    assert "injoignable" in check.detail
    assert AuditEvent.objects.filter(action="recording.clock_alert").exists()


class _Timex:
    def __init__(self, status: int, offset: int = 0, esterror: int = 0, maxerror: int = 0):
        self.status, self.offset, self.esterror, self.maxerror = status, offset, esterror, maxerror


def test_without_ntp_server_the_kernel_state_is_read_and_unsynchronized_alerts(settings):
    unsynced = clock.kernel_reading(_Timex(clock.STA_UNSYNC), 5)
    assert unsynced.synchronized is False and unsynced.offset_ms is None
    synced = clock.kernel_reading(_Timex(0, offset=1500, esterror=3000, maxerror=9000), 0)
    assert synced.synchronized and synced.offset_ms == 1.5 and synced.error_ms == 3.0
    nano = clock.kernel_reading(_Timex(clock.STA_NANO, offset=2_000_000), 0)
    assert nano.offset_ms == 2.0
    assert clock.clock_check_record(reading=unsynced).alert
    assert not clock.clock_check_record(reading=synced).alert
    # On this machine, whatever its state, the check states a source and never fails.
    settings.NTP_SERVER = ""
    check = clock.server_clock_check()
    assert check.source in (ClockSource.CHRONY, ClockSource.KERNEL, ClockSource.UNKNOWN)


def test_chrony_tracking_is_read():
    output = (
        "Reference ID    : C0A80101 (ntp.mairie.example)\n"
        "Stratum         : 3\n"
        "System time     : 0.000731000 seconds slow of NTP time\n"
        "Root delay      : 0.020000000 seconds\n"
        "Root dispersion : 0.001000000 seconds\n"
        "Leap status     : Normal\n"
    )
    reading = clock.chrony_reading(output)
    assert reading is not None and reading.synchronized
    assert reading.offset_ms == pytest.approx(-0.731)
    assert reading.error_ms == pytest.approx(11.0)
    lost = clock.chrony_reading(output.replace("Normal", "Not synchronised"))
    assert lost is not None and lost.synchronized is False and lost.offset_ms is None


def test_the_check_is_on_the_beat_schedule(settings):
    entry = app.conf.beat_schedule["recordings-check-server-clock"]
    assert entry["task"] == "recordings.tasks.check_server_clock"
    assert entry["options"]["expires"] > 0


def test_the_supervisor_sees_the_clock_alert_on_the_dashboard(supervisor, signed_in, ntp_server):
    ntp_server.ahead = 3.0
    clock.server_clock_check()
    part = signed_in(supervisor).get("/exploitation/tableau/enregistrement/").content.decode()
    assert 'id="server-clock-alert"' in part
    assert "-3" in part.replace("\u2212", "-")


def test_the_administrator_sees_the_clock_alert_on_the_health_board(signed_in, ntp_server):
    admin = UserFactory(role="admin")
    ntp_server.ahead = 3.0
    clock.server_clock_check()
    page = signed_in(admin).get("/cameras/sante/").content.decode()
    assert "Horloge du serveur hors tolérance" in page
    ntp_server.ahead = 0.0
    clock.server_clock_check()
    page = signed_in(admin).get("/cameras/sante/").content.decode()
    assert "Horloge du serveur hors tolérance" not in page
