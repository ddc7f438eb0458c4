from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.actors import SignedInRequest
from accounts.forms import PasswordChangeForm, SignInForm, TokenForm
from accounts.home import home_context
from audit.services import record
from csu.lib.forms import add_service_errors


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    return render(request, "accounts/locked_out.html", status=429)


def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign-out by POST only (a GET link could be triggered by another site).

    The person's API tokens are revoked with the session.
    """
    if request.method == "POST":
        if request.user.is_authenticated:
            services.api_tokens_revoke(user=request.user, actor=request.user, cause="signed_out")
        return auth_views.LogoutView.as_view()(request)
    return render(request, "accounts/logout_confirm.html")


@login_required
def password_change(request: SignedInRequest) -> HttpResponse:
    """The person's own password: forced first when an administrator chose it."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        old_password = form.cleaned_data["old_password"]
        # Through the authentication backends: guesses made from a stolen session count
        # towards the lockout like those at the sign-in page.
        if authenticate(request, username=request.user.get_username(), password=old_password):
            try:
                services.password_change(
                    user=request.user,
                    old_password=old_password,
                    new_password=form.cleaned_data["new_password1"],
                    keep_session=request.session.session_key or "",
                )
            except ValidationError as error:
                add_service_errors(form, error, fallback="new_password1")
            else:
                update_session_auth_hash(request, request.user)  # this session stays signed in
                messages.success(request, _("Mot de passe changé."))
                return redirect("home")
        else:
            form.add_error("old_password", _("L'ancien mot de passe est incorrect."))
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "forced": request.user.must_change_password},
    )


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@login_required
def otp_setup(request: SignedInRequest) -> HttpResponse:
    """Enrolment: show a new secret as a QR code, confirm it with a first code."""
    user = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("accounts:otp_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                services.second_factor_confirm(device=device, actor=user)
                otp_login(request, device)
                request.session.cycle_key()  # a new session once fully signed in
                record(
                    "auth.login",
                    actor=user,
                    target=user,
                    details={"second_factor": "totp_enrolment"},
                )
            messages.success(request, _("Second facteur enregistré."))
            return redirect("home")
        form.add_error(
            "token", _("Code incorrect : vérifiez l'heure de votre téléphone et réessayez.")
        )
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "accounts/otp_setup.html",
        {"form": form, "qr_svg": _qr_svg(device.config_url), "secret": secret},
    )


@login_required
def otp_verify(request: SignedInRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():
        return redirect("home")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return redirect("accounts:otp_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Checked first: after a failure, django-otp refuses every code for a growing delay.
        allowed, _when = device.verify_is_allowed()
        verified = allowed and device.verify_token(form.cleaned_data["token"])
        if verified:
            with transaction.atomic():
                otp_login(request, device)
                request.session.cycle_key()  # a new session once fully signed in
                record("auth.login", actor=user, target=user, details={"second_factor": "totp"})
            target = request.GET.get("next", "")
            safe = url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            )
            return redirect(target if target and safe else "home")
        record("auth.second_factor_failed", actor=user, target=user)
        form.add_error(
            "token",
            _("Code incorrect.")
            if allowed
            else _("Trop d'essais : patientez quelques instants avant de réessayer."),
        )
    return render(request, "accounts/otp_verify.html", {"form": form})


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    context = home_context(request.user)
    return render(request, f"home/{request.user.role}.html", context)
