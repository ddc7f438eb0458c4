from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera
from csu.lib.times import PARIS, ambiguous, paris
from evidence.models import LegalFrame


class RequisitionForm(forms.Form):
    procedure_number = forms.CharField(label=_("Numéro de procédure"), max_length=60)
    legal_frame = forms.ChoiceField(label=_("Cadre juridique"), choices=LegalFrame.choices)
    prosecutor_authorization = forms.CharField(
        label=_("Autorisation du procureur (art. 77-1-1 CPP)"),
        required=False,
        max_length=120,
        help_text=_(
            "Enquête préliminaire : référence de l'autorisation du procureur de la République "
            "(numéro de parquet, date). Si vous la laissez vide, la réquisition et les documents "
            "de remise le signaleront."
        ),
    )
    facts = forms.CharField(label=_("Faits"), widget=forms.Textarea(attrs={"rows": 4}))
    justification = forms.CharField(
        label=_("Justification du besoin des images"), widget=forms.Textarea(attrs={"rows": 3})
    )
    attachment = forms.FileField(
        label=_("Réquisition numérisée"),
        help_text=_("PDF ou image (JPEG, PNG, TIFF)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.tif,.tiff"}),
    )
    signalements = forms.CharField(
        label=_("Signalements du CSU concernés"),
        required=False,
        max_length=500,
        help_text=_("Numéros donnés par la salle (ex. 2026-000123), séparés par des espaces."),
    )

    def __init__(self, *args: Any, scan_kept: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The scan sent with a form that came back with errors is kept: no need to send it again.
        self.fields["attachment"].required = not scan_kept


class ParisDateTimeField(forms.Field):
    """A Paris wall-clock time « 2025-10-26T02:30:00 », with « +01:00 » / « +02:00 » accepted.

    During the hour repeated on the night of the autumn change a time without its offset names
    two instants: it is refused with a message asking for the offset, never guessed.
    """

    def to_python(self, value: Any) -> datetime | None:
        text = ("" if value in self.empty_values else str(value)).strip().replace(" ", "T", 1)
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(
                _("Heure illisible : écrivez-la « AAAA-MM-JJTHH:MM:SS » (heure de Paris).")
            ) from None
        if moment.tzinfo is not None:
            return moment
        local = moment.replace(tzinfo=PARIS)
        if ambiguous(local):
            raise forms.ValidationError(
                _(
                    "%(time)s existe deux fois cette nuit-là (changement d'heure) : ajoutez "
                    "+02:00 (avant le changement) ou +01:00 (après)."
                )
                % {"time": text}
            )
        if local.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != moment:
            raise forms.ValidationError(
                _("%(time)s n'existe pas à Paris (passage à l'heure d'été).") % {"time": text}
            )
        return local


def paris_input(moment: datetime) -> str:
    """The value shown in a ParisDateTimeField: the offset only where the hour repeats."""
    local = paris(moment)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    return (
        text + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
        if ambiguous(moment)
        else text
    )


def _camera_choices() -> list[tuple[str, str]]:
    cameras = Camera.objects.filter(authorization__isnull=False).order_by("code")
    return [("", "—")] + [(c.code, f"{c.code} — {c.name}") for c in cameras]


class WindowForm(forms.Form):
    camera = forms.ChoiceField(label=_("Caméra"), required=False)
    # Paris time whatever the server's zone; the repeated autumn hour takes its offset.
    starts_at = ParisDateTimeField(
        label=_("Début"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "AAAA-MM-JJTHH:MM:SS", "size": 22}),
    )
    ends_at = ParisDateTimeField(
        label=_("Fin"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "AAAA-MM-JJTHH:MM:SS", "size": 22}),
    )

    def __init__(self, *args, camera_choices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["camera"]).choices = camera_choices or _camera_choices()

    def clean(self):
        data = super().clean()
        filled = [data.get(n) for n in ("camera", "starts_at", "ends_at")]
        if any(filled) and not all(filled):
            raise forms.ValidationError(_("Indiquez la caméra, le début et la fin."))
        return data


WindowFormSet = formset_factory(WindowForm, extra=4, max_num=20)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Décision"),
        choices=[
            ("approve_all", _("Autoriser toute la réquisition")),
            ("approve_part", _("Autoriser seulement les périodes cochées")),
            ("reject", _("Refuser")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez une décision.")},
    )
    windows = forms.TypedMultipleChoiceField(
        label=_("Périodes autorisées"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Motif"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    prosecutor_authorization = forms.CharField(
        label=_("Référence de l'autorisation du procureur (art. 77-1-1 CPP)"),
        required=False,
        max_length=120,
        help_text=_("L'officier ne l'a pas indiquée : vous pouvez l'enregistrer ici."),
    )

    def __init__(self, *args, windows=(), authorization_asked: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not authorization_asked:  # only a 77-1-1 requisition without its reference
            del self.fields["prosecutor_authorization"]
        self.window_list = list(windows)
        cast(forms.ChoiceField, self.fields["windows"]).choices = [
            (w.pk, str(w)) for w in self.window_list
        ]
        for window in self.window_list:
            for name, moment, label in (
                ("start", window.starts_at, _("Autorisée à partir de (heure de Paris)")),
                ("end", window.ends_at, _("Autorisée jusqu'à (heure de Paris)")),
            ):
                self.fields[f"{name}_{window.pk}"] = ParisDateTimeField(
                    label=label,
                    required=False,
                    initial=paris_input(moment),
                    widget=forms.TextInput(attrs={"size": 26, "class": "mono"}),
                )

    def rows(self) -> list[dict[str, Any]]:
        """Per window: its checkbox value and label, and its two bound time fields."""
        return [
            {
                "window": w,
                "checked": str(w.pk) in [str(v) for v in (self["windows"].value() or [])],
                "start": self[f"start_{w.pk}"],
                "end": self[f"end_{w.pk}"],
            }
            for w in self.window_list
        ]

    def _bound(self, name: str, asked: datetime) -> datetime:
        """The typed time, or the window's own bound when left as shown (to the second)."""
        typed = self.cleaned_data.get(name)
        if typed is None or typed == asked.replace(microsecond=0):
            return asked
        return typed

    def shortened(self) -> dict[int, tuple[datetime, datetime]]:
        """Window id → (start, end) where the magistrate changed a bound of the window."""
        result = {}
        for window in self.window_list:
            start = self._bound(f"start_{window.pk}", window.starts_at)
            end = self._bound(f"end_{window.pk}", window.ends_at)
            if (start, end) != (window.starts_at, window.ends_at):
                result[window.pk] = (start, end)
        return result
