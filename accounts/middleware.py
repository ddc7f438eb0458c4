from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

#: Paths a signed-in person may reach before giving the second factor.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/api/", "/public/")


class SecondFactorMiddleware:
    """Until the TOTP code is given, a person whose role requires it reaches only the code page.

    The API is left to its own permission class (``accounts.api.IsVerified``), which answers
    in JSON instead of redirecting.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.requires_second_factor
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            allowed = {
                reverse("accounts:otp_verify"),
                reverse("accounts:otp_setup"),
                reverse("accounts:logout"),
            }
            if request.path not in allowed:
                has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
                return redirect("accounts:otp_verify" if has_device else "accounts:otp_setup")
        return self.get_response(request)


class PasswordChangeMiddleware:
    """Once signed in (second factor given), a person whose password an administrator chose
    reaches only the password page until they replace it.

    The API refuses such a person in JSON instead (``accounts.api_auth.IsVerified``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.must_change_password
            and not (user.requires_second_factor and not user.is_verified())
            and not request.path.startswith(_OPEN_PREFIXES)
            and request.path
            not in {reverse("accounts:password_change"), reverse("accounts:logout")}
        ):
            return redirect("accounts:password_change")
        return self.get_response(request)
