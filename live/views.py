"""The operators' video wall."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from live import selectors
from live.roles import WALL_VIEWERS


def _policy_with_live_processes() -> str:
    policy = {key: list(values) for key, values in settings.CONTENT_SECURITY_POLICY.items()}
    origins = sorted(
        {"{0.scheme}://{0.netloc}".format(urlsplit(u)) for u in settings.CSU_LIVE_URLS}
    )
    policy.setdefault("connect-src", ["'self'"]).extend(origins)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


@never_cache
@role_required(*WALL_VIEWERS)
def wall(request: SignedInRequest) -> HttpResponse:
    cameras = selectors.wall_cameras(request.user)
    response = render(
        request,
        "live/wall.html",
        {
            "cameras": cameras,
            "cameras_json": [
                {
                    "code": c.code,
                    "name": c.name,
                    "number": c.number,
                    "alert": c.alert,
                    "url": c.stream_url,
                }
                for c in cameras
            ],
            "labels": {
                "connecting": _("connexion…"),
                "live": _("en direct"),
                "reconnecting": _("reconnexion…"),
                "no_signal": _("pas de signal"),
                "alert": _("alerte enregistrement"),
                "refused": _("accès refusé"),
                "ended": _("accès retiré"),
                "unsupported": _("navigateur sans décodage H.264 (WebCodecs)"),
                "empty": _("vignette libre"),
                "unknown_number": _("aucune caméra n° %(n)s"),
                "report": _("Signaler"),
            },
        },
    )
    if settings.CSU_LIVE_URLS:
        response["Content-Security-Policy"] = _policy_with_live_processes()
    return response
