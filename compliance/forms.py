from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cameras.models import Authorization, Camera
from compliance.models import IdentityDocument, RefusalReason

LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PeriodForm(forms.Form):
    since = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Au (inclus)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("La fin de la période précède son début."))
        return data

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) in aware datetimes: from the first day's midnight to after the last."""
        zone = timezone.get_current_timezone()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = datetime.combine(since, time.min, zone) if since else None
        end = datetime.combine(until + timedelta(days=1), time.min, zone) if until else None
        return start, end


class AuditPackForm(PeriodForm):
    since = forms.DateField(label=_("Du"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Au (inclus)"), widget=forms.DateInput(attrs={"type": "date"}))


class AccessRequestForm(forms.Form):
    requester_last_name = forms.CharField(label=_("Nom"), max_length=150)
    requester_first_name = forms.CharField(label=_("Prénom"), max_length=150)
    requester_birth_date = forms.DateField(
        label=_("Date de naissance"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    requester_email = forms.EmailField(label=_("Courriel"), required=False)
    requester_address = forms.CharField(
        label=_("Adresse postale"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    identity_document = forms.ChoiceField(
        label=_("Justificatif d'identité présenté"), choices=IdentityDocument.choices
    )
    identity_document_ref = forms.CharField(
        label=_("Quatre derniers caractères du numéro du justificatif"),
        min_length=4,
        max_length=4,
        help_text=_("Seuls ces caractères sont conservés (minimisation)."),
    )
    identity_checked = forms.BooleanField(
        label=_("J'ai vérifié l'identité du demandeur sur ce justificatif"), required=True
    )
    place = forms.CharField(label=_("Lieu"), max_length=300)
    starts_at = forms.DateTimeField(label=_("Début de la période"), widget=LOCAL_DATETIME)
    ends_at = forms.DateTimeField(label=_("Fin de la période"), widget=LOCAL_DATETIME)
    cameras = forms.ModelMultipleChoiceField(
        label=_("Caméras"), queryset=Camera.objects.order_by("code"), widget=forms.SelectMultiple
    )
    description = forms.CharField(
        label=_("Signalement donné par le demandeur"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Tenue, véhicule, trajet : ce qui permet de le reconnaître dans les images."),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end:
            if end <= start:
                self.add_error("ends_at", _("La fin de la période doit suivre son début."))
            elif end - start > timedelta(hours=24):
                self.add_error("ends_at", _("La période ne peut dépasser 24 heures."))
            elif start > timezone.now():
                self.add_error("starts_at", _("La période commence dans le futur."))
        return data


class AnswerForm(forms.Form):
    ANSWERS = [
        ("destroyed", _("Images détruites (date tirée du registre des destructions)")),
        ("extract", _("Extrait communiqué, tiers floutés")),
        ("refuse", _("Refus motivé")),
    ]
    answer = forms.ChoiceField(label=_("Réponse"), choices=ANSWERS, widget=forms.RadioSelect)
    refusal_reason = forms.ChoiceField(
        label=_("Motif du refus"),
        choices=[("", "—"), *RefusalReason.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("Précisions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = super().clean()
        if data.get("answer") == "refuse" and not data.get("refusal_reason"):
            self.add_error("refusal_reason", _("Choisissez un motif de refus prévu par la loi."))
        return data


def _areas_json(text: str) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        raise forms.ValidationError(_("Ce n'est pas une liste de polygones JSON.")) from None
    if not isinstance(value, list):
        raise forms.ValidationError(_("Ce n'est pas une liste de polygones JSON."))
    return value


class ExtractForm(forms.Form):
    """The areas drawn in the editor (``compliance.areas`` format), sent as JSON."""

    keep_areas = forms.CharField(
        label=_("Zones où apparaît le demandeur"), widget=forms.HiddenInput
    )
    blur_areas = forms.CharField(
        label=_("Zones à flouter même dans les zones nettes"),
        widget=forms.HiddenInput,
        required=False,
    )

    def clean_keep_areas(self):
        return _areas_json(self.cleaned_data["keep_areas"])

    def clean_blur_areas(self):
        return _areas_json(self.cleaned_data["blur_areas"])


# --- Violations de données -----------------------------------------------------------------------


class BreachForm(forms.Form):
    description = forms.CharField(
        label=_("Ce qui s'est passé"), widget=forms.Textarea(attrs={"rows": 4})
    )
    occurred_at = forms.DateTimeField(
        label=_("Survenue le (si connu)"), required=False, widget=LOCAL_DATETIME
    )
    discovered_at = forms.DateTimeField(label=_("Découverte le"), widget=LOCAL_DATETIME)
    discovered_by = forms.CharField(label=_("Découverte par"), max_length=200)
    data_categories = forms.CharField(
        label=_("Catégories de données concernées"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    data_records = forms.IntegerField(
        label=_("Nombre approximatif d'enregistrements"), required=False, min_value=0
    )
    people_categories = forms.CharField(
        label=_("Catégories de personnes concernées"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    people_count = forms.IntegerField(
        label=_("Nombre approximatif de personnes"), required=False, min_value=0
    )
    consequences = forms.CharField(
        label=_("Conséquences probables"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    measures_taken = forms.CharField(
        label=_("Mesures prises"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    measures_planned = forms.CharField(
        label=_("Mesures envisagées"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


DECISIONS = [
    ("notify", _("Oui")),
    ("not_notify", _("Non")),
]


class BreachDecisionForm(forms.Form):
    cnil_decision = forms.ChoiceField(
        label=_("Notifier la CNIL (RGPD art. 33)"), choices=DECISIONS, widget=forms.RadioSelect
    )
    cnil_reason = forms.CharField(
        label=_("Motif de la décision"),
        help_text=_("Pourquoi la violation présente, ou non, un risque pour les personnes."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    cnil_notified_at = forms.DateTimeField(
        label=_("Notifiée à la CNIL le"), required=False, widget=LOCAL_DATETIME
    )
    cnil_reference = forms.CharField(
        label=_("Référence de la notification CNIL"), required=False, max_length=100
    )
    people_decision = forms.ChoiceField(
        label=_("Prévenir les personnes concernées (RGPD art. 34)"),
        choices=DECISIONS,
        widget=forms.RadioSelect,
    )
    people_reason = forms.CharField(
        label=_("Motif de la décision"),
        help_text=_("Un risque élevé pour leurs droits et libertés impose de les prévenir."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    people_notified_at = forms.DateTimeField(
        label=_("Personnes prévenues le"), required=False, widget=LOCAL_DATETIME
    )


class BreachCloseForm(forms.Form):
    note = forms.CharField(label=_("Bilan de clôture"), widget=forms.Textarea(attrs={"rows": 3}))


class ProcessingRecordPublishForm(forms.Form):
    note = forms.CharField(
        label=_("Motif de la mise à jour"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ImpactAssessmentForm(forms.Form):
    # Empty files reach the service, which refuses them in its own words.
    file = forms.FileField(label=_("Fichier (PDF, ODT ou DOCX)"), allow_empty_file=True)
    assessed_on = forms.DateField(
        label=_("Date de l'analyse"), widget=forms.DateInput(attrs={"type": "date"})
    )
    author = forms.CharField(label=_("Auteur"), max_length=200)
    summary = forms.CharField(
        label=_("Résumé : risques identifiés et mesures retenues"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    authorizations = forms.ModelMultipleChoiceField(
        label=_("Autorisations préfectorales couvertes"),
        queryset=Authorization.objects.order_by("number"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
