"""Every page and endpoint of the room's operations, for every kind of visitor."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.roles import Role
from operations.models import Alarm, AlarmKind, AlarmPriority, Category, RotaSlot, Shift
from operations.services import signalement_create
from operations.views import DASHBOARD_PARTS
from tests.factories import UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

STAFF = [Role.OPERATOR, Role.SUPERVISOR]
MANAGERS = [Role.SUPERVISOR]
STATS = [Role.SUPERVISOR, Role.ADMIN, Role.DPO]


@pytest.fixture
def signalement(operator):
    return signalement_create(
        actor=operator,
        category=Category.ACCIDENT,
        occurred_at=timezone.now(),
        location="Place du Palais de Justice",
        description="Accrochage entre deux voitures.",
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/exploitation/", STAFF),
        *[(f"/exploitation/tableau/{part}/", STAFF) for part in DASHBOARD_PARTS],
        ("/exploitation/alarmes/", STAFF),
        ("/exploitation/alarmes/historique/", MANAGERS),
        ("/exploitation/alarmes/historique/?state=acquittee&kind=camera_health", MANAGERS),
        ("/exploitation/vacations/", STAFF),
        ("/exploitation/planning/", STAFF),
        ("/exploitation/signalements/", STAFF),
        ("/exploitation/signalements/?format=csv", STAFF),
        ("/exploitation/signalements/nouveau/", STAFF),
        ("/exploitation/statistiques/", STATS),
        ("/exploitation/statistiques/graphique/active_hours.png", STATS),
        ("/exploitation/statistiques/graphique/signalements.png", STATS),
        ("/exploitation/statistiques/graphique/availability.png", STATS),
        ("/exploitation/statistiques/graphique/requisitions.png", STATS),
        (f"/exploitation/statistiques/rapport-{timezone.localdate().year}.pdf", STATS),
    ],
)
def test_pages(path, allowed):
    check_matrix(url=path, allowed=allowed)


def test_signalement_page(signalement):
    check_matrix(url=f"/exploitation/signalements/{signalement.number}/", allowed=STAFF)
    check_matrix(
        url=f"/exploitation/signalements/{signalement.number}/",
        method="post",
        data={"action": "note", "text": "Dépanneuse arrivée."},
        allowed=STAFF,
        ok=(302,),
    )


def test_quick_entry_post():
    check_matrix(
        url="/exploitation/signalements/nouveau/",
        method="post",
        data={
            "category": Category.FIRE,
            "location": "Rue de Boigne",
            "description": "Fumée au 2e étage.",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
        allowed=STAFF,
        ok=(302,),
    )


def test_clock_in_and_out_pages():
    check_matrix(url="/exploitation/vacations/prise/", method="post", allowed=STAFF, ok=(302,))
    check_matrix(
        url="/exploitation/vacations/fin/",
        method="post",
        data={"confirm": "1"},
        allowed=STAFF,
        ok=(302,),
    )
    # The confirmation page, only with a shift open: without, back to the shifts' page.
    check_matrix(url="/exploitation/vacations/fin/", allowed=STAFF, ok=(302,))


def test_supervisor_pages():
    def open_shift_url() -> str:
        shift = Shift.objects.create(
            operator=UserFactory(role=Role.OPERATOR),
            started_at=timezone.now() - timezone.timedelta(hours=3),
        )
        return f"/exploitation/vacations/{shift.pk}/cloturer/"

    check_matrix(url=open_shift_url, allowed=MANAGERS)
    check_matrix(
        url=open_shift_url,
        method="post",
        data={"ended_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "reason": "Oubli."},
        allowed=MANAGERS,
        ok=(302,),
    )
    start = timezone.localtime() + timezone.timedelta(days=1)
    check_matrix(
        url="/exploitation/planning/",
        method="post",
        data=lambda: {
            "operator": UserFactory(role=Role.OPERATOR).pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timezone.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        },
        allowed=MANAGERS,
        ok=(302,),
    )

    def slot_url() -> str:
        slot = RotaSlot.objects.create(
            operator=UserFactory(role=Role.OPERATOR),
            starts_at=start,
            ends_at=start + timezone.timedelta(hours=8),
            created_by=UserFactory(role=Role.SUPERVISOR),
        )
        return f"/exploitation/planning/{slot.pk}/retirer/"

    check_matrix(url="/exploitation/planning/generer/", allowed=MANAGERS)
    first = timezone.localdate() + timezone.timedelta(days=400)
    check_matrix(
        url="/exploitation/planning/generer/",
        method="post",
        data=lambda: {
            "first": first.isoformat(),
            "last": first.isoformat(),
            "operators": [UserFactory(role=Role.OPERATOR).pk for _ in range(6)],
            "pattern": "6-14 14-22 22-6",
            "create": "1",
        },
        allowed=MANAGERS,
        ok=(302,),
    )
    check_matrix(url=slot_url, allowed=MANAGERS)
    check_matrix(url=slot_url, method="post", data={"confirm": "1"}, allowed=MANAGERS, ok=(302,))


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/operations/statistics/?start=2025-01-01&end=2025-12-31", STATS),
        ("/api/operations/signalements/", STAFF),
        ("/api/alarms/", STAFF),
        ("/api/alarms/?state=nouvelle&priority=3", STAFF),
        ("/api/operations/rota/", STAFF),
    ],
)
def test_api_reads(path, allowed):
    check_matrix(url=path, allowed=allowed, api=True)


def test_api_signalement_detail_and_create(signalement):
    check_matrix(url=f"/api/operations/signalements/{signalement.number}/", allowed=STAFF, api=True)
    check_matrix(
        url="/api/operations/signalements/",
        method="post",
        data={"category": "incendie", "location": "Gare", "description": "Poubelle en feu."},
        allowed=STAFF,
        api=True,
        ok=(201,),
    )


def test_api_clock_in_and_out():
    check_matrix(
        url="/api/operations/shifts/clock-in/", method="post", allowed=STAFF, api=True, ok=(201,)
    )
    check_matrix(
        url="/api/operations/shifts/clock-out/",
        method="post",
        allowed=STAFF,
        api=True,
        ok=(200, 400),
    )


# --- Links between signalements and requisitions ------------------------------------------------


@pytest.fixture
def approved_requisition(tmp_path, settings, magistrate):
    """A requisition of another service, approved: supervisors and magistrates see it."""
    from datetime import timedelta

    from tests.cameras.factories import CameraFactory
    from tests.evidence.factories import RequisitionFactory
    from tests.permissions import make_person

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    camera = CameraFactory(code="CAM-MATRIX")
    end = timezone.now() - timedelta(minutes=5)
    return RequisitionFactory(
        procedure_number="2026/MATRIX",
        camera=camera,
        starts_at=end - timedelta(minutes=10),
        ends_at=end,
        actor=make_person(Role.OPJ),
        approved_by=magistrate,
    )


def test_signalement_page_link_and_unlink(signalement, approved_requisition):
    from operations.models import RequisitionLink

    url = f"/exploitation/signalements/{signalement.number}/"
    check_matrix(
        url=url,
        method="post",
        data={"action": "link", "requisition": approved_requisition.reference},
        allowed=MANAGERS,
        ok=(302,),
    )

    def linked() -> dict:
        RequisitionLink.objects.get_or_create(
            signalement=signalement,
            requisition=approved_requisition,
            defaults={"linked_at": timezone.now()},
        )
        return {"action": "unlink", "requisition": approved_requisition.pk}

    check_matrix(url=url, method="post", data=linked, allowed=MANAGERS, ok=(302,))


def test_api_links(signalement, approved_requisition):
    from operations.models import RequisitionLink

    base = f"/api/operations/requisitions/{approved_requisition.pk}/signalements/"
    check_matrix(
        url=f"/api/operations/signalements/{signalement.number}/requisitions/",
        allowed=STAFF,
        api=True,
    )
    # A fresh OPJ belongs to another service: the requisition is outside its scope (404).
    check_matrix(
        url=base, allowed=[Role.MAGISTRATE, Role.SUPERVISOR], api=True, refused={Role.OPJ: 404}
    )
    check_matrix(
        url=base,
        method="post",
        data={"signalements": [signalement.number]},
        allowed=MANAGERS,
        api=True,
        ok=(201,),
        refused={Role.OPJ: 404},
    )

    def linked_url() -> str:
        RequisitionLink.objects.get_or_create(
            signalement=signalement,
            requisition=approved_requisition,
            defaults={"linked_at": timezone.now()},
        )
        return f"{base}{signalement.number}/"

    check_matrix(
        url=linked_url,
        method="delete",
        allowed=MANAGERS,
        api=True,
        ok=(204,),
        refused={Role.OPJ: 404},
    )


# --- Alarms -------------------------------------------------------------------------------------


def _alarm_id() -> int:
    now = timezone.now()
    return Alarm.objects.create(
        kind=AlarmKind.CAMERA_HEALTH,
        cause_key=f"matrix:{Alarm.objects.count()}",
        priority=AlarmPriority.URGENT,
        title="Caméra CAM-MATRIX : injoignable",
        first_seen_at=now,
        last_seen_at=now,
    ).pk


def test_alarm_acknowledge_and_close_pages():
    check_matrix(
        url=lambda: f"/exploitation/alarmes/{_alarm_id()}/acquitter/",
        method="post",
        data={"comment": "Technicien appelé."},
        allowed=STAFF,
        ok=(302,),
    )
    check_matrix(
        url=lambda: f"/exploitation/alarmes/{_alarm_id()}/clore/",
        method="post",
        allowed=STAFF,
        ok=(302,),
    )


def test_api_alarm_acknowledge_and_close():
    check_matrix(
        url=lambda: f"/api/alarms/{_alarm_id()}/acknowledge/",
        method="post",
        data={"comment": "Technicien appelé."},
        allowed=STAFF,
        api=True,
    )
    check_matrix(
        url=lambda: f"/api/alarms/{_alarm_id()}/close/",
        method="post",
        data={},
        allowed=STAFF,
        api=True,
    )


def test_api_rota_slot_add():
    start = timezone.now() + timezone.timedelta(days=2)
    check_matrix(
        url="/api/operations/rota/",
        method="post",
        data=lambda: {
            "operator": UserFactory(role=Role.OPERATOR).username,
            "starts_at": start.isoformat(),
            "ends_at": (start + timezone.timedelta(hours=8)).isoformat(),
        },
        allowed=MANAGERS,
        api=True,
        ok=(201,),
    )


def test_api_service_arrived():
    def url() -> str:
        signalement = signalement_create(
            actor=UserFactory(role=Role.OPERATOR),
            category=Category.FIRE,
            occurred_at=timezone.now(),
            location="Gare",
            description="Fumée.",
            services=["samu"],
        )
        return f"/api/operations/signalements/{signalement.number}/services/samu/arrived/"

    check_matrix(url=url, method="post", allowed=STAFF, api=True, ok=(200,))
