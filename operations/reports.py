"""Charts (PNG) and the annual activity report (PDF, in French) built from operations.stats."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers

import matplotlib.pyplot as plt
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Image, PageBreak, Spacer, Table

from csu.lib import pdf
from operations.models import Category
from operations.stats import REQUISITION_FIGURES, Period, statistics

#: The header cells of the figures' tables.
BOLD = ParagraphStyle(
    "report-head", parent=pdf.STYLES["BodyText"], fontName="Helvetica-Bold", fontSize=8, leading=10
)
CHARTS = ("active_hours", "signalements", "requisitions", "availability")
# One colour per category, distinguishable in print and by colour-blind readers (Okabe-Ito).
PALETTE = ["#D55E00", "#E69F00", "#CC79A7", "#0072B2", "#56B4E9", "#009E73", "#999999"]


def month_label(key: str) -> str:
    """« janvier 2026 » (« January 2026 » in English): the month's full name and its year."""
    year, month = (int(x) for x in key.split("-"))
    return formats.date_format(date(year, month, 1), "F Y")


def requisition_labels() -> dict[str, str]:
    """The name of each requisition figure, in the active language."""
    return {
        "received": _("Reçues"),
        "handed_over": _("Remises"),
        "refused": _("Refusées"),
        "too_late": _("Trop tardives (images détruites)"),
    }


def hours(value: float | None) -> str:
    return "—" if value is None else _number(value) + " h"


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def chart(name: str, stats: dict[str, Any]) -> bytes:
    """One of CHARTS as a PNG image."""
    return _png(chart_figure(name, stats))


def _counts_axis(axes: Any) -> None:
    """A y axis for counts: ticks on whole numbers only, from 0, at least up to 1.

    Without it matplotlib puts ticks at 0.5 when the counts are small (« half signalements »)
    and centres an empty chart on zero, with negative ticks (« negative requisitions »).
    """
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.set_ylim(bottom=0, top=max(1.0, axes.get_ylim()[1]))


def chart_figure(name: str, stats: dict[str, Any]) -> Figure:
    """One of CHARTS as a matplotlib figure (closed by :func:`chart` once drawn)."""
    figure, axes = plt.subplots(figsize=(8, 3.4))
    if name == "active_hours":
        months = list(stats["active_hours"]["by_month"])
        values = list(stats["active_hours"]["by_month"].values())
        bars = axes.bar([month_label(m) for m in months], values, color="#1f4fa3")
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.set_ylim(bottom=0, top=max(1.0, axes.get_ylim()[1]))
        axes.set_ylabel(_("heures"))
        axes.set_title(_("Heures d'activité de la salle par mois"))
    elif name == "signalements":
        by_month = stats["signalements"]["by_month"]
        months = list(by_month)
        labels = [month_label(m) for m in months]
        bottom = [0] * len(months)
        for colour, (code, label) in zip(PALETTE, Category.choices, strict=True):
            values = [by_month[m][code] for m in months]
            axes.bar(labels, values, bottom=bottom, label=str(label), color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _counts_axis(axes)
        axes.set_ylabel(_("signalements"))
        axes.set_title(_("Signalements par mois et par catégorie"))
        axes.legend(fontsize=7, ncols=2, loc="upper left", bbox_to_anchor=(1, 1))
    elif name == "requisitions":
        by_month = stats["requisitions"]["by_month"]
        months = list(by_month)
        figure_labels = requisition_labels()
        width = 0.2
        colours = ["#0072B2", "#009E73", "#D55E00", "#999999"]
        for n, (figure_name, colour) in enumerate(zip(REQUISITION_FIGURES, colours, strict=True)):
            positions = [i + (n - 1.5) * width for i in range(len(months))]
            values = [by_month[m][figure_name] for m in months]
            axes.bar(positions, values, width, label=figure_labels[figure_name], color=colour)
        axes.set_xticks(range(len(months)), [month_label(m) for m in months])
        _counts_axis(axes)
        axes.set_ylabel(_("réquisitions"))
        axes.set_title(_("Réquisitions judiciaires par mois"))
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    elif name == "availability":
        # A month without any camera watched has no availability: no bar rather than 0 %.
        measured = {
            m: v for m, v in stats["camera_availability"]["by_month"].items() if v is not None
        }
        values = [100 * v for v in measured.values()]
        bars = axes.bar([month_label(m) for m in measured], values, color="#009E73")
        axes.bar_label(bars, fmt="%.1f", fontsize=8)
        axes.set_ylim(max(0, min([*values, 90]) - 5), 100.5)
        axes.set_ylabel("%")
        axes.set_title(_("Disponibilité des caméras par mois"))
    else:
        plt.close(figure)
        raise KeyError(name)
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %".replace(".", ",")


def _number(value: float) -> str:
    return formats.number_format(value, decimal_pos=1, use_l10n=True, force_grouping=True)


def annual_report(year: int, now: datetime | None = None) -> bytes:
    """The year's activity report as a PDF, always in French (the city publishes it).

    For the current year, the months still to come are neither drawn nor listed.
    """
    with override("fr"):
        return _annual_report(year, now)


def _table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    """Figures: small type, right-aligned numbers, each cell centred in its row's height."""
    return pdf.grid_table(
        rows,
        widths,
        valign="MIDDLE",
        extra=[("FONTSIZE", (0, 0), (-1, -1), 7.5), ("ALIGN", (1, 1), (-1, -1), "RIGHT")],
    )


def _annual_report(year: int, now: datetime | None) -> bytes:
    period = Period(date(year, 1, 1), date(year, 12, 31))
    stats = statistics(period, now)
    today = timezone.localdate(now or timezone.now())
    # A year still running: say up to when the figures go (the months to come are left out).
    running = (
        [
            pdf.para(
                _("Année en cours : chiffres arrêtés au %(day)s.")
                % {"day": formats.date_format(today, "d/m/Y")},
                "Normal",
            )
        ]
        if period.first <= today < period.last
        else []
    )
    story: list[Any] = [
        pdf.para(
            _("Centre de supervision urbain — rapport d'activité %(year)s") % {"year": year},
            "Title",
        ),
        pdf.para(
            _("Période du %(start)s au %(end)s ; document produit le %(now)s.")
            % {
                "start": formats.date_format(period.first, "d/m/Y"),
                "end": formats.date_format(period.last, "d/m/Y"),
                "now": pdf.produced_now(),
            },
            "Normal",
        ),
        *running,
        Spacer(1, 0.4 * cm),
        _table(
            [
                [_("Indicateur"), _("Valeur")],
                [
                    _("Heures d'activité (au moins un opérateur en service)"),
                    _number(stats["active_hours"]["total"]),
                ],
                [_("Signalements"), str(stats["signalements"]["total"])],
                [
                    _("Réquisitions judiciaires reçues"),
                    str(stats["requisitions"]["totals"]["received"]),
                ],
                [
                    _("Délai médian de la réquisition à la remise"),
                    hours(stats["requisitions"]["median_hours_to_handover"]),
                ],
                [
                    _("Disponibilité moyenne des caméras"),
                    _percent(stats["camera_availability"]["overall"]),
                ],
            ],
            [11 * cm, 4 * cm],
        ),
    ]

    def image(name: str) -> Image:
        return Image(io.BytesIO(chart(name, stats)), width=17 * cm, height=17 * cm * 3.4 / 8)

    months = list(stats["active_hours"]["by_month"])
    story += [
        pdf.para(_("Heures d'activité"), "Heading2"),
        image("active_hours"),
        _table(
            [[_("Mois"), _("Heures")]]
            + [[month_label(m), _number(stats["active_hours"]["by_month"][m])] for m in months]
            + [[_("Total"), _number(stats["active_hours"]["total"])]],
            [6 * cm, 4 * cm],
        ),
        PageBreak(),
        pdf.para(_("Signalements"), "Heading2"),
        image("signalements"),
    ]
    by_month = stats["signalements"]["by_month"]
    header = [_("Mois")] + [str(label) for _code, label in Category.choices] + [_("Total")]
    rows = [pdf.header_row(header, BOLD)]
    for m in months:
        counts = [by_month[m][code] for code in Category.values]
        rows.append([month_label(m), *(str(n) for n in counts), str(sum(counts))])
    totals = stats["signalements"]["by_category"]
    rows.append(
        [
            _("Total"),
            *(str(totals[c]) for c in Category.values),
            str(stats["signalements"]["total"]),
        ]
    )
    requisition_stats = stats["requisitions"]
    names = requisition_labels()
    requisition_rows = [
        pdf.header_row(
            [
                _("Mois"),
                *(names[n] for n in REQUISITION_FIGURES),
                _("Délai médian jusqu'à la remise"),
            ],
            BOLD,
        )
    ]
    for m, counts in requisition_stats["by_month"].items():
        requisition_rows.append(
            [
                month_label(m),
                *(str(counts[n]) for n in REQUISITION_FIGURES),
                hours(counts["median_hours_to_handover"]),
            ]
        )
    requisition_rows.append(
        [
            _("Total"),
            *(str(requisition_stats["totals"][n]) for n in REQUISITION_FIGURES),
            hours(requisition_stats["median_hours_to_handover"]),
        ]
    )
    story += [
        _table(rows, [2.2 * cm] + [1.8 * cm] * 8),
        PageBreak(),
        pdf.para(_("Réquisitions judiciaires"), "Heading2"),
        pdf.para(
            _(
                "Reçues : déposées dans le mois ; remises : extraction téléchargée par "
                "l'officier dans le mois ; refusées : refus du magistrat dans le mois ; trop "
                "tardives : aucune image n'a pu être gelée au dépôt, celles demandées ayant "
                "déjà été détruites. Délai : du dépôt à la remise, médiane des remises."
            ),
            "BodyText",
        ),
        image("requisitions"),
        _table(requisition_rows, [2.6 * cm, 2.4 * cm, 2.4 * cm, 2.4 * cm, 3 * cm, 3.2 * cm]),
        PageBreak(),
        pdf.para(_("Disponibilité des caméras"), "Heading2"),
        image("availability"),
        _table(
            [[_("Mois"), _("Disponibilité")]]
            + [
                [month_label(m), _percent(v)]
                for m, v in stats["camera_availability"]["by_month"].items()
            ],
            [6 * cm, 4 * cm],
        ),
        Spacer(1, 0.4 * cm),
        _table(
            [[_("Caméra"), _("Heures observées"), _("Heures en panne"), _("Disponibilité")]]
            + [
                [
                    f"{c['code']} — {c['name']}"[:60],
                    _number(c["hours_observed"]),
                    _number(c["hours_down"]),
                    _percent(c["availability"]),
                ]
                for c in stats["camera_availability"]["cameras"]
            ],
            [8 * cm, 3 * cm, 3 * cm, 3 * cm],
        ),
    ]
    title = _("Rapport d'activité %(year)s") % {"year": year}
    return pdf.document(story, title=title, layout=pdf.REPORT)
