"""The evidence documents in French (PDF): the preparation sheet and the procès-verbal de remise.

The preparation sheet goes into the package when it is built: what was extracted, from which
decision. The procès-verbal de remise is drawn up at the download itself: date, time and place
of the handover, the recipient, the files with their sizes and SHA-256, the city's signing-key
fingerprint and the medium. Times are Paris time (``csu.lib.times``). Hashes and sizes never wrap:
they sit in columns wide enough for them, in a fixed-width font.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from accounts.roles import Role
from csu.lib import pdf
from csu.lib.times import paris_text
from evidence.manifest import Clip, codec_label
from evidence.models import Decision, DownloadLink, Export, LegalFrame, Requisition, Window
from evidence.outages import Outage, duration_text

MARGIN = 13 * mm
#: Portrait A4 with narrow margins; the footer sits in the bottom margin.
LAYOUT = pdf.Layout(A4, MARGIN, MARGIN, MARGIN, MARGIN + 3 * mm, footer_y=7 * mm)
WIDTH = LAYOUT.width
#: The evidence documents' tables: a light grey grid, the header on white smoke.
GREY_GRID = {"header": colors.whitesmoke, "lines": colors.grey}
BODY = ParagraphStyle("pv-body", parent=pdf.STYLES["BodyText"], fontSize=9, leading=11.5)
CELL = ParagraphStyle("pv-cell", parent=BODY, fontSize=7, leading=8.5)
HEAD = ParagraphStyle("pv-head", parent=CELL, fontName="Helvetica-Bold")
MONO = ParagraphStyle("pv-mono", parent=CELL, fontName="Courier", fontSize=6.4, leading=8.5)
ITEM = ParagraphStyle("pv-item", parent=BODY, leftIndent=4 * mm)
NUMBER = ParagraphStyle("pv-number", parent=CELL, alignment=2)
#: N°, file, bytes, SHA-256: the hash column holds 64 Courier characters at 6.4 pt on one line.
FILE_COLUMNS = [8 * mm, WIDTH - 8 * mm - 21 * mm - 93 * mm, 21 * mm, 93 * mm]
MEDIUM = (
    "Téléchargement sécurisé : archive ZIP téléchargée par l'officier destinataire depuis la "
    "page de la réquisition, sur une liaison chiffrée (HTTPS), après connexion avec son "
    "second facteur."
)


def when(moment: datetime | None) -> str:
    """Paris time for the documents, with the offset on the ambiguous autumn hour."""
    return paris_text(moment)


def _who(user: Any) -> str:
    if user is None:
        return "—"
    name = user.get_full_name() or user.get_username()
    extra = [f"matricule {user.badge_number}"] if user.badge_number else []
    if user.service_id:
        extra.append(str(user.service))
    return escape(name + (f" ({', '.join(extra)})" if extra else ""))


def _quality(user: Any) -> str:
    """The recipient's quality, as the procedure names it."""
    labels = {
        Role.OPJ: "Officier de police judiciaire",
        Role.MAGISTRATE: "Magistrat",
        Role.SUPERVISOR: "Chef de salle du centre de supervision urbain",
    }
    return labels.get(user.role, str(user.get_role_display()))


def _bytes(size: int | None) -> str:
    """« 12 345 678 » with non-breaking spaces: a size never wraps mid-number."""
    return "—" if size is None else f"{size:,}".replace(",", "\u00a0")


def _window_text(window: Window, *, granted: bool) -> str:
    camera = window.camera
    start = window.granted_starts_at if granted else window.starts_at
    end = window.granted_ends_at if granted else window.ends_at
    text = f"{camera.code} — {camera.name} : du {when(start)} au {when(end)}"
    if granted and window.is_shortened:
        text += f" (demandée du {when(window.starts_at)} au {when(window.ends_at)})"
    return escape(text)


def decision_paragraphs(requisition: Requisition) -> list[Any]:
    """The magistrate's decision as decided: outcome, magistrate, date, windows and reason."""
    if not requisition.decision:
        return [Paragraph("<b>Décision du magistrat</b> : aucune décision enregistrée.", BODY)]
    label = escape(str(Decision(requisition.decision).label))
    story: list[Any] = [
        Paragraph(
            f"<b>Décision du magistrat</b> : {label}, par {_who(requisition.decided_by)}, "
            f"le {when(requisition.decided_at)} (heure de Paris).",
            BODY,
        )
    ]
    windows = list(requisition.windows.select_related("camera").order_by("starts_at", "pk"))
    approved = [w for w in windows if w.decision == Window.Decision.APPROVED]
    refused = [w for w in windows if w.decision == Window.Decision.REFUSED]
    if approved:
        story.append(Paragraph("<b>Périodes autorisées</b> :", BODY))
        story += [Paragraph("– " + _window_text(w, granted=True), ITEM) for w in approved]
    if refused:
        story.append(Paragraph("<b>Périodes refusées</b> :", BODY))
        story += [Paragraph("– " + _window_text(w, granted=False), ITEM) for w in refused]
    if requisition.decision_reason:
        what = (
            "Motif du refus"
            if requisition.decision in (Decision.REJECTED, Decision.PARTLY_APPROVED)
            else "Motif"
        )
        story.append(
            Paragraph(
                f"<b>{what}</b> : " + escape(requisition.decision_reason).replace("\n", "<br/>"),
                BODY,
            )
        )
    return story


#: What the documents say of a 77-1-1 requisition whose authorization reference is missing.
AUTHORIZATION_MISSING = (
    "ATTENTION : enquête préliminaire (art. 77-1-1 CPP) sans référence de l'autorisation du "
    "procureur de la République. La réquisition a été reçue sans cette référence ; il appartient "
    "à l'autorité judiciaire de s'assurer de l'existence de l'autorisation."
)
WARNING = ParagraphStyle(
    "pv-warning",
    parent=BODY,
    textColor=colors.HexColor("#8a1c1c"),
    borderColor=colors.HexColor("#8a1c1c"),
    borderWidth=0.6,
    borderPadding=3,
    spaceBefore=5,
    spaceAfter=7,
)


def authorization_paragraphs(requisition: Requisition) -> list[Any]:
    """In a 77-1-1 inquiry: the prosecutor's authorization reference, or a warning."""
    if requisition.legal_frame != LegalFrame.PRELIMINAIRE:
        return []
    if requisition.prosecutor_authorization:
        return [
            Paragraph(
                "<b>Autorisation du procureur de la République (art. 77-1-1 CPP)</b> : "
                f"{escape(requisition.prosecutor_authorization)}.",
                BODY,
            )
        ]
    return [Paragraph(escape(AUTHORIZATION_MISSING), WARNING)]


def _requisition_paragraphs(requisition: Requisition) -> list[Any]:
    frame = escape(str(LegalFrame(requisition.legal_frame).label))
    return [
        Paragraph(
            f"<b>Réquisition</b> : {escape(requisition.reference)}, procédure n° "
            f"{escape(requisition.procedure_number)}, {frame}, déposée le "
            f"{when(requisition.submitted_at)}.",
            BODY,
        ),
        *authorization_paragraphs(requisition),
    ]


def record_name(link: DownloadLink) -> str:
    """The procès-verbal's file name; its detached signature is this name plus « .sig »."""
    return f"proces-verbal-de-remise-{link.export.package_name}-{link.pk}.pdf"


def files_table(files: Sequence[dict[str, Any]]) -> Table:
    """N°, file, bytes, SHA-256: one row per file, the header repeated on each page."""
    rows: list[list[Any]] = [pdf.header_row(("N°", "Fichier", "Octets", "SHA-256"), HEAD)]
    for number, item in enumerate(files, start=1):
        rows.append(
            [
                Paragraph(str(number), CELL),
                # A long name is split inside its cell (splitLongWords), never over the next column.
                Paragraph(escape(item["path"]), CELL),
                Paragraph(_bytes(item.get("size")), NUMBER),
                Paragraph(escape(item["sha256"]), MONO),
            ]
        )
    return pdf.grid_table(rows, FILE_COLUMNS, padding=3, **GREY_GRID)


#: Camera, start, end (Paris), cause: a Paris time with its offset fits its column on one line.
OUTAGE_COLUMNS = [30 * mm, 36 * mm, 36 * mm, WIDTH - 102 * mm]


def outages_paragraphs(outages: Sequence[dict[str, Any]] | None) -> list[Any]:
    """What the approved windows miss, with start, end (Paris) and cause, or that nothing is.

    ``outages`` are the stored records (camera, UTC ``start``/``end``, ``cause``); None (a
    package built before outages were listed) states nothing.
    """
    if outages is None:
        return []
    title = Paragraph("<b>Interruptions dans les périodes autorisées</b>", BODY)
    if not outages:
        return [
            title,
            Paragraph(
                "Aucune interruption d'enregistrement, panne de l'enregistreur ou destruction "
                "d'images n'est connue dans les périodes autorisées.",
                BODY,
            ),
        ]
    rows: list[list[Any]] = [
        pdf.header_row(("Caméra", "Début (Paris)", "Fin (Paris)", "Cause"), HEAD)
    ]
    for item in outages:
        start = datetime.fromisoformat(item["start"])
        end = datetime.fromisoformat(item["end"])
        rows.append(
            [
                Paragraph(escape(item["camera"]), CELL),
                Paragraph(when(start), CELL),
                Paragraph(when(end), CELL),
                Paragraph(
                    escape(item["cause"])
                    + f" (durée {duration_text((end - start).total_seconds())})",
                    CELL,
                ),
            ]
        )
    table = pdf.grid_table(rows, OUTAGE_COLUMNS, padding=3, **GREY_GRID)
    return [
        title,
        Paragraph(
            "Les séquences remises ne contiennent pas d'images pour les intervalles suivants :",
            BODY,
        ),
        table,
    ]


#: How each camera-clock measure is named in the documents.
CLOCK_SOURCE_WORDS = {
    "rtcp": "rapports RTCP de la caméra",
    "stream": "horodatage du flux comparé à l'arrivée",
}


def _milliseconds(value: float) -> str:
    return f"{value:+.0f}\u00a0ms".replace("-", "\u2212")


def clock_paragraphs(clocks: dict[str, Any] | None) -> list[Any]:
    """The time source and the clocks measured at recording time (None states nothing: a
    package built before they were recorded)."""
    if clocks is None:
        return []
    story: list[Any] = [
        Paragraph(
            "<b>Source de l'heure</b> : les images sont datées à leur arrivée par l'horloge du "
            "serveur d'enregistrement du centre de supervision urbain, et non par l'horloge de la "
            "caméra. Contrôles de l'horloge du serveur encadrant les périodes remises (tolérance "
            f"{clocks['server_max_offset_ms']} ms) :",
            BODY,
        )
    ]
    checks = clocks.get("server_checks") or []
    if not checks:
        story.append(
            Paragraph(
                "– aucun contrôle de l'horloge du serveur n'est enregistré pour ces périodes : "
                "son exactitude n'est pas attestée.",
                ITEM,
            )
        )
    for check in checks:
        moment = datetime.fromisoformat(check["checked_at"]["utc"])
        warning = " — <b>hors tolérance</b>" if check.get("alert") else ""
        story.append(Paragraph(f"– {when(moment)} : {escape(check['text'])}{warning}", ITEM))
    story.append(
        Paragraph(
            "<b>Horloge des caméras</b> (écart entre l'heure de la caméra, celle qu'elle "
            "incruste dans l'image, et l'heure d'arrivée, mesuré pendant l'enregistrement ; "
            f"tolérance {clocks['camera_max_drift_ms']} ms) :",
            BODY,
        )
    )
    for camera in clocks.get("cameras") or []:
        if camera.get("min_offset_ms") is None:
            text = "non mesuré (flux sans horodatage exploitable)"
        else:
            low, high = camera["min_offset_ms"], camera["max_offset_ms"]
            span = (
                _milliseconds(low)
                if low == high
                else f"de {_milliseconds(low)} à {_milliseconds(high)}"
            )
            how = ", ".join(CLOCK_SOURCE_WORDS.get(s, s) for s in camera.get("sources") or [])
            measured = camera["segments_measured"]
            text = f"{span} ({how}, {measured} segment{'s' if measured > 1 else ''})"
            if max(abs(low), abs(high)) > clocks["camera_max_drift_ms"]:
                text += " — <b>hors tolérance</b>"
        story.append(Paragraph(f"– {escape(camera['camera'])} : {text}", ITEM))
    return story


def _signatures(left: str, right: str) -> Table:
    return Table(
        [[left, right], ["\n\n\n", "\n\n\n"]],
        colWidths=[WIDTH / 2, WIDTH / 2],
        style=TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BOX", (0, 1), (0, 1), 0.4, colors.grey),
                ("BOX", (1, 1), (1, 1), 0.4, colors.grey),
            ]
        ),
    )


def _render(story: list[Any], *, title: str, footer: str) -> bytes:
    # Always in French, whatever the language of the page that asked for it.
    return pdf.document(
        story, title=title, layout=LAYOUT, footer=footer, author="Centre de supervision urbain"
    )


def fiche_de_preparation(
    *,
    export: Export,
    clips: list[Clip],
    prepared_at: datetime,
    fingerprint: str,
    outages: Sequence[tuple[Window, Outage]] = (),
    clocks: dict[str, Any] | None = None,
) -> bytes:
    """The preparation sheet put in the package at build time (not the handover record)."""
    requisition = export.requisition
    title = f"Fiche de préparation {export.package_name}"
    story: list[Any] = [
        pdf.para("Fiche de préparation d'une extraction d'images de vidéoprotection", "Title"),
        Paragraph(
            f"Centre de supervision urbain — extraction {escape(export.package_name)}. "
            "Ce document n'est pas le procès-verbal de remise : celui-ci est établi au moment "
            "du téléchargement par l'officier destinataire.",
            BODY,
        ),
        Spacer(1, 3 * mm),
        *_requisition_paragraphs(requisition),
        Paragraph(f"<b>Officier requérant (destinataire)</b> : {_who(requisition.officer)}.", BODY),
        *decision_paragraphs(requisition),
        Paragraph(
            f"<b>Agent ayant préparé l'extraction</b> : {_who(export.prepared_by)}, "
            f"le {when(prepared_at)} (heure de Paris).",
            BODY,
        ),
        Spacer(1, 3 * mm),
        Paragraph("<b>Extraits</b>", BODY),
    ]
    rows: list[list[Any]] = [
        pdf.header_row(
            (
                "Fichier",
                "Caméra",
                "Première / dernière image (Paris)",
                "Durée (séquence / période)",
            ),
            HEAD,
        )
    ]
    for clip in clips:
        camera = clip.window.camera
        note = (
            f"<br/>Masques de confidentialité (version {clip.mask['version']}) incrustés : "
            "images ré-encodées en H.264."
            if clip.mask
            else ""
        )
        codec = f"<br/>Codec {escape(codec_label(clip.codec))}." if clip.codec else ""
        window = (clip.window.granted_ends_at - clip.window.granted_starts_at).total_seconds()
        rows.append(
            [
                Paragraph(escape(clip.path) + note + codec, CELL),
                Paragraph(escape(f"{camera.code} — {camera.name}, {camera.address}"), CELL),
                Paragraph(f"{when(clip.first_at)}<br/>{when(clip.last_at)}", CELL),
                Paragraph(f"{duration_text(clip.seconds)}<br/>{duration_text(window)}", CELL),
            ]
        )
    clips_table = pdf.grid_table(
        rows, [WIDTH * 0.36, WIDTH * 0.26, WIDTH * 0.22, WIDTH * 0.16], **GREY_GRID
    )
    story += [
        clips_table,
        Spacer(1, 3 * mm),
        files_table([{"path": c.path, "size": c.size, "sha256": c.sha256} for c in clips]),
        Spacer(1, 3 * mm),
        *outages_paragraphs(
            [outage.record(camera=window.camera.code) for window, outage in outages]
        ),
        Spacer(1, 3 * mm),
        *clock_paragraphs(clocks),
        Spacer(1, 3 * mm),
        Paragraph(
            "Le fichier manifest.json liste l'empreinte SHA-256 de chaque fichier et de chaque "
            "segment d'enregistrement source ; il est signé (Ed25519, manifest.json.sig). "
            "Empreinte SHA-256 de la clé publique de signature de la ville :",
            BODY,
        ),
        Paragraph(escape(fingerprint), MONO),
    ]
    return _render(story, title=title, footer=title)


def proces_verbal_de_remise(
    *, link: DownloadLink, signing_fingerprint: str, place: str = ""
) -> bytes:
    """The handover record, drawn up at the download (``link.used_at``); it is signed apart
    with the key of ``signing_fingerprint``, and says how to verify that signature."""
    export = link.export
    requisition = export.requisition
    recipient = link.recipient
    title = f"Procès-verbal de remise {export.package_name}"
    handed = when(link.used_at)
    place = place or settings.EVIDENCE_HANDOVER_PLACE
    story: list[Any] = [
        pdf.para("Procès-verbal de remise d'images de vidéoprotection", "Title"),
        Paragraph(
            f"Le centre de supervision urbain a remis à l'officier désigné ci-dessous "
            f"l'extraction {escape(export.package_name)}.",
            BODY,
        ),
        Spacer(1, 3 * mm),
        Paragraph(f"<b>Date et heure de la remise</b> : {handed} (heure de Paris).", BODY),
        Paragraph(f"<b>Lieu de la remise</b> : {escape(place)}.", BODY),
        Paragraph(
            f"<b>Destinataire</b> : {escape(recipient.get_full_name() or recipient.username)}"
            + (f", matricule {escape(recipient.badge_number)}" if recipient.badge_number else ""),
            BODY,
        ),
        Paragraph(f"<b>Qualité</b> : {escape(_quality(recipient))}.", BODY),
        Paragraph(
            f"<b>Service</b> : {escape(str(recipient.service)) if recipient.service_id else '—'}.",
            BODY,
        ),
        *_requisition_paragraphs(requisition),
        *decision_paragraphs(requisition),
        Paragraph(
            f"<b>Extraction</b> : préparée par {_who(export.prepared_by)} le "
            f"{when(export.finished_at)}, vérifiée et libérée par {_who(export.released_by)} le "
            f"{when(export.released_at)}.",
            BODY,
        ),
        Paragraph(f"<b>Support</b> : {escape(MEDIUM)}", BODY),
        Paragraph(
            f"<b>Archive remise</b> : {escape(export.package_name)}.zip, "
            f"{_bytes(export.package_size)} octets chiffrés au repos, SHA-256 de l'archive :",
            BODY,
        ),
        Paragraph(escape(export.package_sha256 or "—"), MONO),
        Spacer(1, 3 * mm),
        Paragraph("<b>Fichiers remis</b>", BODY),
        files_table(export.files),
        Spacer(1, 3 * mm),
        *outages_paragraphs(export.outages),
        Spacer(1, 3 * mm),
        *clock_paragraphs(export.clocks),
        Spacer(1, 3 * mm),
        Paragraph(
            "Le manifeste (manifest.json) est signé par la ville (Ed25519, manifest.json.sig) ; "
            "la vérification se fait hors ligne avec le script verify.py joint. Empreinte "
            "SHA-256 de la clé publique de signature de la ville :",
            BODY,
        ),
        Paragraph(escape(export.key_fingerprint or "—"), MONO),
        Spacer(1, 3 * mm),
        *_signature_paragraphs(link, signing_fingerprint),
        Spacer(1, 8 * mm),
        KeepTogether(
            [
                _signatures("Pour le centre de supervision urbain", "Le destinataire"),
            ]
        ),
    ]
    return _render(story, title=title, footer=f"{title} — remis le {handed}")


def _signature_paragraphs(link: DownloadLink, fingerprint: str) -> list[Any]:
    """How the reader checks that this record is the one the CSU signed."""
    name = record_name(link)
    same = fingerprint == link.export.key_fingerprint
    key = (
        "la même clé que le manifeste"
        if same
        else "la clé de signature actuelle de la ville, qui a remplacé celle du manifeste "
        f"(empreinte SHA-256 {fingerprint} ; sa clé publique est celle de la page "
        "d'information publique du CSU)"
    )
    story: list[Any] = [
        Paragraph(
            "<b>Signature du présent procès-verbal</b> : il est signé électroniquement par la "
            f"ville (Ed25519) avec {key}. Sa signature détachée, le fichier "
            f"{escape(name)}.sig, se télécharge avec lui depuis la page de la réquisition ; "
            "la modification d'un seul octet du procès-verbal fait échouer sa vérification. "
            "Pour le vérifier hors ligne, placer les deux fichiers dans le dossier de l'archive "
            "extraite (à côté de verify.py et de cle-publique.pem) et lancer :",
            BODY,
        ),
        Paragraph(escape(f"python3 verify.py --fingerprint {fingerprint} --document {name}"), MONO),
        Paragraph(
            "Le script répond « OK » pour un procès-verbal intact signé par la clé attendue. "
            "Sans Python : base64 -d le fichier .sig vers pv.sig, puis « openssl pkeyutl "
            "-verify -pubin -inkey cle-publique.pem -rawin -in "
            f"{escape(name)} -sigfile pv.sig » répond « Signature Verified Successfully ».",
            BODY,
        ),
    ]
    return story
