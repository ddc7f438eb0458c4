"""Sign-in events from Django's and axes' signals, recorded in the audit trail."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.services import record


@receiver(user_logged_in, dispatch_uid="csu_audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # With a second factor, the sign-in is complete only once the code is checked
    # (accounts.views.verify_second_factor records it then).
    if not user.requires_second_factor:
        record("auth.login", actor=user, target=user, details={"second_factor": "not_required"})


@receiver(user_logged_out, dispatch_uid="csu_audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("auth.logout", actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="csu_audit_login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Django already masks the password in credentials; only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    record("auth.login_failed", target_type="accounts.user", target_label=username)


@receiver(user_locked_out, dispatch_uid="csu_audit_locked_out")
def _locked_out(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    record("auth.locked_out", target_type="accounts.user", target_label=(username or "")[:150])
