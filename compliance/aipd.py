"""The data-protection impact assessment (AIPD, RGPD art. 35.3.c): each version's file kept
encrypted at rest, the authorizations it covers, and the reminders to the DPO to review it —
periodically (``COMPLIANCE_AIPD_REVIEW_DAYS``) and at each camera added or authorization added
or changed since the current version, each cause reminded once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor, SystemActor, person
from audit.models import AuditEvent
from audit.services import record
from cameras.models import Authorization, Camera, CameraStatus
from compliance.models import ImpactAssessment, ImpactAssessmentReminder
from compliance.roles import COMPLIANCE_READERS
from csu.lib.times import paris_text
from recordings import crypto, keys

logger = logging.getLogger(__name__)

REMINDER = SystemActor("celery:remind_impact_assessment")

PDF = "application/pdf"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: Content type → the extension its name must carry.
EXTENSIONS = {PDF: ".pdf", ODT: ".odt", DOCX: ".docx"}


def _zip_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODT.encode():
                return ODT if "content.xml" in names else None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def _zip_is_whole(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def check(name: str, data: bytes) -> str:
    """The content type of an acceptable AIPD file, or ValidationError saying why not."""
    limit = settings.COMPLIANCE_AIPD_MAX_BYTES
    if not data:
        raise ValidationError(_("Le fichier de l'analyse d'impact est vide."), code="empty")
    if len(data) > limit:
        raise ValidationError(
            _("Le fichier de l'analyse d'impact pèse %(size)s Mo : la limite est de %(limit)s Mo.")
            % {"size": f"{len(data) / 2**20:.1f}", "limit": limit // 2**20},
            code="too_large",
        )
    if data.startswith(b"%PDF-"):
        content_type: str | None = PDF
    elif data.startswith(b"PK\x03\x04"):
        content_type = _zip_kind(data)
    else:
        content_type = None
    if content_type is None:
        raise ValidationError(
            _(
                "Le fichier « %(name)s » n'est ni un PDF, ni un document OpenDocument (ODT), ni "
                "un document Word (DOCX) d'après son contenu."
            )
            % {"name": name},
            code="type",
        )
    if PurePath(name).suffix.lower() != EXTENSIONS[content_type]:
        raise ValidationError(
            _(
                "Le nom du fichier « %(name)s » ne correspond pas à son contenu (%(ext)s) : "
                "renommez-le avec la bonne extension."
            )
            % {"name": name, "ext": EXTENSIONS[content_type]},
            code="extension",
        )
    whole = b"%%EOF" in data[-2048:] if content_type == PDF else _zip_is_whole(data)
    if not whole:
        raise ValidationError(
            _("Le fichier « %(name)s » est tronqué ou endommagé.") % {"name": name},
            code="truncated",
        )
    return content_type


def plain_name(name: str) -> str:
    """The last component of an uploaded name, printable characters only (never a path)."""
    last = PurePath(name.replace("\\", "/")).name
    cleaned = "".join(char for char in last if char.isprintable()).strip()
    return cleaned.lstrip(".")[:200] or "analyse-impact"


@dataclass(frozen=True)
class _Stored:
    path: str
    key_id: str
    wrapped_key: bytes


def _store(data: bytes) -> _Stored:
    """Encrypt under a fresh key (wrapped by the master key) and write once; never in clear."""
    master = keys.master_keys()[0]
    object_id = uuid.uuid4().hex
    key_id = f"impact-assessment/{object_id}"
    data_key = crypto.new_data_key()
    path = f"compliance/impact-assessments/{object_id}.csuseg"
    saved = default_storage.save(path, ContentFile(crypto.encrypt_segment(data, data_key, key_id)))
    if saved != path:
        default_storage.delete(saved)
        raise OSError(f"storage renamed {path} to {saved}")
    return _Stored(path, key_id, master.wrap(key_id, data_key))


def read(assessment: ImpactAssessment) -> bytes:
    """The file of a version, decrypted."""
    data_key = crypto.unwrap_data_key(
        assessment.file_key_id, bytes(assessment.file_key), keys.master_keys()
    )
    with default_storage.open(assessment.file_path, "rb") as handle:
        return crypto.decrypt_segment(handle.read(), data_key)


def _require_dpo(actor: Actor) -> None:
    if getattr(actor, "role", None) not in COMPLIANCE_READERS:
        raise PermissionDenied(
            _("Seul le délégué à la protection des données tient l'analyse d'impact.")
        )


def impact_assessment_add(
    *,
    actor: Actor,
    file_name: str,
    data: bytes,
    assessed_on: date,
    author: str,
    summary: str,
    authorizations: Iterable[Authorization],
) -> ImpactAssessment:
    """Record the next version of the AIPD; nothing is stored when anything is refused."""
    _require_dpo(actor)
    covered = list(authorizations)
    errors: dict[str, list[str]] = {}
    if assessed_on > timezone.localdate():
        errors["assessed_on"] = [_("L'analyse ne peut pas être datée du futur.")]
    if not author.strip():
        errors["author"] = [_("Indiquez qui a conduit l'analyse.")]
    if not summary.strip():
        errors["summary"] = [_("Résumez les risques et les mesures retenues.")]
    if not covered:
        errors["authorizations"] = [
            _("Indiquez au moins une autorisation préfectorale que l'analyse couvre.")
        ]
    try:
        content_type = check(file_name, data)
    except ValidationError as exc:
        errors["file"] = exc.messages
    if errors:
        raise ValidationError(errors)
    stored = _store(data)
    try:
        return _add(
            actor=actor,
            stored=stored,
            name=plain_name(file_name),
            content_type=content_type,
            data=data,
            assessed_on=assessed_on,
            author=author.strip(),
            summary=summary.strip(),
            covered=covered,
        )
    except BaseException:
        default_storage.delete(stored.path)
        raise


@transaction.atomic
def _add(
    *,
    actor: Actor,
    stored: _Stored,
    name: str,
    content_type: str,
    data: bytes,
    assessed_on: date,
    author: str,
    summary: str,
    covered: list[Authorization],
) -> ImpactAssessment:
    # One version number at a time: the table's lock orders concurrent additions.
    ImpactAssessment.objects.select_for_update().order_by("-version").first()
    number = (ImpactAssessment.objects.aggregate(n=Max("version"))["n"] or 0) + 1
    assessment = ImpactAssessment(
        version=number,
        assessed_on=assessed_on,
        author=author,
        summary=summary,
        file_name=name,
        file_type=content_type,
        file_size=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_path=stored.path,
        file_key_id=stored.key_id,
        file_key=stored.wrapped_key,
        recorded_at=timezone.now(),
        recorded_by=person(actor),
    )
    assessment.full_clean()
    assessment.save()
    assessment.authorizations.set(covered)
    record(
        "impact_assessment.added",
        actor=actor,
        target=assessment,
        target_label=str(assessment),
        details={
            "version": number,
            "assessed_on": assessed_on.isoformat(),
            "file_name": name,
            "sha256": assessment.file_sha256,
            "size": assessment.file_size,
            "authorizations": sorted(a.number for a in covered),
        },
    )
    return assessment


def impact_assessment_file(*, actor: Actor, assessment: ImpactAssessment) -> bytes:
    """The file of a version for the DPO; the download is audited."""
    _require_dpo(actor)
    data = read(assessment)
    with transaction.atomic():
        record(
            "impact_assessment.downloaded",
            actor=actor,
            target=assessment,
            target_label=str(assessment),
            details={"sha256": hashlib.sha256(data).hexdigest()},
        )
    return data


# --- Review state and reminders ------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    kind: str
    #: Unique for the cause: the same cause is reminded once.
    key: str
    detail: str


@dataclass(frozen=True)
class ReviewState:
    current: ImpactAssessment | None
    due_on: date | None
    causes: list[Cause] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.causes


def current() -> ImpactAssessment | None:
    return ImpactAssessment.objects.order_by("-version").first()


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def review_state(now: datetime | None = None) -> ReviewState:
    """The current version, when its review falls due, and every reason to review it now."""
    now = now or timezone.now()
    assessment = current()
    kinds = ImpactAssessmentReminder.Kind
    if assessment is None:
        return ReviewState(
            None,
            None,
            [
                Cause(
                    kinds.MISSING,
                    "missing",
                    _(
                        "Aucune analyse d'impact n'est enregistrée : elle est obligatoire pour "
                        "la vidéoprotection de la voie publique (RGPD art. 35.3.c)."
                    ),
                )
            ],
        )
    tag = f"v{assessment.version}"
    due_on = assessment.assessed_on + timedelta(days=settings.COMPLIANCE_AIPD_REVIEW_DAYS)
    causes: list[Cause] = []
    if timezone.localdate(now) >= due_on:
        causes.append(
            Cause(
                kinds.REVIEW_DUE,
                f"review@{tag}",
                _("La version %(n)s, du %(date)s, est à réviser depuis le %(due)s.")
                % {
                    "n": assessment.version,
                    "date": _day(assessment.assessed_on),
                    "due": _day(due_on),
                },
            )
        )
    since = assessment.recorded_at
    for camera in (
        Camera.objects.filter(created_at__gt=since)
        .exclude(status=CameraStatus.DECOMMISSIONED)
        .order_by("created_at", "pk")
    ):
        causes.append(
            Cause(
                kinds.NEW_CAMERA,
                f"camera:{camera.pk}@{tag}",
                _("Caméra %(code)s (%(name)s) ajoutée le %(date)s, après la version %(n)s.")
                % {
                    "code": camera.code,
                    "name": camera.name,
                    "date": paris_text(camera.created_at, seconds=False),
                    "n": assessment.version,
                },
            )
        )
    for authorization in Authorization.objects.filter(created_at__gt=since).order_by(
        "created_at", "pk"
    ):
        causes.append(
            Cause(
                kinds.AUTHORIZATION,
                f"authorization:{authorization.pk}@{tag}",
                _("Autorisation %(number)s enregistrée le %(date)s, après la version %(n)s.")
                % {
                    "number": authorization.number,
                    "date": paris_text(authorization.created_at, seconds=False),
                    "n": assessment.version,
                },
            )
        )
    for event in AuditEvent.objects.filter(
        action="authorization.updated", occurred_at__gt=since
    ).order_by("seq"):
        causes.append(
            Cause(
                kinds.AUTHORIZATION,
                f"authorization-change:{event.seq}@{tag}",
                _("Autorisation %(number)s modifiée le %(date)s, après la version %(n)s.")
                % {
                    "number": event.target_label,
                    "date": paris_text(event.occurred_at, seconds=False),
                    "n": assessment.version,
                },
            )
        )
    return ReviewState(assessment, due_on, causes)


def due_reminders(now: datetime | None = None) -> list[Cause]:
    """The causes to review the AIPD that the DPO was not yet reminded of."""
    state = review_state(now)
    reminded = set(
        ImpactAssessmentReminder.objects.filter(
            cause__in=[cause.key for cause in state.causes]
        ).values_list("cause", flat=True)
    )
    return [cause for cause in state.causes if cause.key not in reminded]


def impact_assessment_remind(*, cause: Cause, now: datetime | None = None) -> bool:
    """Remind the DPO of one cause, once (the cause is unique). True if this call did."""
    now = now or timezone.now()
    assessment = current()
    try:
        with transaction.atomic():
            reminder = ImpactAssessmentReminder.objects.create(
                kind=cause.kind,
                cause=cause.key,
                assessment=assessment,
                detail=cause.detail,
                raised_at=now,
            )
            record(
                "impact_assessment.reminder",
                actor=REMINDER,
                target=reminder,
                target_label=str(ImpactAssessmentReminder.Kind(cause.kind).label),
                reason=cause.detail,
                details={"cause": cause.key, "version": assessment.version if assessment else None},
            )
    except IntegrityError:
        return False
    if settings.COMPLIANCE_DPO_EMAIL:
        subject = _("Analyse d'impact à réviser : %(why)s") % {
            "why": ImpactAssessmentReminder.Kind(cause.kind).label
        }
        body = _(
            "%(detail)s\n\nL'analyse d'impact relative à la protection des données (RGPD "
            "art. 35) doit être revue lorsque le dispositif change et au moins tous les "
            "%(days)s jours. Enregistrez sa nouvelle version dans l'espace Conformité."
        ) % {"detail": cause.detail, "days": settings.COMPLIANCE_AIPD_REVIEW_DAYS}
        try:
            send_mail(subject, body, None, [settings.COMPLIANCE_DPO_EMAIL])
        except OSError:
            logger.exception("AIPD reminder %s could not be mailed", cause.key)
    return True
