from __future__ import annotations

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera
from evidence.models import LegalFrame


class RequisitionForm(forms.Form):
    procedure_number = forms.CharField(label=_("Numéro de procédure"), max_length=60)
    legal_frame = forms.ChoiceField(label=_("Cadre juridique"), choices=LegalFrame.choices)
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


def _camera_choices() -> list[tuple[str, str]]:
    cameras = Camera.objects.filter(authorization__isnull=False).order_by("code")
    return [("", "—")] + [(c.code, f"{c.code} — {c.name}") for c in cameras]


class WindowForm(forms.Form):
    camera = forms.ChoiceField(label=_("Caméra"), required=False)
    starts_at = forms.DateTimeField(
        label=_("Début"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
    )
    ends_at = forms.DateTimeField(
        label=_("Fin"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
    )

    def __init__(self, *args, camera_choices=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["camera"].choices = camera_choices or _camera_choices()

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

    def __init__(self, *args, windows=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["windows"].choices = [(w.pk, str(w)) for w in windows]
