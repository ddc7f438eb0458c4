from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.roles import Right, Role
from audit.actions import register as reg
from csu.lib import labels


def register() -> None:
    reg("auth.login", _("Connexion"), "auth")
    reg("auth.logout", _("Déconnexion"), "auth")
    reg("auth.login_failed", _("Échec de connexion"), "auth")
    reg("auth.locked_out", _("Compte verrouillé après échecs"), "auth")
    reg("auth.second_factor_failed", _("Code TOTP refusé"), "auth")
    reg("auth.second_factor_enrolled", _("Enrôlement TOTP"), "auth")
    reg("auth.second_factor_reset", _("Réinitialisation du second facteur"), "change")
    reg("auth.token_issued", _("Jeton d'API délivré"), "auth")
    reg("auth.tokens_revoked", _("Jetons d'API révoqués"), "auth")
    reg("auth.sessions_ended", _("Sessions ouvertes fermées"), "auth")
    reg("account.password_changed", _("Mot de passe changé par son titulaire"), "change")
    reg("account.created", _("Compte créé"), "change")
    reg("account.updated", _("Compte modifié"), "change")
    reg("account.role_changed", _("Rôle modifié"), "change")
    reg("account.deactivated", _("Compte désactivé"), "change")
    reg("account.reactivated", _("Compte réactivé"), "change")
    reg("habilitation.created", _("Habilitation délivrée"), "change")
    reg("habilitation.updated", _("Habilitation modifiée"), "change")
    reg("habilitation.revoked", _("Habilitation retirée"), "change")
    reg("training.recorded", _("Formation enregistrée"), "change")
    reg("training.reminder", _("Rappel de recyclage de formation"), "change")
    reg("commune.created", _("Commune enregistrée"), "change")
    reg("commune.updated", _("Commune modifiée"), "change")
    reg("agreement.created", _("Convention intercommunale enregistrée"), "change")
    reg("agreement.ended", _("Fin d'une convention intercommunale"), "change")


def register_labels() -> None:
    """Words for the roles, rights and system actors this app writes in the trail."""
    labels.register_roles(Role)
    labels.register_values(Role, Right)
    labels.register_keys({"rights": _("droits"), "role": _("rôle"), "roles": _("rôles")})
    labels.register_actor("rappel des formations", _("système (rappel des formations)"))
    labels.register_actor_prefix("manage.py", _("commande d'administration"))
