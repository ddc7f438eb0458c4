"""Every list page and API list runs as many queries for twelve rows as for two.

Each case signs in a role that sees the list, asks for it once (caches filled), counts the
queries of the list with two rows, adds ten rows and counts again: an N+1 shows as a difference.
The rows' markers must all be shown, so that a list that shows nothing cannot pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Commune, home_commune
from accounts.roles import Role
from audit.services import record
from cameras import services as camera_services
from compliance import breaches
from compliance import services as compliance_services
from evidence import services as evidence_services
from operations import services as operations_services
from operations.models import (
    Alarm,
    AlarmKind,
    AlarmPriority,
    AlarmState,
    AlertedService,
    Category,
    RotaSlot,
    Shift,
)
from recordings.models import Hold
from tests.cameras.factories import AuthorizationFactory, CameraFactory, PrivacyMaskFactory
from tests.compliance import factories as registers
from tests.conftest import sign_in
from tests.evidence.conftest import PDF
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

SEQ = itertools.count(1)


def _n() -> int:
    return next(SEQ)


# --- Rows: each maker adds one row (with what the list shows of it) and returns its marker -----


def camera() -> str:
    code = f"CAM-Q{_n():03d}"
    PrivacyMaskFactory(
        camera=CameraFactory(code=code, sector=f"Secteur {code}"),
        author=UserFactory(role=Role.SUPERVISOR),
    )
    return code


def authorization() -> str:
    number = f"ARR-Q{_n():03d}"
    CameraFactory(authorization=AuthorizationFactory(number=number))
    return number


def authorization_alert() -> str:
    number = f"ARR-A{_n():03d}"
    today = timezone.localdate()
    expiring = AuthorizationFactory(
        number=number, issued_on=today - timedelta(days=1700), expires_on=today + timedelta(days=20)
    )
    CameraFactory(authorization=expiring)
    CameraFactory(authorization=expiring)
    camera_services.authorization_record_alert(authorization_id=expiring.pk)
    return number


def stopped_camera() -> str:
    """A camera stopped for want of an authorization (one stop in the history)."""
    code = f"CAM-S{_n():03d}"
    stopped = CameraFactory(code=code, authorization=None)
    camera_services.recording_authorizations_sync(camera_ids=[stopped.pk])
    return code


def expiring_authorization() -> str:
    today = timezone.localdate()
    number = f"ARR-Q{_n():03d}"
    CameraFactory(
        authorization=AuthorizationFactory(
            number=number,
            issued_on=today - timedelta(days=1800),
            expires_on=today + timedelta(days=30),
        )
    )
    return number


def requisition() -> str:
    code = camera()
    officer = UserFactory(role=Role.OPJ, service=ServiceFactory())
    number = f"PROC-{code}"
    evidence_services.requisition_submit(
        procedure_number=number,
        legal_frame="60-1",
        facts="Vol à l'arraché.",
        justification="Identifier l'auteur.",
        attachment_name="r.pdf",
        attachment_data=PDF,
        windows=[
            evidence_services.WindowRequest(
                code, timezone.now() - timedelta(hours=2), timezone.now() - timedelta(hours=1)
            )
        ],
        actor=officer,
    )
    return number


def handover() -> str:
    number = f"PROC-H{_n():03d}"
    at = timezone.now() - timedelta(days=1)
    dpo = UserFactory(role=Role.SUPERVISOR)
    registers.handover(registers.export(number, at, dpo), at, dpo)
    return number


def destruction() -> str:
    code = f"CAM-D{_n():03d}"
    registers.destruction(CameraFactory(code=code), timezone.now() - timedelta(days=1))
    return code


def hold() -> str:
    reason = f"Gel de contrôle {_n():03d}"
    author = UserFactory(role=Role.SUPERVISOR)
    now = timezone.now()
    Hold.objects.create(
        camera=CameraFactory(),
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=2),
        basis="manual",
        reason=reason,
        justification="Contrôle des listes.",
        created_by=author,
        created_by_name=author.get_full_name(),
        expires_at=now + timedelta(days=30),
    )
    return reason


def access_request() -> str:
    place = f"Place Saint-Léger {_n():03d}"
    start = timezone.now() - timedelta(hours=2)
    compliance_services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X1234",
        description="Manteau rouge.",
        place=place,
        starts_at=start,
        ends_at=start + timedelta(minutes=5),
        cameras=[CameraFactory()],
        actor=UserFactory(role=Role.DPO),
    )
    return place


def audit_event() -> str:
    label = f"Objet audité {_n():03d}"
    record("auth.login", actor=UserFactory(), target_type="accounts.user", target_label=label)
    return label


def shift() -> str:
    name = f"Vacataire{_n():03d}"
    now = timezone.now()
    Shift.objects.create(
        operator=UserFactory(role=Role.OPERATOR, last_name=name),
        started_at=now - timedelta(hours=1),
    )
    return name


def rota_slot() -> str:
    name = f"Planifie{_n():03d}"
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    RotaSlot.objects.create(
        operator=UserFactory(role=Role.OPERATOR, last_name=name),
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        created_by=UserFactory(role=Role.SUPERVISOR),
    )
    return name


def signalement() -> str:
    author = UserFactory(role=Role.OPERATOR)
    made = operations_services.signalement_create(
        actor=author,
        category=Category.ACCIDENT,
        occurred_at=timezone.now() - timedelta(minutes=_n()),
        location="Avenue de Lyon",
        description="Collision.",
        cameras=[CameraFactory()],
        services=[AlertedService.SAMU],
    )
    return made.number


def alarm() -> str:
    """An acknowledged alarm on a camera (the queue and the history show who acknowledged)."""
    title = f"Alarme Q{_n():03d}"
    now = timezone.now()
    Alarm.objects.create(
        kind=AlarmKind.CAMERA_HEALTH,
        cause_key=title,
        priority=AlarmPriority.URGENT,
        state=AlarmState.ACKNOWLEDGED,
        title=title,
        camera=CameraFactory(),
        first_seen_at=now,
        last_seen_at=now,
        acknowledged_at=now,
        acknowledged_by=UserFactory(role=Role.OPERATOR),
        acknowledgement="Technicien appelé.",
    )
    return title


def user() -> str:
    username = f"agent.q{_n():03d}"
    HabilitationFactory(user=UserFactory(username=username, service=ServiceFactory()))
    return username


def habilitation() -> str:
    reference = f"DEC-Q{_n():03d}"
    HabilitationFactory(decision_reference=reference, user=UserFactory(service=ServiceFactory()))
    return reference


def lapsed_training() -> str:
    name = f"Recyclage{_n():03d}"
    HabilitationFactory(
        user=UserFactory(last_name=name, service=ServiceFactory()),
        last_training_on=timezone.localdate() - timedelta(days=3 * 365 + 1),
    )
    return name


def service() -> str:
    return ServiceFactory(code=f"service-q{_n():03d}").code


def agreement() -> str:
    """A convention opening a new commune's cameras to the home commune's agents."""
    reference = f"CONV-Q{_n():03d}"
    today = timezone.localdate()
    other = Commune.objects.create(name=f"Commune Q{_n():03d}", insee_code=f"{74000 + _n():05d}")
    CameraFactory(commune=other)
    account_services.agreement_create(
        reference=reference,
        title="Mutualisation",
        signed_on=today,
        signed_by="Les maires",
        valid_from=today,
        viewer_communes=[home_commune()],
        camera_communes=[other],
        actor="test",
    )
    return reference


def breach() -> str:
    marker = f"Incident Q{_n():03d}"
    breaches.breach_create(
        actor=UserFactory(role=Role.DPO),
        description=marker,
        discovered_at=timezone.now() - timedelta(hours=2),
        discovered_by="DPO",
    )
    return marker


@dataclass(frozen=True)
class Case:
    url: str
    role: str
    row: Callable[[], str]

    def __str__(self) -> str:
        return self.url


CASES = [
    # Pages
    Case("/cameras/", Role.DPO, camera),
    Case("/cameras/sante/", Role.SUPERVISOR, camera),
    Case("/cameras/carte/", Role.OPERATOR, camera),
    Case("/cameras/carte/etats/", Role.OPERATOR, camera),
    Case("/cameras/autorisations/", Role.DPO, authorization),
    Case("/cameras/autorisations/alertes/", Role.SUPERVISOR, authorization_alert),
    Case("/cameras/arrets-autorisation/", Role.DPO, stopped_camera),
    Case("/requisitions/", Role.MAGISTRATE, requisition),
    Case("/requisitions/registres/", Role.SUPERVISOR, handover),
    Case("/conservation/destructions/", Role.DPO, destruction),
    Case("/conservation/gels/", Role.DPO, hold),
    Case("/exploitation/vacations/", Role.SUPERVISOR, shift),
    Case("/exploitation/planning/", Role.SUPERVISOR, rota_slot),
    Case("/exploitation/signalements/", Role.SUPERVISOR, signalement),
    Case("/exploitation/alarmes/", Role.OPERATOR, alarm),
    Case("/exploitation/alarmes/historique/", Role.SUPERVISOR, alarm),
    Case("/enregistrements/relecture/", Role.SUPERVISOR, camera),
    Case("/enregistrements/exploitation/", Role.ADMIN, camera),
    Case("/conformite/demandes-acces/", Role.DPO, access_request),
    Case("/conformite/violations/", Role.DPO, breach),
    Case("/audit/", Role.DPO, audit_event),
    Case("/comptes/utilisateurs/", Role.ADMIN, user),
    Case("/comptes/habilitations/", Role.ADMIN, habilitation),
    Case("/comptes/formations/", Role.ADMIN, lapsed_training),
    # Open to everyone: one section per authorization in force.
    Case("/public/information/", Role.DPO, authorization),
    Case("/comptes/communes/", Role.DPO, agreement),
    # The DPO's registers
    Case("/conformite/registres/extractions/", Role.DPO, handover),
    Case("/conformite/registres/remises/", Role.DPO, handover),
    Case("/conformite/registres/destructions/", Role.DPO, destruction),
    Case("/conformite/registres/gels/", Role.DPO, hold),
    Case("/conformite/registres/demandes-acces/", Role.DPO, access_request),
    Case("/conformite/registres/habilitations/", Role.DPO, habilitation),
    Case("/conformite/registres/masques/", Role.DPO, camera),
    Case("/conformite/registres/autorisations/", Role.DPO, authorization),
    Case("/conformite/registres/arrets-autorisation/", Role.DPO, stopped_camera),
    Case("/conformite/registres/conventions-intercommunales/", Role.DPO, agreement),
    # API lists
    Case("/api/cameras/", Role.DPO, camera),
    Case("/api/cameras/health/", Role.SUPERVISOR, camera),
    Case("/api/authorizations/", Role.DPO, authorization),
    Case("/api/authorizations/alerts/", Role.DPO, expiring_authorization),
    Case("/api/authorization-alerts/", Role.DPO, authorization_alert),
    Case("/api/requisitions/", Role.MAGISTRATE, requisition),
    Case("/api/registers/extractions/", Role.DPO, handover),
    Case("/api/registers/handovers/", Role.DPO, handover),
    Case("/api/destructions/", Role.DPO, destruction),
    Case("/api/purge-runs/", Role.DPO, destruction),
    Case("/api/holds/", Role.DPO, hold),
    Case("/api/operations/signalements/", Role.SUPERVISOR, signalement),
    Case("/api/alarms/", Role.OPERATOR, alarm),
    Case("/api/recordings/operations/", Role.ADMIN, camera),
    Case("/api/audit/events/", Role.DPO, audit_event),
    Case("/api/breaches/", Role.DPO, breach),
    Case("/api/users/", Role.ADMIN, user),
    Case("/api/habilitations/", Role.ADMIN, habilitation),
    Case("/api/services/", Role.ADMIN, service),
    Case("/api/agreements/", Role.DPO, agreement),
]


def _person(role: str):
    person = UserFactory(role=role, service=ServiceFactory() if role == Role.OPJ else None)
    if role in (Role.OPERATOR, Role.SUPERVISOR):
        HabilitationFactory(
            user=person, all_cameras=True, can_live=True, can_replay=True, can_extract=True
        )
    return person


def _count(client, url: str, markers: list[str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    shown = response.content.decode()
    missing = [marker for marker in markers if marker not in shown]
    assert not missing, (url, missing)
    return len(queries)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_queries_do_not_grow_with_rows(client, case, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = sign_in(client, _person(case.role))
    markers = [case.row() for _ in range(2)]
    client.get(case.url)
    with_two = _count(client, case.url, markers)
    markers += [case.row() for _ in range(10)]
    with_twelve = _count(client, case.url, markers)
    assert with_twelve == with_two, (
        f"{case.url}: {with_two} queries for 2 rows, {with_twelve} for 12"
    )
