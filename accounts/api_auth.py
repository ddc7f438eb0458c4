"""Authentication and permission classes of the API (kept apart: DRF imports them at start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from accounts.actors import signed_in
from accounts.models import ApiToken


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, checked against the stored digest; tokens expire.

    They are issued only to a session that gave its second factor, and revoked on sign-out,
    password change and second-factor reset (``accounts.services.api_tokens_revoke``).
    """

    model = ApiToken

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.for_key(key).select_related("user").first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Jeton inconnu ou révoqué."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Ce compte est désactivé."))
        if token.created < timezone.now() - settings.API_TOKEN_LIFETIME:
            token.delete()
            raise exceptions.AuthenticationFailed(_("Jeton expiré : demandez-en un nouveau."))
        return token.user, token


class PasswordChangeRequired(exceptions.PermissionDenied):
    default_code = "password_change_required"


def _refuse_until_password_changed(user: Any) -> None:
    if getattr(user, "must_change_password", False):
        raise PasswordChangeRequired(
            {
                "detail": _(
                    "Mot de passe à changer : un administrateur l'a choisi. Changez-le sur la "
                    "page « Mot de passe » (/comptes/mot-de-passe/) avant d'utiliser l'API."
                ),
                "code": "password_change_required",
            }
        )


class IsVerified(permissions.BasePermission):
    """Signed in, and with the second factor when the role requires it."""

    message = _("Authentification à deux facteurs requise.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if isinstance(request.successful_authenticator, ExpiringTokenAuthentication):
            _refuse_until_password_changed(user)
            return True
        if user.requires_second_factor:
            is_verified = getattr(user, "is_verified", None)
            if not (is_verified and is_verified()):
                return False
        _refuse_until_password_changed(user)
        return True


def role_permission(
    *roles: str, read_only_roles: tuple[str, ...] = ()
) -> type[permissions.BasePermission]:
    """A permission class admitting verified users of ``roles`` (and readers of other roles)."""

    class HasRole(IsVerified):
        message = _("Votre rôle ne permet pas cette action.")

        def has_permission(self, request: Request, view: Any) -> bool:
            if not super().has_permission(request, view):
                return False
            role = signed_in(request).role
            if role in roles:
                return True
            return request.method in permissions.SAFE_METHODS and role in read_only_roles

    HasRole.__name__ = f"HasRole_{'_'.join(roles)}"
    return HasRole
