"""The record of processing activities (RGPD art. 30; loi Informatique et Libertés art. 100 for
a processing under the police-justice directive): generated from the configuration and the
register of cameras and authorizations, published by the DPO in numbered versions that are
frozen as they were published, exported as PDF and as OpenDocument text.

The content is plain data (sections of paragraphs and tables): one hash tells whether the
configuration changed since the last version, and both files are rendered from it.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override
from odf.opendocument import OpenDocumentText
from odf.style import (
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TableProperties,
    TextProperties,
)
from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
from odf.text import H, P
from reportlab.lib.units import cm
from reportlab.platypus import CondPageBreak, Spacer

from accounts.actors import Actor, person
from accounts.roles import Role
from audit.services import record
from cameras.models import Authorization, Camera, CameraStatus
from cameras.purposes import Purpose
from compliance.models import ProcessingRecordVersion
from compliance.roles import COMPLIANCE_READERS
from compliance.schedule import days_text, retention_schedule
from csu.lib import legal, pdf
from csu.lib.times import paris_text

#: The formats the record is exported in: (extension, content type).
FORMATS = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
}


class Section(TypedDict):
    heading: str
    paragraphs: list[str]
    columns: list[str]
    rows: list[list[str]]


class Content(TypedDict):
    title: str
    sections: list[Section]


def _purpose_numbers(authorization: Authorization) -> str:
    """Its purposes as the article numbers them ("1°, 5°"): section 3 gives their words."""
    return ", ".join(
        f"{rank}°"
        for rank, code in enumerate(Purpose.values, start=1)
        if code in authorization.purposes
    )


def _section(
    heading: str,
    paragraphs: list[str] | None = None,
    columns: list[str] | None = None,
    rows: list[list[str]] | None = None,
) -> Section:
    return {
        "heading": heading,
        "paragraphs": paragraphs or [],
        "columns": columns or [],
        "rows": rows or [],
    }


def _authorizations() -> list[Authorization]:
    """Those that cover a camera in service, or are in force today."""
    today = timezone.localdate()
    return list(
        Authorization.objects.annotate(
            in_service=Count("cameras", filter=~Q(cameras__status=CameraStatus.DECOMMISSIONED))
        )
        .filter(Q(in_service__gt=0) | Q(issued_on__lte=today, expires_on__gte=today))
        .order_by("number")
    )


def _cameras() -> list[Camera]:
    return list(
        Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED)
        .select_related("authorization")
        .order_by("code")
    )


def _security_measures() -> list[list[str]]:
    otp_roles = ", ".join(
        str(Role(role).label) for role in settings.OTP_REQUIRED_ROLES if role in Role.values
    )
    training = (
        _("exigée pour tout accès aux images, valable %(period)s")
        % {"period": days_text(settings.TRAINING_VALIDITY_DAYS)}
        if settings.TRAINING_REQUIRED and settings.TRAINING_VALIDITY_DAYS
        else _("exigée pour tout accès aux images")
        if settings.TRAINING_REQUIRED
        else _("non exigée par la configuration")
    )
    transport = (
        _("HTTPS imposé (redirection), HSTS %(seconds)s s")
        % {"seconds": settings.SECURE_HSTS_SECONDS}
        if settings.SECURE_SSL_REDIRECT
        else _("HTTPS assuré par le frontal (pas de redirection par l'application)")
    )
    return [
        [
            _("Chiffrement des images au repos"),
            ngettext(
                "AES-256-GCM par segment, clé de données propre à chaque caméra renouvelée "
                "chaque jour, elle-même chiffrée par une clé maîtresse ; la destruction des clés "
                "à l'échéance rend les images illisibles",
                "AES-256-GCM par segment, clé de données propre à chaque caméra renouvelée tous "
                "les %(days)s jours, elle-même chiffrée par une clé maîtresse ; la destruction "
                "des clés à l'échéance rend les images illisibles",
                settings.RECORDINGS_KEY_PERIOD_DAYS,
            )
            % {"days": settings.RECORDINGS_KEY_PERIOD_DAYS},
        ],
        [
            _("Stockage"),
            _("stockage objet compatible S3, privé")
            if settings.CSU_STORAGE == "s3"
            else _("système de fichiers local du serveur"),
        ],
        [
            _("Journal d'audit"),
            _(
                "chaîne d'empreintes SHA-256 de chaque événement, tête signée (Ed25519) chaque "
                "jour et ancrée hors de la base toutes les %(minutes)s minutes, vérifiée chaque "
                "nuit ; toute rupture ouvre une violation de données au registre"
            )
            % {"minutes": settings.AUDIT_ANCHOR_MINUTES},
        ],
        [
            _("Habilitations"),
            _(
                "nominatives, par caméra et par droit (direct, relecture, extraction), délivrées "
                "par décision et inscrites au registre des habilitations (CSI L252-2)"
            ),
        ],
        [_("Formation des personnes habilitées (CSI L255-1)"), training],
        [_("Double authentification (TOTP)"), otp_roles or _("aucun rôle")],
        [
            _("Protection contre les essais de mots de passe"),
            _(
                "compte bloqué après %(n)s échecs, adresse après %(ip)s échecs, pendant "
                "%(minutes)s minutes"
            )
            % {
                "n": settings.AXES_FAILURE_LIMIT,
                "ip": settings.LOCKOUT_IP_FAILURE_LIMIT,
                "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            },
        ],
        [
            _("Session"),
            _("fermée après %(minutes)s minutes d'inactivité")
            % {"minutes": settings.SESSION_COOKIE_AGE // 60},
        ],
        [_("Transport"), transport],
        [
            _("Masquage des zones privées (CSI L251-3)"),
            _("masques de confidentialité par caméra, versionnés et validés"),
        ],
        [
            _("Remises d'images"),
            _(
                "paquets chiffrés et signés (Ed25519) avec empreintes SHA-256, lien de "
                "téléchargement personnel de %(hours)s heures, procès-verbal de remise"
            )
            % {"hours": settings.EVIDENCE_LINK_HOURS},
        ],
        [
            _("Effacement"),
            _(
                "purge automatique des images, des fichiers dérivés et des données de "
                "l'application à l'échéance de leur durée de conservation"
            ),
        ],
    ]


def generate() -> Content:
    """The record as the configuration and the register make it now, in French."""
    with override("fr"):
        return _generate()


def _generate() -> Content:
    notice, conf = settings.COMPLIANCE_NOTICE, settings.COMPLIANCE_RECORD
    authorizations = _authorizations()
    cameras = _cameras()
    purposes: list[str] = []
    for authorization in authorizations:
        for label in authorization.purpose_labels:
            if label not in purposes:
                purposes.append(label)
    relayed = sum(1 for camera in cameras if camera.police_relay)
    sections = [
        _section(
            _("1. Responsable du traitement et délégué à la protection des données"),
            columns=[_("Rubrique"), _("Valeur")],
            rows=[
                [_("Traitement"), conf["processing_name"]],
                [_("Responsable du traitement"), str(notice["controller"])],
                [_("Adresse"), str(notice["controller_address"])],
                [_("Téléphone"), str(notice["phone"])],
                [_("Délégué à la protection des données"), str(notice["dpo_name"])],
                [_("Contact du délégué"), f"{notice['dpo_email']} — {notice['dpo_address']}"],
            ],
        ),
        _section(
            _("2. Cadre juridique"),
            [
                _(
                    "Traitement relevant de la directive (UE) 2016/680 « police-justice » "
                    "(loi Informatique et Libertés, titre III) : le présent registre est tenu au "
                    "titre de l'article 100 de cette loi et de l'article 30 du RGPD."
                ),
                _("Base légale : %(basis)s") % {"basis": notice["legal_basis"]},
                _("Autorisations préfectorales (CSI L252-1) : %(n)s ; caméras en service : %(c)s.")
                % {"n": len(authorizations), "c": len(cameras)},
                _("Profilage : aucun. Décision automatisée : aucune."),
            ],
        ),
        _section(
            _("3. Finalités (CSI L251-2), d'après les autorisations préfectorales"),
            columns=[_("Finalité")],
            rows=[[label] for label in purposes],
        ),
        _section(
            _("4. Autorisations préfectorales"),
            columns=[
                _("Arrêté"),
                _("Délivré le"),
                _("Expire le"),
                _("Finalités (CSI L251-2)"),
                _("Qualités des personnes habilitées à visionner (CSI L252-2)"),
                _("Périmètre"),
                _("Conservation (jours)"),
                _("Caméras"),
            ],
            rows=[
                [
                    a.number,
                    a.issued_on.strftime("%d/%m/%Y"),
                    a.expires_on.strftime("%d/%m/%Y"),
                    _purpose_numbers(a),
                    " ; ".join(a.quality_labels),
                    a.perimeter,
                    str(a.retention_days),
                    ", ".join(c.code for c in cameras if c.authorization_id == a.pk),
                ]
                for a in authorizations
            ],
        ),
        _section(
            _("5. Caméras en service"),
            columns=[
                _("Caméra"),
                _("Nom"),
                _("Adresse"),
                _("Autorisation"),
                _("Conservation (jours)"),
                _("Transmise à la Police nationale"),
            ],
            rows=[
                [
                    c.code,
                    c.name,
                    c.address,
                    c.authorization.number if c.authorization else _("aucune"),
                    str(c.retention_days),
                    _("oui") if c.police_relay else _("non"),
                ]
                for c in cameras
            ],
        ),
        _section(
            _("6. Catégories de personnes concernées"),
            columns=[_("Personnes"), _("Pourquoi")],
            rows=[
                [
                    _("Passants, usagers de la voie publique et des bâtiments communaux"),
                    _("filmés dans le champ des caméras"),
                ],
                [
                    _("Agents du centre de supervision urbain et de la police municipale"),
                    _("comptes, habilitations, formations, traces de leurs accès"),
                ],
                [
                    _("Officiers de police judiciaire et magistrats requérants"),
                    _("identité et service inscrits aux réquisitions et aux remises"),
                ],
                [
                    _("Personnes exerçant leur droit d'accès"),
                    _("identité et justificatif de leur demande"),
                ],
                [
                    _("Personnes mises en cause ou victimes dans un signalement"),
                    _("description des faits par l'opérateur"),
                ],
            ],
        ),
        _section(
            _("7. Catégories de données"),
            columns=[_("Données"), _("Contenu")],
            rows=[
                [
                    _("Images"),
                    _(
                        "images de la voie publique, horodatées, zones privées masquées ; ni son "
                        "ni reconnaissance faciale"
                    ),
                ],
                [_("Signalements"), _("faits observés, lieu, heure, caméras, opérateur")],
                [
                    _("Réquisitions judiciaires"),
                    _("identité, qualité et service de l'officier requérant, numéro de procédure"),
                ],
                [
                    _("Demandes d'accès"),
                    _("identité du demandeur, nature du justificatif, période et lieu"),
                ],
                [
                    _("Comptes et habilitations"),
                    _("identité, rôle, habilitations, formations des agents"),
                ],
                [
                    _("Journal des connexions et des accès"),
                    _("date, auteur, adresse IP, objet et motif de chaque consultation"),
                ],
            ],
        ),
        _section(
            _("8. Destinataires"),
            columns=[_("Destinataire"), _("Cadre"), _("Données")],
            rows=[
                [
                    _("Agents habilités du centre de supervision urbain"),
                    _("habilitation nominative (CSI L252-2)"),
                    _("images des caméras de leur habilitation"),
                ],
                [
                    conf["police_station"],
                    _("convention de coordination ; poste déporté"),
                    ngettext(
                        "images en direct de %(n)s caméra listée par la convention",
                        "images en direct des %(n)s caméras listées par la convention",
                        relayed,
                    )
                    % {"n": relayed},
                ],
                [
                    _("Autorités judiciaires et officiers de police judiciaire"),
                    _("réquisition (code de procédure pénale art. 60-1, 77-1-1, 99-3)"),
                    _("extraits d'images remis et signés"),
                ],
                [
                    _("Personnes concernées"),
                    _("droit d'accès (RGPD art. 15 ; loi Informatique et Libertés art. 104 à 107)"),
                    _("extrait de leurs images, tiers floutés"),
                ],
                [
                    _("CNIL et commission départementale de vidéoprotection"),
                    _("contrôle (CSI L253-2 et L253-3)"),
                    _("registres et dossier de contrôle"),
                ],
            ],
        ),
        _section(
            _("9. Durées de conservation"),
            columns=[_("Données"), _("Durée"), _("À l'échéance"), _("Fondement")],
            rows=[
                [str(line.label), line.period, str(line.treatment), str(line.source)]
                for line in retention_schedule()
            ],
        ),
        _section(
            _("10. Mesures de sécurité"),
            columns=[_("Mesure"), _("Mise en œuvre")],
            rows=_security_measures(),
        ),
        _section(
            _("11. Transferts hors de l'Union européenne"),
            [_("Aucun transfert de données hors de l'Union européenne.")],
        ),
        _section(
            _("12. Textes de référence"),
            columns=[_("Référence"), _("Texte"), _("Objet")],
            rows=[[r.citation, r.source_name, str(r.subject)] for r in legal.REFERENCES],
        ),
    ]
    return {
        "title": _("Registre des activités de traitement — %(name)s")
        % {"name": conf["processing_name"]},
        "sections": sections,
    }


def content_hash(content: Content) -> str:
    """SHA-256 of the content's canonical JSON: equal contents, equal hashes."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def latest() -> ProcessingRecordVersion | None:
    return ProcessingRecordVersion.objects.order_by("-number").first()


def differs_from_latest(content: Content | None = None) -> bool:
    """Whether the configuration and the register no longer say what the last version says
    (True when none is published)."""
    version = latest()
    if version is None:
        return True
    return content_hash(content or generate()) != version.content_sha256


# --- Rendering -----------------------------------------------------------------------------------


def _status(version: ProcessingRecordVersion | None, at: Any) -> str:
    if version is None:
        return _(
            "Projet non publié, généré le %(date)s à partir de la configuration et du registre."
        ) % {"date": paris_text(at, seconds=False)}
    return _("Version %(n)s publiée le %(date)s par %(who)s. Empreinte du contenu : %(hash)s.") % {
        "n": version.number,
        "date": paris_text(version.published_at, seconds=False),
        "who": version.published_by.get_full_name() or version.published_by.get_username(),
        "hash": version.content_sha256,
    }


def render_pdf(content: Content, status: str) -> bytes:
    width = pdf.REPORT.width
    story: list[Any] = [pdf.para(content["title"], "Title"), pdf.para(status)]
    for section in content["sections"]:
        # A heading never ends a page apart from what it introduces.
        story += [
            Spacer(1, 0.3 * cm),
            CondPageBreak(3 * cm),
            pdf.para(section["heading"], "Heading2"),
        ]
        story += [pdf.para(text) for text in section["paragraphs"]]
        if section["columns"]:
            story.append(pdf.table(section["columns"], section["rows"], width))
    return pdf.document(
        story,
        title=content["title"],
        layout=pdf.REPORT,
        footer=pdf.produced_footer(_("Registre des activités de traitement"), pdf.produced_now()),
    )


def render_odt(content: Content, status: str) -> bytes:
    """An OpenDocument text: a title, a heading per section, its paragraphs and its table."""
    doc = OpenDocumentText()
    title_style = Style(name="Title", family="paragraph")
    title_style.addElement(TextProperties(fontsize="18pt", fontweight="bold"))
    title_style.addElement(ParagraphProperties(marginbottom="0.3cm"))
    heading_style = Style(name="Heading 2", family="paragraph")
    heading_style.addElement(TextProperties(fontsize="13pt", fontweight="bold"))
    heading_style.addElement(ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm"))
    body_style = Style(name="Text body", family="paragraph")
    body_style.addElement(TextProperties(fontsize="10pt"))
    head_cell_text = Style(name="Table heading", family="paragraph")
    head_cell_text.addElement(TextProperties(fontsize="9pt", fontweight="bold"))
    cell_text = Style(name="Table contents", family="paragraph")
    cell_text.addElement(TextProperties(fontsize="9pt"))
    for style in (title_style, heading_style, body_style, head_cell_text, cell_text):
        doc.styles.addElement(style)
    table_style = Style(name="Grid", family="table")
    table_style.addElement(TableProperties(width="17cm", align="margins"))
    cell_style = Style(name="GridCell", family="table-cell")
    cell_style.addElement(TableCellProperties(border="0.5pt solid #aab1bf", padding="0.08cm"))
    head_style = Style(name="GridHead", family="table-cell")
    head_style.addElement(
        TableCellProperties(
            border="0.5pt solid #aab1bf", padding="0.08cm", backgroundcolor="#eef0f5"
        )
    )
    doc.automaticstyles.addElement(table_style)
    doc.automaticstyles.addElement(cell_style)
    doc.automaticstyles.addElement(head_style)

    doc.text.addElement(P(stylename=title_style, text=content["title"]))
    doc.text.addElement(P(stylename=body_style, text=status))
    for index, section in enumerate(content["sections"]):
        doc.text.addElement(H(outlinelevel=2, stylename=heading_style, text=section["heading"]))
        for text in section["paragraphs"]:
            doc.text.addElement(P(stylename=body_style, text=text))
        if not section["columns"]:
            continue
        column_style = Style(name=f"Col{index}", family="table-column")
        column_style.addElement(
            TableColumnProperties(columnwidth=f"{17 / len(section['columns']):.2f}cm")
        )
        doc.automaticstyles.addElement(column_style)
        table = Table(name=f"Tableau{index + 1}", stylename=table_style)
        table.addElement(
            TableColumn(numbercolumnsrepeated=len(section["columns"]), stylename=column_style)
        )
        header = TableHeaderRows()
        row = TableRow()
        for column in section["columns"]:
            cell = TableCell(stylename=head_style, valuetype="string")
            cell.addElement(P(stylename=head_cell_text, text=column))
            row.addElement(cell)
        header.addElement(row)
        table.addElement(header)
        rows = section["rows"] or [[_("Aucune entrée.")] + [""] * (len(section["columns"]) - 1)]
        for values in rows:
            row = TableRow()
            for value in values:
                cell = TableCell(stylename=cell_style, valuetype="string")
                for line in str(value).split("\n"):
                    cell.addElement(P(stylename=cell_text, text=line))
                row.addElement(cell)
            table.addElement(row)
        doc.text.addElement(table)
    buffer = io.BytesIO()
    doc.write(buffer)
    return buffer.getvalue()


def render(content: Content, output: str, version: ProcessingRecordVersion | None) -> bytes:
    """The record in ``output`` (a key of FORMATS), its status line naming ``version``."""
    with override("fr"):
        status = _status(version, timezone.now())
        if output == "pdf":
            return render_pdf(content, status)
        return render_odt(content, status)


def file_name(output: str, version: ProcessingRecordVersion | None) -> str:
    suffix = f"v{version.number}" if version else "projet"
    return f"registre-des-traitements-{suffix}.{output}"


# --- Publication ---------------------------------------------------------------------------------


def _require_dpo(actor: Actor) -> None:
    if getattr(actor, "role", None) not in COMPLIANCE_READERS:
        raise PermissionDenied(
            _("Seul le délégué à la protection des données publie le registre des traitements.")
        )


@transaction.atomic
def processing_record_publish(*, actor: Actor, note: str = "") -> ProcessingRecordVersion:
    """Freeze the record as the configuration makes it now, as the next numbered version."""
    _require_dpo(actor)
    content = generate()
    digest = content_hash(content)
    previous = ProcessingRecordVersion.objects.select_for_update().order_by("-number").first()
    if previous is not None and previous.content_sha256 == digest:
        raise ValidationError(
            _(
                "Le registre n'a pas changé depuis la version %(n)s : il n'y a rien de nouveau "
                "à publier."
            )
            % {"n": previous.number},
            code="unchanged",
        )
    number = (ProcessingRecordVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ProcessingRecordVersion(
        number=number,
        published_at=timezone.now(),
        published_by=person(actor),
        note=note.strip(),
        content=content,
        content_sha256=digest,
        pdf=b"",
        odt=b"",
    )
    version.pdf = render(content, "pdf", version)
    version.odt = render(content, "odt", version)
    version.full_clean()
    version.save()
    record(
        "processing_record.published",
        actor=actor,
        target=version,
        target_label=_("Registre des traitements v%(n)s") % {"n": number},
        reason=version.note,
        details={
            "number": number,
            "content_sha256": digest,
            "pdf_sha256": hashlib.sha256(version.pdf).hexdigest(),
            "odt_sha256": hashlib.sha256(version.odt).hexdigest(),
        },
    )
    return version


def processing_record_file(
    *, actor: Actor, output: str, version: ProcessingRecordVersion | None
) -> tuple[str, bytes]:
    """A published version as it was frozen, or the record as it stands (``version`` None);
    the download is audited."""
    _require_dpo(actor)
    if output not in FORMATS:
        raise ValueError(output)
    if version is None:
        data = render(generate(), output, None)
    else:
        data = bytes(version.pdf if output == "pdf" else version.odt)
    name = file_name(output, version)
    with transaction.atomic():
        record(
            "processing_record.exported",
            actor=actor,
            target_type="compliance.processingrecordversion",
            target_id=version.pk if version else "",
            target_label=name,
            details={"format": output, "sha256": hashlib.sha256(data).hexdigest()},
        )
    return name, data
