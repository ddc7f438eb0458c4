"""The registers the CNIL and the commission départementale read: one definition per register,
rendered as a page, a CSV, a PDF, and inside the audit pack.

Each register takes an optional period [start, end): entries whose date falls in it (for the
current-state registers — habilitations, masks, authorizations — the period is ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Agreement, Habilitation
from accounts.qualities import quality_label
from accounts.roles import Right
from audit import actions, records
from audit.models import AuditEvent, RecordPurge
from cameras import selectors as camera_selectors
from cameras.models import Authorization, PrivacyMask, RetentionChange
from cameras.purposes import RIGHT_OF_ACCESS, purpose_label
from cameras.sources import public_url
from compliance.models import (
    AccessRequest,
    AccessRequestCamera,
    Breach,
    ImpactAssessment,
    ProcessingRecordVersion,
)
from compliance.schedule import retention_schedule
from csu.lib import labels
from csu.lib.csvfile import csv_bytes
from csu.lib.times import PARIS, paris_text
from evidence import selectors as evidence_selectors
from evidence.models import BUILT_STATES, DownloadLink, Export
from live.models import EndReason
from live.selectors import live_sessions
from recordings.models import ClockCheck, ClockSource, DestructionRecord, Hold, HoldRenewal, Segment


def local(moment: datetime | None) -> str:
    # Paris time whatever the process's zone, the offset on the repeated autumn hour.
    return paris_text(moment, empty="")


def day(value: Any) -> str:
    return date_format(value, "d/m/Y") if value else ""


def _between(queryset: QuerySet, field: str, start: datetime | None, end: datetime | None):
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


@dataclass(frozen=True)
class Register:
    slug: str
    title: str | Promise
    filename: str
    columns: tuple[str | Promise, ...]
    rows: Callable[[datetime | None, datetime | None], list[list[str]]]
    #: False for the registers that describe the present state (the period does not apply).
    dated: bool = True


def _in_date_order(*groups: list[tuple[datetime, list[str]]]) -> list[list[str]]:
    """The rows of several sources, each (moment, row), merged in date order."""
    return [row for _moment, row in sorted((p for g in groups for p in g), key=lambda p: p[0])]


def _extractions(start, end):
    exports = _between(
        # A package destroyed unclaimed was built all the same: it stays in the register.
        Export.objects.filter(state__in=BUILT_STATES),
        "finished_at",
        start,
        end,
    ).select_related("requisition__service", "prepared_by", "released_by")
    return _in_date_order(
        [
            (
                e.finished_at,
                [
                    local(e.finished_at),
                    e.requisition.reference,
                    e.requisition.procedure_number,
                    e.requisition.get_legal_frame_display(),
                    str(e.requisition.service),
                    e.prepared_by.get_username() if e.prepared_by else "",
                    e.released_by.get_username() if e.released_by else "",
                    local(e.released_at),
                    str(len(e.files)),
                    e.package_sha256,
                    e.purpose_label,
                ],
            )
            for e in exports.order_by("finished_at", "pk")
        ],
        _access_request_extractions(start, end),
    )


def _handovers(start, end):
    links = _between(
        DownloadLink.objects.filter(used_at__isnull=False), "used_at", start, end
    ).select_related("export__requisition__service", "recipient", "issued_by")
    return _in_date_order(
        [
            (
                link.used_at,
                [
                    local(link.used_at),
                    link.export.requisition.reference,
                    link.export.requisition.procedure_number,
                    f"{link.recipient.get_username()} ({link.recipient.get_full_name()})",
                    str(link.export.requisition.service),
                    link.issued_by.get_username() if link.issued_by else "",
                    local(link.issued_at),
                    link.export.package_sha256,
                    link.handover_record_sha256,
                    evidence_selectors.handover_signature(link),
                ],
            )
            for link in links.order_by("used_at", "pk")
        ],
        _access_request_handovers(start, end),
    )


def _destructions(start, end):
    entries = _between(DestructionRecord.objects.all(), "destroyed_at", start, end).select_related(
        "camera"
    )
    return _in_date_order(
        [
            (
                entry.destroyed_at,
                [
                    local(entry.destroyed_at),
                    entry.camera.code,
                    local(entry.window_start),
                    local(entry.window_end),
                    str(entry.segment_count),
                    str(entry.bytes),
                    str(len(entry.keys)),
                    entry.digest,
                ],
            )
            for entry in entries.order_by("destroyed_at", "pk")
        ],
        _access_request_destructions(start, end),
    )


def _holds(start, end):
    holds = _between(Hold.objects.all(), "created_at", start, end).select_related("camera")
    return [
        [
            local(hold.created_at),
            hold.camera.code,
            local(hold.starts_at),
            local(hold.ends_at),
            hold.get_basis_display(),
            hold.reference_label or hold.reference_id or hold.case_reference,
            hold.reason,
            hold.created_by_name,
            local(hold.expires_at),
            local(hold.released_at),
            hold.release_reason,
        ]
        for hold in holds.order_by("created_at", "pk")
    ]


def _access_requests(start, end):
    requests = _between(AccessRequest.objects.all(), "received_at", start, end).prefetch_related(
        "footage__camera"
    )
    return [
        [
            local(r.received_at),
            r.reference,
            r.requester,
            r.get_identity_document_display(),
            r.place,
            f"{local(r.starts_at)} – {local(r.ends_at)}",
            ", ".join(row.camera.code for row in r.footage.all()),
            local(r.deadline),
            r.get_status_display(),
            r.get_outcome_display() if r.outcome else "",
            r.get_refusal_reason_display() if r.refusal_reason else "",
            local(r.destroyed_at),
            local(r.answered_at),
        ]
        for r in requests.order_by("received_at", "pk")
    ]


def _habilitations(start, end):
    today = timezone.localdate()
    habilitations = (
        Habilitation.objects.select_related("user__service", "commune")
        .prefetch_related("user__trainings")
        .order_by("user__username", "valid_from")
    )
    return [
        [
            f"{h.user.get_username()} ({h.user.get_full_name()})",
            h.user.get_role_display(),
            str(h.commune),
            quality_label(h.user.quality),
            h.decision_reference,
            h.issuer,
            day(h.valid_from),
            day(h.valid_until),
            ", ".join(str(Right(r).label) for r in h.rights),
            str(_("toutes")) if h.all_cameras else ", ".join([*h.sectors, *h.camera_codes]),
            h.training_text,
            str(h.state_on(today).label),
            local(h.revoked_at),
        ]
        for h in habilitations
    ]


def _masks(start, end):
    versions = list(
        PrivacyMask.objects.select_related("camera", "author", "validated_by").order_by(
            "camera__code", "version"
        )
    )
    # Each camera's current version is its highest (Camera.current_mask), the last one here.
    current = {mask.camera_id: mask.pk for mask in versions}
    rows = []
    for mask in versions:
        rows.append(
            [
                mask.camera.code,
                mask.camera.address,
                str(mask.version),
                str(_("oui")) if current[mask.camera_id] == mask.pk else "",
                str(len(mask.polygons)),
                ", ".join(
                    sorted({labels.plain_value(p.get("mode", "software")) for p in mask.polygons})
                ),
                mask.author.get_username(),
                local(mask.created_at),
                mask.validated_by.get_username() if mask.validated_by else "",
                local(mask.validated_at),
                mask.note,
                local(mask.camera.reference_set_at),
            ]
        )
    return rows


def _authorizations(start, end):
    today = timezone.localdate()
    authorizations = Authorization.objects.prefetch_related("cameras__commune").order_by(
        "expires_on"
    )
    return [
        [
            a.number,
            day(a.issued_on),
            day(a.expires_on),
            str((a.expires_on - today).days),
            str(a.retention_days),
            " ; ".join(a.purpose_labels),
            a.purposes_details,
            " ; ".join(a.quality_labels),
            a.perimeter,
            ", ".join(f"{c.code} ({c.commune.name})" for c in a.cameras.all()),
        ]
        for a in authorizations
    ]


def _accesses(start, end):
    codes = [a.code for a in actions.all_actions() if a.category == "access"]
    events = _between(AuditEvent.objects.filter(action__in=codes), "occurred_at", start, end)
    return [
        [
            local(e.occurred_at),
            str(e.seq),
            e.actor_label,
            e.role_label,
            str(actions.get(e.action).label),
            e.target_label,
            e.reason,
            e.recipient,
            e.ip or "",
            purpose_label((e.details or {}).get("purpose", "")),
        ]
        for e in events.order_by("seq")
    ]


REGISTERS: dict[str, Register] = {
    r.slug: r
    for r in (
        Register(
            "acces-images",
            _("Registre des accès aux images et données"),
            "acces-images.csv",
            (
                _("Date"),
                _("N° d'événement"),
                _("Personne"),
                _("Rôle"),
                _("Action"),
                _("Objet"),
                _("Motif"),
                _("Destinataire"),
                _("Adresse IP"),
                _("Finalité"),
            ),
            _accesses,
        ),
        Register(
            "extractions",
            _("Registre des extractions"),
            "extractions.csv",
            (
                _("Préparée le"),
                _("Réquisition"),
                _("Procédure"),
                _("Cadre juridique"),
                _("Service"),
                _("Préparée par"),
                _("Libérée par"),
                _("Libérée le"),
                _("Fichiers"),
                _("SHA-256 du paquet"),
                _("Finalité"),
            ),
            _extractions,
        ),
        Register(
            "remises",
            _("Registre des remises"),
            "remises.csv",
            (
                _("Remise le"),
                _("Réquisition"),
                _("Procédure"),
                _("Destinataire"),
                _("Service"),
                _("Lien délivré par"),
                _("Lien délivré le"),
                _("SHA-256 du paquet"),
                _("SHA-256 du procès-verbal de remise"),
                _("Signature du procès-verbal"),
            ),
            _handovers,
        ),
        Register(
            "destructions",
            _("Registre des destructions"),
            "destructions.csv",
            (
                _("Détruit le"),
                _("Caméra"),
                _("Images du"),
                _("Images jusqu'au"),
                _("Segments"),
                _("Octets"),
                _("Clés détruites"),
                _("Empreinte"),
            ),
            _destructions,
        ),
        Register(
            "gels",
            _("Registre des gels d'images"),
            "gels.csv",
            (
                _("Placé le"),
                _("Caméra"),
                _("Images du"),
                _("Images jusqu'au"),
                _("Fondement"),
                _("Référence"),
                _("Motif"),
                _("Placé par"),
                _("Expire le"),
                _("Levé le"),
                _("Motif de la levée"),
            ),
            _holds,
        ),
        Register(
            "demandes-acces",
            _("Registre des demandes d'accès"),
            "demandes-acces.csv",
            (
                _("Reçue le"),
                _("Référence"),
                _("Demandeur"),
                _("Justificatif d'identité"),
                _("Lieu"),
                _("Période"),
                _("Caméras"),
                _("Réponse due le"),
                _("État"),
                _("Réponse"),
                _("Motif du refus"),
                _("Images détruites le"),
                _("Répondue le"),
            ),
            _access_requests,
        ),
        Register(
            "habilitations",
            _("Registre des habilitations"),
            "habilitations.csv",
            (
                _("Personne"),
                _("Rôle"),
                _("Commune"),
                _("Qualité (CSI L252-2)"),
                _("Décision"),
                _("Délivrée par"),
                _("Valable du"),
                _("Valable jusqu'au"),
                _("Droits"),
                _("Périmètre"),
                _("Formation de la personne (CSI L255-1)"),
                _("État"),
                _("Retirée le"),
            ),
            _habilitations,
            dated=False,
        ),
        Register(
            "masques",
            _("Inventaire des masques de confidentialité"),
            "masques.csv",
            (
                _("Caméra"),
                _("Adresse"),
                _("Version"),
                _("En vigueur"),
                _("Polygones"),
                _("Application"),
                _("Auteur"),
                _("Enregistrée le"),
                _("Validée par"),
                _("Validée le"),
                _("Commentaire"),
                _("Image de référence du"),
            ),
            _masks,
            dated=False,
        ),
        Register(
            "autorisations",
            _("Registre des autorisations préfectorales"),
            "autorisations.csv",
            (
                _("Arrêté"),
                _("Délivré le"),
                _("Expire le"),
                _("Jours restants"),
                _("Conservation (jours)"),
                _("Finalités (CSI L251-2)"),
                _("Précisions sur les finalités"),
                _("Qualités des personnes habilitées à visionner"),
                _("Périmètre"),
                _("Caméras (commune)"),
            ),
            _authorizations,
            dated=False,
        ),
    )
}


def as_csv(register: Register, rows: list[list[str]]) -> bytes:
    """UTF-8 with BOM and semicolons: what a French spreadsheet opens as it is, formulas inert."""
    return csv_bytes(register.columns, rows)


# --- Access-request extracts in the extraction, handover and destruction registers -------------
# An extract answering an access request leaves the CSU like an export: its preparation and the
# DPO's validation, its single handover and its destruction after the answer are entries of the
# same three registers, in date order among the others.


def _extract_rows(field: str, start, end):
    return (
        _between(
            AccessRequestCamera.objects.filter(**{f"{field}__isnull": False}), field, start, end
        )
        .select_related(
            "request", "camera", "extract_built_by", "extract_released_by", "extract_handed_over_by"
        )
        .order_by(field, "pk")
    )


def _name(user) -> str:
    return user.get_username() if user else ""


def _access_request_extractions(start, end):
    return [
        (
            row.extract_built_at,
            [
                local(row.extract_built_at),
                row.request.reference,
                "",
                str(_("Droit d'accès (RGPD art. 15)")),
                "",
                _name(row.extract_built_by),
                _name(row.extract_released_by),
                local(row.extract_released_at),
                "1",
                row.extract_sha256,
                purpose_label(RIGHT_OF_ACCESS),
            ],
        )
        for row in _extract_rows("extract_built_at", start, end)
    ]


def _access_request_handovers(start, end):
    return [
        (
            row.extract_handed_over_at,
            [
                local(row.extract_handed_over_at),
                row.request.reference,
                "",
                str(_("%(requester)s (remis par %(agent)s)"))
                % {"requester": row.request.requester, "agent": _name(row.extract_handed_over_by)},
                "",
                _name(row.extract_released_by),
                local(row.extract_released_at),
                row.extract_sha256,
                "",
                "",
            ],
        )
        for row in _extract_rows("extract_handed_over_at", start, end)
    ]


def _access_request_destructions(start, end):
    return [
        (
            row.extract_destroyed_at,
            [
                local(row.extract_destroyed_at),
                str(_("%(camera)s (extrait %(reference)s)"))
                % {"camera": row.camera.code, "reference": row.request.reference},
                local(row.request.starts_at),
                local(row.request.ends_at),
                "",
                str(row.extract_size or 0),
                "1",
                row.extract_sha256,
            ],
        )
        for row in _extract_rows("extract_destroyed_at", start, end)
    ]


# --- Camera sources: read from the events cameras.services writes -------------------------------

_CREDENTIALS_CHANGES = {
    "kept": _("inchangés"),
    "changed": _("remplacés"),
    "cleared": _("effacés"),
    "dropped": _("abandonnés (autre machine)"),
}


def _camera_sources(start, end):
    events = _between(
        AuditEvent.objects.filter(action__in=("camera.created", "camera.source_changed")),
        "occurred_at",
        start,
        end,
    )
    rows = []
    for e in events.order_by("seq"):
        details = e.details or {}
        if e.action == "camera.created":
            before, after = "", details.get("stream_url", "")
            credentials = _("saisis") if details.get("has_credentials") else _("aucun")
        else:
            before, after = details.get("from", ""), details.get("to", "")
            credentials = _CREDENTIALS_CHANGES.get(details.get("credentials"), "")
        rows.append(
            [
                local(e.occurred_at),
                str(e.seq),
                e.target_label,
                public_url(before or ""),
                public_url(after or ""),
                str(credentials),
                e.actor_label,
                e.role_label,
            ]
        )
    return rows


REGISTERS["sources-cameras"] = Register(
    "sources-cameras",
    _("Registre des changements de source des caméras"),
    "sources-cameras.csv",
    (
        _("Date"),
        _("N° d'événement"),
        _("Caméra"),
        _("Ancienne source"),
        _("Nouvelle source"),
        _("Identifiants"),
        _("Par"),
        _("Rôle"),
    ),
    _camera_sources,
)


# --- Live viewing sessions (live/) ---------------------------------------------------------------


def _live_sessions(start, end):
    return [
        [
            local(s.started_at),
            local(s.ended_at) if s.ended_at else str(_("en cours")),
            _name(s.user),
            s.user.get_role_display(),
            s.camera.code,
            s.camera.name,
            s.station_ip or "",
            str(EndReason(s.end_reason).label) if s.end_reason else "",
        ]
        for s in live_sessions(start, end)
    ]


REGISTERS["sessions-direct"] = Register(
    "sessions-direct",
    _("Registre des sessions de visionnage en direct"),
    "sessions-direct.csv",
    (
        _("Début"),
        _("Fin"),
        _("Personne"),
        _("Rôle"),
        _("Caméra"),
        _("Nom de la caméra"),
        _("Poste (adresse)"),
        _("Motif de fin"),
    ),
    _live_sessions,
)


# --- Changes of a camera's retention (cameras.retention) ------------------------------------------


def _retention_changes(start, end):
    changes = RetentionChange.objects.select_related("camera", "requested_by", "decided_by")
    if start is not None:
        changes = changes.filter(Q(requested_at__gte=start) | Q(decided_at__gte=start))
    if end is not None:
        changes = changes.filter(requested_at__lt=end)
    return [
        [
            local(c.requested_at),
            c.camera.code,
            str(c.old_days),
            str(c.new_days),
            _name(c.requested_by),
            c.reason,
            str(c.get_state_display()),
            _name(c.decided_by) if c.decided_by else "",
            local(c.decided_at),
            c.decision_note,
        ]
        for c in changes.order_by("requested_at", "pk")
    ]


REGISTERS["changements-conservation"] = Register(
    "changements-conservation",
    _("Registre des changements de durée de conservation"),
    "changements-conservation.csv",
    (
        _("Demandé le"),
        _("Caméra"),
        _("Durée en vigueur (jours)"),
        _("Durée demandée (jours)"),
        _("Demandé par"),
        _("Motif de la demande"),
        _("État"),
        _("Décidé par"),
        _("Décidé le (en vigueur pour les images enregistrées ensuite)"),
        _("Motif de la décision"),
    ),
    _retention_changes,
)


# --- Stops of recording for want of an authorization (cameras.services) --------------------------


def _recording_stops(start, end):
    return [
        [
            local(row["at"]),
            str(_("Arrêt") if row["stopped"] else _("Reprise")),
            row["camera"],
            row["reason"],
            local(row["since"]),
            row["authorization"],
            day(row["issued_on"]),
            day(row["expires_on"]),
        ]
        for row in camera_selectors.recording_stop_rows(
            camera_selectors.recording_stop_events(start, end)
        )
    ]


REGISTERS["arrets-autorisation"] = Register(
    "arrets-autorisation",
    _("Registre des arrêts d'enregistrement faute d'autorisation"),
    "arrets-autorisation.csv",
    (
        _("Date"),
        _("Événement"),
        _("Caméra"),
        _("Motif"),
        _("Arrêtée depuis"),
        _("Autorisation concernée"),
        _("Autorisation du"),
        _("Autorisation jusqu'au"),
    ),
    _recording_stops,
)


# --- The application's own records past their period (audit.records) ----------------------------


def _record_purges(start, end):
    kinds = {kind.slug: kind for kind in records.kinds()}
    return [
        [
            local(p.ran_at),
            str(kinds[p.kind].label) if p.kind in kinds else p.kind,
            str(p.days),
            local(p.cutoff),
            str(p.deleted),
            str(p.anonymised),
            labels.actor_label(p.actor_name),
        ]
        for p in _between(RecordPurge.objects.all(), "ran_at", start, end).order_by("ran_at", "pk")
    ]


REGISTERS["purges-donnees"] = Register(
    "purges-donnees",
    _("Registre des purges des données de l'application"),
    "purges-donnees.csv",
    (
        _("Exécutée le"),
        _("Données"),
        _("Durée de conservation (jours)"),
        _("Terminées avant le"),
        _("Supprimées"),
        _("Anonymisées"),
        _("Auteur"),
    ),
    _record_purges,
)


def _schedule(start, end):
    return [
        [str(line.label), line.period, str(line.treatment), str(line.source)]
        for line in retention_schedule()
    ]


REGISTERS["durees-conservation"] = Register(
    "durees-conservation",
    _("Durées de conservation des données"),
    "durees-conservation.csv",
    (_("Données"), _("Durée"), _("Au terme de la durée"), _("Fondement")),
    _schedule,
    dated=False,
)


# --- Destructions of derived files (evidence, recordings, compliance) -----------------------------

#: The audit actions that destroy a derived file, and the kind each names in the register.
DERIVED_FILE_ACTIONS: dict[str, Promise] = {
    "export.package_destroyed": _("Paquet d'extraction"),
    "export.orphans_deleted": _("Fichier temporaire"),
    "access_request.extract_destroyed": _("Extrait de demande d'accès"),
    "access_request.extract_orphans_deleted": _("Fichier temporaire"),
    "recording.playback_files_destroyed": _("Fichier de relecture"),
}


def _derived_reference(e: AuditEvent, details: dict[str, Any]) -> str:
    if e.action == "export.package_destroyed":
        return str(details.get("reference") or e.target_label)
    if e.action == "access_request.extract_destroyed":
        return f"{e.target_label} — {details.get('camera', '')}"
    if e.action == "recording.playback_files_destroyed":
        return str(
            ngettext(
                "%(files)s fichier écrit du %(oldest)s au %(newest)s",
                "%(files)s fichiers écrits du %(oldest)s au %(newest)s",
                int(details.get("files", 0) or 0),
            )
            % {
                "files": details.get("files", 0),
                "oldest": local(_moment(details.get("oldest"))),
                "newest": local(_moment(details.get("newest"))),
            }
        )
    return ", ".join(details.get("files", []))


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _derived_files(start, end):
    events = _between(
        AuditEvent.objects.filter(action__in=DERIVED_FILE_ACTIONS), "occurred_at", start, end
    )
    rows = []
    for e in events.order_by("seq"):
        details = e.details or {}
        size = details.get("bytes")
        rows.append(
            [
                local(e.occurred_at),
                str(DERIVED_FILE_ACTIONS[e.action]),
                _derived_reference(e, details),
                "" if size is None else str(size),
                details.get("sha256") or "",
                e.reason,
                str(e.seq),
            ]
        )
    return rows


REGISTERS["fichiers-derives"] = Register(
    "fichiers-derives",
    _("Registre des destructions de fichiers dérivés"),
    "fichiers-derives.csv",
    (
        _("Date"),
        _("Nature"),
        _("Référence"),
        _("Octets"),
        _("SHA-256"),
        _("Motif"),
        _("N° d'événement"),
    ),
    _derived_files,
)


# --- Renewals of manual holds (recordings.holds.hold_renew) --------------------------------------


def _hold_renewals(start, end):
    renewals = _between(HoldRenewal.objects.all(), "renewed_at", start, end).select_related(
        "hold__camera"
    )
    return [
        [
            local(r.renewed_at),
            r.hold.camera.code,
            local(r.hold.starts_at),
            local(r.hold.ends_at),
            r.hold.case_reference or r.hold.reference_label or r.hold.reference_id,
            local(r.previous_expires_at),
            local(r.expires_at),
            r.renewed_by_name,
            r.justification,
        ]
        for r in renewals.order_by("renewed_at", "pk")
    ]


REGISTERS["renouvellements-gels"] = Register(
    "renouvellements-gels",
    _("Registre des renouvellements de gels"),
    "renouvellements-gels.csv",
    (
        _("Renouvelé le"),
        _("Caméra"),
        _("Images du"),
        _("Images jusqu'au"),
        _("Référence"),
        _("Échéance précédente"),
        _("Nouvelle échéance"),
        _("Renouvelé par"),
        _("Justification"),
    ),
    _hold_renewals,
)


# --- Personal-data breaches (RGPD art. 33.5; compliance.breaches) -------------------------------


def _decision(decision: str, label: str, at: datetime | None, reason: str, ref: str = "") -> str:
    if not decision:
        return label
    parts = [label + (f" {local(at)}" if at else "")]
    if ref:
        parts.append(ref)
    parts.append(reason)
    return " — ".join(parts)


def _breaches(start, end):
    rows = _between(Breach.objects.all(), "discovered_at", start, end)
    return [
        [
            b.reference,
            b.get_state_display(),
            b.get_origin_display(),
            local(b.occurred_at),
            local(b.discovered_at),
            b.discovered_by,
            b.description,
            " ; ".join(
                part
                for part in (
                    b.data_categories,
                    "" if b.data_records is None else f"~{b.data_records}",
                )
                if part
            ),
            " ; ".join(
                part
                for part in (
                    b.people_categories,
                    "" if b.people_count is None else f"~{b.people_count}",
                )
                if part
            ),
            b.consequences,
            " ; ".join(part for part in (b.measures_taken, b.measures_planned) if part),
            local(b.deadline),
            _decision(
                b.cnil_decision,
                str(b.get_cnil_decision_display()),
                b.cnil_notified_at,
                b.cnil_reason,
                b.cnil_reference,
            ),
            _decision(
                b.people_decision,
                str(b.get_people_decision_display()),
                b.people_notified_at,
                b.people_reason,
            ),
            local(b.closed_at),
        ]
        for b in rows.order_by("discovered_at", "pk")
    ]


REGISTERS["violations"] = Register(
    "violations",
    _("Registre des violations de données"),
    "violations.csv",
    (
        _("Référence"),
        _("État"),
        _("Origine"),
        _("Survenue le"),
        _("Découverte le"),
        _("Découverte par"),
        _("Nature"),
        _("Données concernées"),
        _("Personnes concernées"),
        _("Conséquences probables"),
        _("Mesures prises et envisagées"),
        _("Notification due avant le"),
        _("Notification à la CNIL"),
        _("Communication aux personnes"),
        _("Close le"),
    ),
    _breaches,
)


# --- Record of processing activities and impact assessment (RGPD art. 30 and 35) ---------------


def _processing_record_versions(start, end):
    return [
        [
            str(v.number),
            local(v.published_at),
            _name(v.published_by),
            v.note,
            v.content_sha256,
        ]
        for v in ProcessingRecordVersion.objects.select_related("published_by")
        .defer("pdf", "odt", "content")
        .order_by("number")
    ]


REGISTERS["registre-traitements"] = Register(
    "registre-traitements",
    _("Versions du registre des activités de traitement"),
    "registre-traitements.csv",
    (
        _("Version"),
        _("Publiée le"),
        _("Publiée par"),
        _("Motif de la mise à jour"),
        _("Empreinte du contenu (SHA-256)"),
    ),
    _processing_record_versions,
    dated=False,
)


def _impact_assessments(start, end):
    return [
        [
            str(a.version),
            day(a.assessed_on),
            a.author,
            a.summary,
            ", ".join(auth.number for auth in a.authorizations.all()),
            a.file_name,
            a.file_sha256,
            local(a.recorded_at),
            _name(a.recorded_by),
        ]
        for a in ImpactAssessment.objects.select_related("recorded_by")
        .prefetch_related("authorizations")
        .order_by("version")
    ]


REGISTERS["analyses-impact"] = Register(
    "analyses-impact",
    _("Versions de l'analyse d'impact (AIPD)"),
    "analyses-impact.csv",
    (
        _("Version"),
        _("Date de l'analyse"),
        _("Auteur"),
        _("Résumé"),
        _("Autorisations couvertes"),
        _("Fichier"),
        _("SHA-256 du fichier"),
        _("Enregistrée le"),
        _("Enregistrée par"),
    ),
    _impact_assessments,
    dated=False,
)


# --- Clock checks: the server's clock and the cameras' --------------------------------------------


def _yes_no(value: bool | None) -> str:
    return "" if value is None else str(_("oui") if value else _("non"))


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def _clock_checks(start, end):
    checks = _between(ClockCheck.objects.all(), "checked_at", start, end)
    server = [
        (
            check.checked_at,
            [
                local(check.checked_at),
                str(_("Serveur")),
                str(ClockSource(check.source).label)
                + (f" ({check.server})" if check.server else ""),
                _number(check.offset_ms),
                _number(check.error_ms),
                ""
                if check.synchronized is None
                else str(_("oui") if check.synchronized else _("non")),
                str(_("oui") if check.alert else _("non")),
                check.detail,
            ],
        )
        for check in checks.order_by("checked_at", "pk")
    ]
    # Cameras: one line per camera and day, from the figure of each segment recorded that day.
    measured = (
        _between(Segment.objects.filter(clock_offset_ms__isnull=False), "started_at", start, end)
        .annotate(day=TruncDate("started_at", tzinfo=PARIS))
        .values("camera__code", "day")
        .annotate(
            low=Min("clock_offset_ms"),
            high=Max("clock_offset_ms"),
            segments=Count("id"),
            last=Max("ended_at"),
            first_source=Min("clock_source"),
            last_source=Max("clock_source"),
        )
        .order_by("day", "camera__code")
    )
    limit = settings.CAMERA_MAX_DRIFT_MS
    cameras = [
        (
            row["last"],
            [
                str(_("%(day)s (journée)")) % {"day": row["day"].strftime("%d/%m/%Y")},
                str(_("Caméra %(code)s")) % {"code": row["camera__code"]},
                ", ".join(
                    labels.plain_value(source)
                    for source in sorted({row["first_source"], row["last_source"]})
                ),
                f"{_number(row['low'])} … {_number(row['high'])}",
                "",
                "",
                str(_("oui") if max(abs(row["low"]), abs(row["high"])) > limit else _("non")),
                ngettext("%(n)s segment mesuré", "%(n)s segments mesurés", row["segments"])
                % {"n": row["segments"]},
            ],
        )
        for row in measured
    ]
    return _in_date_order(server, cameras)


REGISTERS["controles-horloge"] = Register(
    "controles-horloge",
    _("Registre des contrôles d'horloge"),
    "controles-horloge.csv",
    (
        _("Contrôlé le"),
        _("Horloge"),
        _("Source"),
        _("Écart (ms)"),
        _("Erreur estimée (ms)"),
        _("Synchronisée"),
        _("Hors tolérance"),
        _("Détail"),
    ),
    _clock_checks,
)


# --- Intercommunal conventions (accounts; CC 2021-817 DC) ----------------------------------------


def _agreements(start, end):
    now = timezone.now()
    agreements = Agreement.objects.select_related("created_by", "ended_by").prefetch_related(
        "viewer_communes", "camera_communes"
    )
    return [
        [
            a.reference,
            a.title,
            day(a.signed_on),
            a.signed_by,
            ", ".join(str(c) for c in a.viewer_communes.all()),
            ", ".join(str(c) for c in a.camera_communes.all()),
            day(a.valid_from),
            day(a.valid_until) if a.valid_until else str(_("sans terme")),
            str(a.state_at(now).label),
            local(a.created_at),
            _name(a.created_by),
            local(a.ended_at),
            _name(a.ended_by) if a.ended_at else "",
            a.end_reason,
        ]
        for a in agreements.order_by("valid_from", "reference")
    ]


REGISTERS["conventions-intercommunales"] = Register(
    "conventions-intercommunales",
    _("Registre des conventions intercommunales"),
    "conventions-intercommunales.csv",
    (
        _("Référence"),
        _("Objet"),
        _("Signée le"),
        _("Signataires"),
        _("Communes dont les agents visionnent"),
        _("Communes dont les caméras sont visionnées"),
        _("En vigueur du"),
        _("En vigueur jusqu'au"),
        _("État à la date du dossier"),
        _("Enregistrée le"),
        _("Enregistrée par"),
        _("Fin anticipée le"),
        _("Fin enregistrée par"),
        _("Motif de la fin"),
    ),
    _agreements,
    dated=False,
)
