from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import passwords, scope
from accounts.models import (
    INSEE_VALIDATOR,
    Commune,
    Habilitation,
    Service,
    Training,
    User,
    home_commune,
)
from accounts.roles import ROLE_RIGHTS, Right, Role


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Identifiant ou mot de passe incorrect."),
        "inactive": _("Ce compte est désactivé."),
    }


class PasswordChangeForm(forms.Form):
    """The person's own new password, with the old one; the CNIL policy applies."""

    old_password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=passwords.help_text,
    )
    new_password2 = forms.CharField(
        label=_("Confirmation du nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        return _confirmed(self, "new_password1", "new_password2")


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code à 6 chiffres"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError(_("Le code ne contient que des chiffres."))
        return token


# --- The administrator's forms -------------------------------------------------------------------


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _split_list(value: str) -> list[str]:
    return sorted({part.strip() for part in value.replace(";", ",").split(",") if part.strip()})


class ScopeChoiceField(forms.MultipleChoiceField):
    """Several values picked from a list; "a, b" (a script's free text) counts as a and b."""

    def to_python(self, value: Any) -> list[str]:
        return sorted({part for item in super().to_python(value) for part in _split_list(item)})


class UserForm(forms.Form):
    """The fields an administrator sets on an account."""

    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    email = forms.EmailField(label=_("Courriel"), required=False)
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices)
    service = forms.ModelChoiceField(
        label=_("Service"),
        required=False,
        queryset=Service.objects.all(),
        help_text=_("Obligatoire pour un officier de police judiciaire."),
    )
    badge_number = forms.CharField(
        label=_("Matricule"),
        required=False,
        max_length=40,
        help_text=_("RIO, NIGEND ou numéro d'agent."),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("role") == Role.OPJ and not data.get("service"):
            self.add_error(
                "service", _("Un officier de police judiciaire doit être rattaché à un service.")
            )
        # Changing one's own role is refused by accounts.services, for the API as well.
        return data

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class UserCreateForm(UserForm):
    username = forms.CharField(
        label=_("Identifiant"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Lettres, chiffres et . @ + - _ uniquement."),
    )
    password1 = forms.CharField(
        label=_("Mot de passe initial"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=passwords.help_text,
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = ["username", "first_name", "last_name", "email", "role", "service"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("Cet identifiant est déjà utilisé."))
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("password1")
        if password and data.get("password2") and password != data["password2"]:
            self.add_error("password2", _("Les deux mots de passe ne correspondent pas."))
        elif password:
            candidate = User(
                username=data.get("username", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                email=data.get("email", ""),
            )
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return data

    def changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in self.fields if not name.startswith("password")
        }


class PasswordSetForm(forms.Form):
    """A temporary password an administrator gives: its holder replaces it at next sign-in."""

    password1 = forms.CharField(
        label=_("Mot de passe provisoire"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=passwords.help_text,
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        return _confirmed(self, "password1", "password2")


class ReasonForm(forms.Form):
    """The stated reason that a revocation or a second-factor reset requires."""

    reason = forms.CharField(
        label=_("Motif"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Indiquez le motif.")},
    )


class TrainingForm(forms.Form):
    """A training session a person followed (CSI L255-1)."""

    held_on = forms.DateField(label=_("Date de la formation"), widget=_date_input())
    kind = forms.ChoiceField(label=_("Nature"), choices=Training.Kind.choices)
    title = forms.CharField(label=_("Intitulé"), max_length=200, required=False)
    organisation = forms.CharField(
        label=_("Organisme ou formateur"), max_length=200, required=False
    )
    attestation_reference = forms.CharField(
        label=_("Référence de l'attestation"), max_length=100, required=False
    )


class HabilitationForm(forms.Form):
    """A designation to see images: who, by which decision, until when, where, which rights."""

    commune = forms.ModelChoiceField(
        label=_("Commune"),
        queryset=Commune.objects.all(),
        empty_label=None,
        # Left out (a single-commune CSU's form posted by a script), it is the home commune.
        required=False,
        help_text=_(
            "La commune qui emploie la personne (pour un agent de l'État, celle qui lui ouvre "
            "ses images). Les caméras d'une autre commune ne s'ouvrent qu'en vertu d'une "
            "convention intercommunale en vigueur."
        ),
    )
    decision_reference = forms.CharField(label=_("Référence de la décision"), max_length=100)
    issuer = forms.CharField(
        label=_("Autorité de délivrance"),
        max_length=200,
        help_text=_("Par exemple : le maire, le préfet."),
    )
    valid_from = forms.DateField(label=_("Valable du"), widget=_date_input())
    valid_until = forms.DateField(label=_("Valable jusqu'au"), widget=_date_input())
    all_cameras = forms.BooleanField(label=_("Toutes les caméras"), required=False)
    sectors = ScopeChoiceField(
        label=_("Secteurs"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-list"}),
        help_text=_(
            "Les secteurs du registre des caméras : chaque caméra d'un secteur coché est couverte."
        ),
        error_messages={
            "invalid_choice": _("Secteur inconnu du registre des caméras : « %(value)s ».")
        },
    )
    camera_codes = ScopeChoiceField(
        label=_("Caméras"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text=_(
            "Les caméras en service du registre ; Ctrl (ou ⌘) et clic pour en choisir plusieurs."
        ),
        error_messages={
            "invalid_choice": _(
                "Caméra inconnue du registre (ou retirée du service) : « %(value)s »."
            )
        },
    )
    can_live = forms.BooleanField(label=_("Visionnage en direct"), required=False)
    can_replay = forms.BooleanField(label=_("Relecture des enregistrements"), required=False)
    can_extract = forms.BooleanField(label=_("Extraction"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The commune that runs the CSU, unless another is given: a single-commune CSU's
        # administrator never has to choose.
        self.fields["commune"].initial = self.initial.get("commune") or home_commune().pk
        available = scope.available()
        sectors = [(name, name) for name in available.sectors]
        cameras = list(available.cameras)
        # What the habilitation already names stays visible even when the register no longer
        # knows it (a camera taken out of service): the administrator sees it and unticks it.
        held_sectors = set(self.initial.get("sectors") or []) - set(available.sectors)
        held_cameras = set(self.initial.get("camera_codes") or []) - {c for c, _l in cameras}
        gone = _("%(value)s (inconnu du registre)")
        sectors += [(name, gone % {"value": name}) for name in sorted(held_sectors)]
        cameras += [(code, gone % {"value": code}) for code in sorted(held_cameras)]
        cast(ScopeChoiceField, self.fields["sectors"]).choices = sectors
        cast(ScopeChoiceField, self.fields["camera_codes"]).choices = cameras

    @classmethod
    def initial_from(cls, habilitation: Habilitation) -> dict[str, Any]:
        initial = {name: getattr(habilitation, name) for name in cls.base_fields}
        initial["commune"] = habilitation.commune_id
        initial["sectors"] = list(habilitation.sectors)
        initial["camera_codes"] = list(habilitation.camera_codes)
        return initial

    def clean_commune(self) -> Commune:
        return self.cleaned_data.get("commune") or home_commune()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité précède son début."))
        if data.get("all_cameras"):
            data["sectors"], data["camera_codes"] = [], []
        elif not (data.get("sectors") or data.get("camera_codes")) and not (
            "sectors" in self.errors or "camera_codes" in self.errors
        ):
            self.add_error(
                None,
                _(
                    "Précisez le périmètre : toutes les caméras, des secteurs ou des codes "
                    "de caméras."
                ),
            )
        self._clean_rights(data)
        return data

    def _clean_rights(self, data: dict[str, Any]) -> None:
        # The holder's role bounds the rights: accounts.services checks it, for the API as well.
        if not any(data.get(f"can_{right}") for right in Right.values):
            self.add_error(
                None,
                _("Accordez au moins un droit : direct, relecture ou extraction."),
            )

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in HabilitationForm.base_fields}


def _habilitable_users() -> Any:
    roles = [role for role, rights in ROLE_RIGHTS.items() if rights]
    return User.objects.filter(is_active=True, role__in=roles).order_by(
        "last_name", "first_name", "username"
    )


class HabilitationCreateForm(HabilitationForm):
    user = forms.ModelChoiceField(
        label=_("Personne habilitée"),
        queryset=User.objects.none(),
        help_text=_("Seuls les comptes actifs dont le rôle donne accès aux images."),
    )

    field_order = ["user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The field is declared above: a model choice, whose query depends on today's accounts.
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = _habilitable_users()

    def changes(self) -> dict[str, Any]:
        return {"user": self.cleaned_data["user"], **super().changes()}


class CommuneForm(forms.Form):
    """A commune the CSU serves: its name and its INSEE code."""

    name = forms.CharField(label=_("Nom"), max_length=150)
    insee_code = forms.CharField(
        label=_("Code INSEE"),
        max_length=5,
        validators=[INSEE_VALIDATOR],
        help_text=_("Cinq caractères, par exemple 73065 (2A004 en Corse)."),
    )

    def clean_insee_code(self) -> str:
        return self.cleaned_data["insee_code"].strip().upper()


class AgreementForm(forms.Form):
    """A convention putting the video protection of communes in common."""

    reference = forms.CharField(label=_("Référence"), max_length=100)
    title = forms.CharField(
        label=_("Objet"),
        max_length=300,
        help_text=_("Par exemple : mutualisation du centre de supervision urbain."),
    )
    signed_on = forms.DateField(label=_("Signée le"), widget=_date_input())
    signed_by = forms.CharField(
        label=_("Signataires"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Par exemple : les maires des communes parties."),
    )
    valid_from = forms.DateField(label=_("En vigueur du"), widget=_date_input())
    valid_until = forms.DateField(
        label=_("En vigueur jusqu'au"),
        required=False,
        widget=_date_input(),
        help_text=_("Laissez vide pour une convention sans terme : elle vaut jusqu'à sa fin."),
    )
    viewer_communes = forms.ModelMultipleChoiceField(
        label=_("Communes dont les agents visionnent"),
        queryset=Commune.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    camera_communes = forms.ModelMultipleChoiceField(
        label=_("Communes dont les caméras sont visionnées"),
        queryset=Commune.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error(
                "valid_until", _("La fin de la convention précède son entrée en vigueur.")
            )
        return data


def _confirmed(form: forms.Form, first: str, second: str) -> dict[str, Any]:
    """The password typed twice must be the same twice (the error goes on the second field)."""
    data = form.cleaned_data
    if data.get(first) and data.get(second) and data[first] != data[second]:
        form.add_error(second, _("Les deux mots de passe ne correspondent pas."))
    return data
