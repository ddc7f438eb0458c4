"""The CNIL audit pack: for a period, one signed ZIP with the French report and every register.

Signed like an evidence package (``evidence.manifest``): a manifest listing each file with its
SHA-256, its detached Ed25519 signature, the public key and its fingerprint, and the same
offline verifier (``verify.py``), so ``manage.py verify_audit_pack`` or the inspector's own
Python checks it the same way.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override
from reportlab.lib.units import cm
from reportlab.platypus import PageBreak, Spacer

from accounts.actors import Actor
from audit import actions, integrity
from audit.exports import events_csv
from audit.models import AuditEvent, ChainCheckpoint
from audit.services import record
from cameras.models import Camera
from cameras.retention import segment_retention_days
from compliance import aipd, processing
from compliance.registers import REGISTERS, as_csv, local
from csu.lib import pdf
from evidence import manifest, verifier
from recordings.holds import holds_covering
from recordings.models import Segment

FORMAT = "csu-audit-pack/1"
#: Inside the signed bytes: signed with the evidence key, a pack must not pass for a package.
KIND = verifier.AUDIT_PACK
REPORT_NAME = "rapport-de-controle.pdf"
README_NAME = "LISEZMOI.txt"
#: The registers of the report, in its order.
SECTIONS = (
    "acces-images",
    "extractions",
    "remises",
    "destructions",
    "gels",
    "demandes-acces",
    "habilitations",
    "masques",
    "autorisations",
    "sources-cameras",
    "changements-conservation",
    "arrets-autorisation",
    "purges-donnees",
    "durees-conservation",
    "fichiers-derives",
    "renouvellements-gels",
    "violations",
    "registre-traitements",
    "analyses-impact",
    "controles-horloge",
    "conventions-intercommunales",
)


@dataclass(frozen=True)
class RetentionLine:
    camera: str
    retention_days: int
    oldest_start: datetime | None
    oldest_end: datetime | None
    due_at: datetime | None
    status: str  # "empty", "not_due", "held", "overdue"
    holds: list[str]

    @property
    def status_label(self) -> str:
        return {
            "empty": _("aucun enregistrement conservé"),
            "not_due": _("conservation en cours, destruction prévue le %(date)s")
            % {"date": local(self.due_at)},
            "held": _("gelé au-delà de la durée de conservation : %(refs)s")
            % {"refs": "; ".join(self.holds)},
            "overdue": _("NON CONFORME : aurait dû être détruit le %(date)s, aucun gel")
            % {"date": local(self.due_at)},
        }[self.status]


def retention_compliance(at: datetime | None = None) -> list[RetentionLine]:
    """For each camera, its oldest surviving segment at ``at`` and why it still exists."""
    at = at or timezone.now()
    oldest = dict(
        Segment.objects.filter(state=Segment.State.STORED)
        .values("camera")
        .annotate(first=Min("started_at"))
        .values_list("camera", "first")
    )
    lines = []
    for camera in Camera.objects.order_by("code"):
        first = oldest.get(camera.pk)
        if first is None:
            lines.append(
                RetentionLine(camera.code, camera.retention_days, None, None, None, "empty", [])
            )
            continue
        segment = (
            Segment.objects.filter(camera=camera, state=Segment.State.STORED, started_at=first)
            .order_by("ended_at")
            .first()
        )
        assert segment is not None
        # Recorded before a validated lowering, it keeps the retention in force then.
        days = segment_retention_days(camera, segment.started_at, at)
        due = segment.ended_at + timedelta(days=days)
        holds: list[str] = []
        if due > at:
            status = "not_due"
        else:
            holds = [
                f"{hold.get_basis_display()} {hold.reference_label or hold.reference_id or ''} "
                f"({_('jusqu’au')} {local(hold.expires_at)})".replace("  ", " ")
                for hold in holds_covering(
                    camera=camera, starts_at=segment.started_at, ends_at=segment.ended_at, at=at
                )
            ]
            status = "held" if holds else "overdue"
        lines.append(
            RetentionLine(
                camera.code,
                days,
                segment.started_at,
                segment.ended_at,
                due,
                status,
                holds,
            )
        )
    return lines


def _events(start: datetime, end: datetime):
    return AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)


def _report(
    *,
    start: datetime,
    end: datetime,
    produced_at: datetime,
    actor_name: str,
    retention: list[RetentionLine],
    sections: dict[str, list[list[str]]],
    chain: integrity.VerificationResult,
    fingerprint: str,
) -> bytes:
    title = _("Dossier de contrôle — vidéoprotection")
    width = pdf.WIDE.width
    checkpoint = ChainCheckpoint.objects.order_by("-signed_at").first()
    events = _events(start, end)
    by_category: dict[str, int] = {}
    for row in events.values("action").annotate(n=Count("pk")):
        try:
            category = actions.get(row["action"]).category
        except actions.UnknownAction:
            category = "?"
        by_category[category] = by_category.get(category, 0) + row["n"]
    story: list[Any] = [
        pdf.para(title, "Title"),
        pdf.para(
            _("Période contrôlée : du %(start)s au %(end)s (heure de Paris).")
            % {"start": local(start), "end": local(end)}
        ),
        pdf.para(
            _("Dossier produit le %(date)s par %(who)s.")
            % {"date": local(produced_at), "who": actor_name}
        ),
        pdf.para(
            _(
                "Ce dossier est signé (Ed25519) : le manifeste liste chaque fichier avec son "
                "empreinte SHA-256. Empreinte de la clé de signature : %(fp)s. Vérification : "
                "« python3 verify.py --fingerprint EMPREINTE » dans le dossier extrait, où "
                "EMPREINTE est celle que le CSU publie sur sa page d'information publique, "
                "non celle inscrite dans le dossier."
            )
            % {"fp": fingerprint}
        ),
        Spacer(1, 0.3 * cm),
        pdf.para(_("Intégrité du journal d'audit"), "Heading2"),
        pdf.para(
            ngettext(
                "Vérification complète faite à la production : %(state)s (%(n)s événement).",
                "Vérification complète faite à la production : %(state)s (%(n)s événements).",
                chain.events_checked,
            )
            % {
                "state": _("chaîne intègre") if chain.ok else "; ".join(chain.problems),
                "n": chain.events_checked,
            }
        ),
        pdf.para(
            _("Dernière signature de la tête de chaîne : n° %(seq)s le %(date)s.")
            % {"seq": checkpoint.seq, "date": local(checkpoint.signed_at)}
            if checkpoint
            else _("Aucune signature de la tête de chaîne.")
        ),
        pdf.table(
            [_("Catégorie"), _("Événements de la période")],
            [
                [actions.category_label(category), str(n)]
                for category, n in sorted(
                    by_category.items(), key=lambda item: actions.category_label(item[0])
                )
            ],
            width / 2,
        ),
        pdf.para(csv_apostrophes_note()),
        Spacer(1, 0.3 * cm),
        pdf.para(_("Respect des durées de conservation (CSI L252-5)"), "Heading2"),
        pdf.para(
            _(
                "Pour chaque caméra, le plus ancien enregistrement encore conservé à la date du "
                "dossier et la raison de sa présence : durée de conservation non écoulée, ou gel "
                "pour une procédure (réquisition, demande d'accès)."
            )
        ),
        pdf.table(
            [
                _("Caméra"),
                _("Conservation (jours)"),
                _("Plus ancienne image conservée"),
                _("Échéance"),
                _("Situation"),
            ],
            [
                [
                    line.camera,
                    str(line.retention_days),
                    local(line.oldest_start),
                    local(line.due_at),
                    line.status_label,
                ]
                for line in retention
            ],
            width,
        ),
    ]
    intro = {
        "acces-images": _(
            "Chaque consultation d'images ou de données personnelles de la période, avec son motif "
            "(loi Informatique et Libertés, art. 101)."
        ),
        "habilitations": _(
            "État des habilitations à la date du dossier, avec la commune de chaque personne."
        ),
        "conventions-intercommunales": _(
            "Conventions par lesquelles des communes ouvrent leurs caméras aux agents d'autres "
            "communes (CSU intercommunal, décision du Conseil constitutionnel 2021-817 DC) : "
            "sans convention en vigueur, un agent ne voit que les caméras de sa commune."
        ),
        "masques": _("Toutes les versions des masques de confidentialité (CSI L251-3)."),
        "autorisations": _("Autorisations préfectorales et leur échéance (CSI L252-1, L252-4)."),
        "arrets-autorisation": _(
            "Chaque arrêt de l'enregistrement et du direct d'une caméra faute d'autorisation "
            "préfectorale en vigueur, et chaque reprise, pendant la période (CSI L252-1, L254-1)."
        ),
        "purges-donnees": _(
            "Chaque exécution de la purge des données de l'application pendant la période : "
            "pour chaque nature de données, les enregistrements supprimés et ceux anonymisés "
            "(conservés sans données personnelles pour les statistiques)."
        ),
        "durees-conservation": _(
            "Durées de conservation en vigueur à la date du dossier, avec leur fondement."
        ),
        "sources-cameras": _(
            "Chaque création de caméra et chaque changement de sa source vidéo ou de ses "
            "identifiants pendant la période (les identifiants eux-mêmes ne sont jamais écrits)."
        ),
        "fichiers-derives": _(
            "Chaque destruction d'un fichier tiré des enregistrements : paquets d'extraction "
            "jamais téléchargés ou remis, extraits des demandes d'accès, fichiers de relecture "
            "expirés, fichiers laissés par un traitement interrompu."
        ),
        "renouvellements-gels": _(
            "Chaque renouvellement d'un gel manuel pendant la période, avec sa justification : "
            "un gel manuel prend fin au plus tard %(days)s jours après sa pose ou son dernier "
            "renouvellement."
        )
        % {"days": settings.RECORDINGS_HOLD_MAX_DAYS},
        "violations": _(
            "Chaque violation de données personnelles découverte pendant la période, notifiée ou "
            "non, avec ses effets, les mesures prises et la décision de notifier la CNIL et les "
            "personnes, motivée (RGPD art. 33.5). Le délai de notification est de 72 heures "
            "après la découverte ; les défaillances d'intégrité détectées par le CSU y ouvrent "
            "un brouillon."
        ),
        "controles-horloge": _(
            "Les images sont datées à leur arrivée par l'horloge du serveur d'enregistrement : "
            "chaque contrôle de cette horloge pendant la période (requête NTP ou état de "
            "synchronisation du système ; tolérance %(server)s ms), puis, par caméra et par "
            "jour, l'écart mesuré entre l'horloge de la caméra et l'heure d'arrivée "
            "(tolérance %(camera)s ms)."
        )
        % {"server": settings.CLOCK_MAX_OFFSET_MS, "camera": settings.CAMERA_MAX_DRIFT_MS},
    }
    intro["registre-traitements"] = _processing_record_intro()
    intro["analyses-impact"] = _impact_assessment_intro(produced_at)
    for slug in SECTIONS:
        register = REGISTERS[slug]
        story += [
            PageBreak(),
            pdf.para(f"{register.title} ({len(sections[slug])})", "Heading2"),
        ]
        if slug in intro:
            story += [pdf.para(intro[slug]), Spacer(1, 0.2 * cm)]
        story.append(pdf.table(register.columns, sections[slug], width))
    return pdf.document(
        story,
        title=title,
        subject=f"{local(start)} – {local(end)}",
        footer=pdf.produced_footer(title, pdf.produced_now()),
    )


def _processing_record_intro() -> str:
    """The record of processing activities in the pack: its version and whether it is current."""
    version = processing.latest()
    if version is None:
        return _(
            "Registre des activités de traitement (RGPD art. 30, loi Informatique et Libertés "
            "art. 100) : aucune version publiée. Le dossier contient le registre tel que la "
            "configuration le produit à sa date (%(name)s)."
        ) % {"name": processing.file_name("pdf", None)}
    current = not processing.differs_from_latest()
    return _(
        "Registre des activités de traitement (RGPD art. 30, loi Informatique et Libertés "
        "art. 100) : version %(n)s publiée le %(date)s (%(name)s dans le dossier), %(state)s. "
        "Empreinte du contenu : %(hash)s."
    ) % {
        "n": version.number,
        "date": local(version.published_at),
        "name": processing.file_name("pdf", version),
        "state": _("conforme à la configuration à la date du dossier")
        if current
        else _(
            "DIFFÉRENTE de la configuration à la date du dossier (registre tel qu'elle le "
            "produit joint : %(name)s)"
        )
        % {"name": processing.file_name("pdf", None)},
        "hash": version.content_sha256,
    }


def _impact_assessment_intro(at: datetime) -> str:
    """The impact assessment in the pack: the current version and its review state."""
    state = aipd.review_state(at)
    if state.current is None:
        return _("Analyse d'impact (RGPD art. 35.3.c) : AUCUNE analyse enregistrée.")
    text = _(
        "Analyse d'impact (RGPD art. 35.3.c) : version en vigueur %(n)s du %(date)s, par "
        "%(author)s (fichier joint : %(file)s) ; révision périodique due le %(due)s."
    ) % {
        "n": state.current.version,
        "date": state.current.assessed_on.strftime("%d/%m/%Y"),
        "author": state.current.author,
        "file": _impact_assessment_path(state.current),
        "due": state.due_on.strftime("%d/%m/%Y") if state.due_on else "",
    }
    if state.up_to_date:
        return text + " " + _("À jour à la date du dossier.")
    return (
        text
        + " "
        + _("À RÉVISER à la date du dossier :")
        + " "
        + " ".join(cause.detail for cause in state.causes)
    )


def _impact_assessment_path(assessment: Any) -> str:
    return f"analyse-impact/v{assessment.version}-{assessment.file_name}"


def csv_apostrophes_note() -> str:
    """How the CSV files neutralise formulas (csu.lib.csvfile), and how to undo it."""
    return _(
        "Fichiers CSV : une cellule qui commence par = + - @, une tabulation, un retour "
        "chariot ou une apostrophe reçoit une apostrophe ( ' ) devant elle, afin qu'aucun "
        "tableur ne l'exécute comme une formule (les nombres comme -3 restent tels quels). "
        "Pour retrouver la valeur d'origine, par exemple pour recalculer l'empreinte d'un "
        "événement du journal d'audit, retirez la première apostrophe de chaque cellule qui "
        "commence par une apostrophe, et seulement celle-là."
    )


def _readme(start: datetime, end: datetime, fingerprint: str) -> bytes:
    return (
        _(
            "Dossier de contrôle du centre de supervision urbain\n"
            "Période : du %(start)s au %(end)s (heure de Paris)\n\n"
            "Contenu :\n"
            "- %(report)s : le rapport, en français ;\n"
            "- registres/*.csv : chaque registre (UTF-8, séparateur point-virgule) ;\n"
            "- registre-des-traitements-*.pdf : le registre des activités de traitement "
            "(version publiée, et projet lorsque la configuration a changé depuis) ;\n"
            "- analyse-impact/ : la version en vigueur de l'analyse d'impact (AIPD) ;\n"
            "- journal-audit.csv : les événements d'audit de la période, avec leurs empreintes "
            "chaînées ;\n"
            "- manifest.json : la liste signée des fichiers et de leurs empreintes SHA-256 ;\n"
            "- manifest.json.sig, cle-publique.pem, cle-publique.sha256 : la signature Ed25519 ;\n"
            "- verify.py : le vérificateur (Python 3 et le paquet « cryptography »).\n\n"
            "%(apostrophes)s\n\n"
            "Vérifier : python3 verify.py --fingerprint EMPREINTE  (dans le dossier extrait, "
            "ou : python3 verify.py --fingerprint EMPREINTE dossier.zip)\n"
            "EMPREINTE est l'empreinte SHA-256 de la clé de signature du CSU telle que la "
            "publie sa page d'information publique (/public/information/). Ne la recopiez pas "
            "depuis ce dossier : quiconque le modifie peut aussi le signer à nouveau avec sa "
            "propre clé.\n"
            "Le vérificateur affiche « OK » (code 0) seulement si le dossier est intact, signé "
            "par cette clé, et est bien un dossier de contrôle ; « ÉCHEC » (code 1) nomme le "
            "problème. Sans --fingerprint, il affiche « CLÉ NON VÉRIFIÉE » (code 3) : un dossier "
            "cohérent ne prouve pas son origine.\n"
            "Empreinte inscrite dans ce dossier (à comparer, non à utiliser) : %(fp)s\n"
        )
        % {
            "start": local(start),
            "end": local(end),
            "report": REPORT_NAME,
            "fp": fingerprint,
            "apostrophes": csv_apostrophes_note(),
        }
    ).encode("utf-8")


def package_name(start: datetime, end: datetime) -> str:
    """Named after the first and the last day covered: ``end`` itself is excluded."""
    first, last = timezone.localtime(start), timezone.localtime(end - timedelta(microseconds=1))
    return f"dossier-controle-{first:%Y%m%d}-{last:%Y%m%d}"


def build(*, start: datetime, end: datetime, actor: Actor) -> tuple[str, bytes]:
    """The pack of [start, end) as (file name, ZIP bytes); its production is audited."""
    if end <= start:
        raise ValueError("the period must end after it starts")
    with override("fr"):
        return _build(start=start, end=end, actor=actor)


def _actor_name(actor: Actor) -> str:
    if isinstance(actor, str):
        return actor
    return f"{actor.get_username()} ({actor.get_full_name()})"


def _build(*, start: datetime, end: datetime, actor: Actor) -> tuple[str, bytes]:
    produced_at = timezone.now()
    signer = manifest.signer()
    # Recorded first, so that the pack's own production is in the trail it describes.
    with transaction.atomic():
        record(
            "compliance.audit_pack_built",
            actor=actor,
            target_type="compliance.auditpack",
            target_label=package_name(start, end),
            reason=_("Contrôle de la période du %(start)s au %(end)s")
            % {"start": local(start), "end": local(end)},
            details={"start": start, "end": end},
        )
    chain = integrity.verify_chain()
    sections = {slug: REGISTERS[slug].rows(start, end) for slug in SECTIONS}
    retention = retention_compliance(produced_at)
    root = package_name(start, end)
    files: list[dict[str, Any]] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(name: str, data: bytes, kind: str, listed: bool = True) -> None:
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=_zip_time(produced_at))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            if listed:
                files.append(
                    {
                        "path": name,
                        "kind": kind,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                    }
                )

        report = _report(
            start=start,
            end=end,
            produced_at=produced_at,
            actor_name=_actor_name(actor),
            retention=retention,
            sections=sections,
            chain=chain,
            fingerprint=signer.fingerprint,
        )
        put(REPORT_NAME, report, "report")
        for slug in SECTIONS:
            register = REGISTERS[slug]
            put(f"registres/{register.filename}", as_csv(register, sections[slug]), "register")
        version = processing.latest()
        if version is not None:
            put(processing.file_name("pdf", version), bytes(version.pdf), "processing_record")
        if version is None or processing.differs_from_latest():
            draft = processing.render(processing.generate(), "pdf", None)
            put(processing.file_name("pdf", None), draft, "processing_record")
        assessment = aipd.current()
        if assessment is not None:
            put(_impact_assessment_path(assessment), aipd.read(assessment), "impact_assessment")
        events = _events(start, end)
        put("journal-audit.csv", events_csv(events), "audit_events")
        put(README_NAME, _readme(start, end, signer.fingerprint), "readme")
        put(manifest.VERIFIER_NAME, manifest.verifier_script(KIND), "verifier")
        put(manifest.PUBLIC_KEY_NAME, signer.public_pem, "public_key")
        bounds = events.order_by("seq").values_list("seq", flat=True)
        document = {
            "format": FORMAT,
            "kind": KIND,
            "software": {"name": "CSU — Centre de supervision urbain"},
            "package": root,
            "period": {"start": manifest.both_times(start), "end": manifest.both_times(end)},
            "prepared_at": manifest.both_times(produced_at),
            "prepared_by": _actor_name(actor),
            "counts": {slug: len(rows) for slug, rows in sections.items()},
            "audit_events": {
                "count": events.count(),
                "first_seq": bounds.first(),
                "last_seq": events.order_by("-seq").values_list("seq", flat=True).first(),
            },
            "audit_chain": {"ok": chain.ok, "events_checked": chain.events_checked},
            "retention": [
                {
                    "camera": line.camera,
                    "retention_days": line.retention_days,
                    "oldest_segment_start": manifest.both_times(line.oldest_start),
                    "due_at": manifest.both_times(line.due_at),
                    "status": line.status,
                    "holds": line.holds,
                }
                for line in retention
            ],
            "files": files,
            "signature": {
                "algorithm": "Ed25519",
                "file": manifest.SIGNATURE_NAME,
                "public_key_file": manifest.PUBLIC_KEY_NAME,
                "public_key_sha256": signer.fingerprint,
            },
        }
        body = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
        put(manifest.MANIFEST_NAME, body, "manifest", listed=False)
        put(manifest.SIGNATURE_NAME, signer.sign(body), "signature", listed=False)
        put(
            manifest.FINGERPRINT_NAME,
            (signer.fingerprint + "\n").encode(),
            "fingerprint",
            listed=False,
        )
    return f"{root}.zip", buffer.getvalue()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime(moment)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def verify(location: Path) -> list[str]:
    """Every failure of the pack at ``location`` (folder or ZIP); empty when intact.

    The pack must be signed by this server's key and be an audit pack, not another kind.
    """
    return check(location).failures


def check(location: Path) -> verifier.Result:
    """``verify`` with the key fingerprint and kind found, for the command to print."""
    return verifier.check(location, fingerprints=manifest.trusted_fingerprints(), kind=KIND)
