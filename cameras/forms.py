from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Commune, home_commune
from accounts.qualities import Quality
from cameras.models import (
    Authorization,
    Camera,
    Device,
    five_years_after,
)
from cameras.purposes import Purpose
from cameras.services import AUTHORIZATION_FIELDS
from cameras.sources import split_credentials

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuthorizationForm(forms.ModelForm):
    expires_on = forms.DateField(
        label=_("date d'expiration"),
        required=False,
        widget=DATE,
        help_text=_("Laissez vide : 5 ans après la date de l'arrêté."),
    )
    purposes = forms.MultipleChoiceField(
        label=_("finalités (CSI L251-2)"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins une finalité de l'article L251-2.")},
        help_text=_(
            "Celles que l'arrêté autorise : signalements, relectures et extractions "
            "n'en poursuivent pas d'autres."
        ),
    )
    qualities = forms.MultipleChoiceField(
        label=_("qualités des personnes habilitées à visionner"),
        choices=Quality.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _(
                "Cochez au moins une qualité de personnes habilitées à visionner les images."
            )
        },
        help_text=_(
            "Celles que l'arrêté désigne (CSI L252-2) : aucune habilitation n'est "
            "délivrée à une personne d'une autre qualité."
        ),
    )

    class Meta:
        model = Authorization
        fields = list(AUTHORIZATION_FIELDS)
        widgets = {
            "issued_on": DATE,
            "purposes_details": forms.Textarea(attrs={"rows": 3}),
            "perimeter": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict[str, Any]:
        # The service fills in the default expiry; clean runs before the model checks it.
        super().clean()
        data = self.cleaned_data
        if data.get("issued_on") and not data.get("expires_on"):
            data["expires_on"] = five_years_after(data["issued_on"])
        return data


class CameraForm(forms.ModelForm):
    stream_username = forms.CharField(
        label=_("identifiant du flux"), required=False, max_length=200
    )
    stream_password = forms.CharField(
        label=_("mot de passe du flux"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Chiffré à l'enregistrement et jamais réaffiché. Laissez vide pour garder, sauf si "
            "la machine, le port ou le protocole de l'adresse change : ressaisissez-le alors."
        ),
    )
    clear_credentials = forms.BooleanField(
        label=_("effacer les identifiants enregistrés"), required=False
    )
    retention_reason = forms.CharField(
        label=_("motif de la réduction de la conservation"),
        required=False,
        max_length=500,
        help_text=_("Transmis au DPO avec la demande, si la conservation est réduite."),
    )

    class Meta:
        model = Camera
        fields = [
            "code",
            "name",
            "address",
            "latitude",
            "longitude",
            "commune",
            "sector",
            "kind",
            "infrared",
            "commissioned_on",
            "status",
            "retention_days",
            "device",
            "authorization",
            "police_relay",
            "stream_url",
            "live_stream_url",
            "expected_fps",
        ]
        widgets = {"commissioned_on": DATE}
        help_texts = {
            "stream_url": _(
                "rtsp://…, http(s)://… (flux MJPEG ou image fixe) ou file:///chemin/video.mp4"
            ),
            "retention_days": _(
                "Une réduction n'entre en vigueur qu'après validation par le DPO, et pour les "
                "images enregistrées ensuite ; une augmentation s'applique aussitôt."
            ),
            "commune": _(
                "La commune à qui appartient la caméra : seuls ses agents, et ceux des communes "
                "qu'une convention intercommunale en vigueur y autorise, en voient les images."
            ),
            "device": _(
                "Pour un capteur d'un équipement multicapteur. Le capteur prend l'autorisation "
                "de l'équipement, son adresse si la sienne est vide, et ses identifiants de flux "
                "s'il n'en a pas en propre ; son flux se joint à l'adresse réseau du boîtier."
            ),
        }

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and data.get("stream_url"):
            # A login typed inside the address moves to its own fields at once: the page shown
            # back (after any error) never repeats it.
            url, username, password = split_credentials(data["stream_url"])
            if username or password:
                data = data.copy()
                data["stream_url"] = url
                data["stream_username"] = data.get("stream_username") or username
                data["stream_password"] = data.get("stream_password") or password
        super().__init__(data, *args, **kwargs)
        # Left out (a single-commune CSU's form posted by a script), it is the home commune.
        commune = cast(forms.ModelChoiceField, self.fields["commune"])
        commune.required = False
        commune.empty_label = None
        if not (self.instance and self.instance.pk and self.instance.has_credentials):
            del self.fields["clear_credentials"]
        if not (self.instance and self.instance.pk):
            del self.fields["retention_reason"]

    def clean_commune(self) -> Commune:
        return self.cleaned_data.get("commune") or home_commune()


class DeviceForm(forms.ModelForm):
    stream_username = forms.CharField(
        label=_("identifiant du flux"), required=False, max_length=200
    )
    stream_password = forms.CharField(
        label=_("mot de passe du flux"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Commun aux capteurs sans identifiants propres. Chiffré à l'enregistrement et "
            "jamais réaffiché. Laissez vide pour garder, sauf si l'adresse réseau change : "
            "ressaisissez-le alors."
        ),
    )
    clear_credentials = forms.BooleanField(
        label=_("effacer les identifiants enregistrés"), required=False
    )

    class Meta:
        model = Device
        fields = [
            "code",
            "name",
            "host",
            "address",
            "authorization",
            "manufacturer",
            "model_name",
        ]
        help_texts = {
            "host": _(
                "Nom ou adresse IP du boîtier, sans protocole ni port. Changée, elle est reportée "
                "dans l'adresse du flux de chaque capteur."
            ),
            "authorization": _("Celle de tous les capteurs de l'équipement."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (self.instance and self.instance.pk and self.instance.has_credentials):
            del self.fields["clear_credentials"]


class MaskForm(forms.Form):
    polygons = forms.CharField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("commentaire"), required=False, max_length=500)

    def clean_polygons(self) -> list[Any]:
        raw = self.cleaned_data["polygons"] or "[]"
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(
                _("Masques illisibles : les polygones sont mal formés.")
            ) from None
        return value
