"""Opening a camera's source without letting its credentials out or the network be probed.

Credentials are handed to the library that opens the source and nowhere else: an HTTP source
gets an ``Authorization`` header, an RTSP source (FFmpeg takes its login only from the address)
gets an address built for that one call. No error text carries that address: errors are told
from the library's error code, and every text that may be shown or stored passes through
:func:`redact`. Which addresses may be opened at all (``file://`` outside production only, the
camera networks of ``CSU_CAMERA_NETWORKS``) is decided here too.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _

from cameras import secrets
from cameras.models import Camera, same_host

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
#: ``scheme://anything@`` — the user-information part of an address, wherever it appears.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s'\"@]*@")
#: Shorter secrets are not searched in free text (they would blank ordinary words); they never
#: reach a text anyway, since no address with credentials is ever formatted into one.
_MIN_SECRET = 4
MASK = "***"


class SourceError(Exception):
    """The source could not give an image; the message says why, in words for the operator."""


class SourceRefused(SourceError):
    """The address may not be opened here (production rules, camera networks)."""


# --- Texts --------------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with any ``user:password@`` of an address, and each secret given, masked."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", str(text))
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, MASK)
    return text


def public_url(url: str) -> str:
    """The address as it may be shown or stored: without its user information."""
    return redact(url)


def describe(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """A short technical description of an error, for server logs: no address, no secret.

    PyAV's errors append the address they failed to open (``strerror`` is the message alone).
    """
    text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return redact(f"{exc.__class__.__name__}: {text}", secrets)


def is_unauthorized(exc: BaseException) -> bool:
    """True when the source refused the login (RTSP or HTTP 401/403)."""
    name = exc.__class__.__name__
    if name in ("HTTPUnauthorizedError", "HTTPForbiddenError"):
        return True
    return isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403)


# --- Addresses ----------------------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an address; the port defaults to the scheme's."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return scheme, host, port or DEFAULT_PORTS.get(scheme)


def split_credentials(url: str) -> tuple[str, str, str]:
    """(address without credentials, username, password) from an address typed with them."""
    try:
        parts = urlsplit(url.strip())
        username, password = parts.username, parts.password
    except ValueError:
        return url.strip(), "", ""
    if not username and not password:
        return url.strip(), "", ""
    host = parts.netloc.rsplit("@", 1)[1]
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(username or ""), unquote(password or "")


def with_credentials(url: str, username: str, password: str) -> str:
    """The address with the login inside, for FFmpeg's RTSP client only: never shown, stored
    or logged (FFmpeg's RTSP demuxer has no other way to take a login)."""
    if not username and not password:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def stream_login(camera: Camera) -> tuple[str, str]:
    """The camera's (username, password), for the call that opens its source and no other.

    A sensor without a login of its own uses its device's, and only towards the device's host.
    Raises :class:`cameras.secrets.CredentialsUnreadable` when a sealed value does not open.
    """
    own = secrets.unseal(camera.stream_credentials, camera_id=camera.pk)
    device = camera.device if camera.device_id else None
    if own != ("", "") or device is None:
        return own
    urls = [url for url in (camera.stream_url, camera.live_stream_url) if url]
    if not all(same_host(url, device.host) for url in urls):
        return "", ""
    return secrets.unseal_device(device.stream_credentials, device_id=device.pk)


def networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr) for cidr in settings.CAMERA_NETWORKS]


def _addresses(host: str, port: int | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _in_networks(address, allowed) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in allowed)


def refusal(url: str) -> str | None:
    """Why this address may not be opened here, or None when it may.

    In production ``file://`` is refused, and a network source must lie in the camera networks
    (``CSU_CAMERA_NETWORKS``; none configured refuses them all). Outside production the
    networks apply when configured. A host that does not resolve is not refused here: it is
    then simply unreachable, with the same message as any other unreachable source.
    """
    scheme, host, port = origin(url)
    if scheme == "file":
        if settings.PRODUCTION:
            return _("Les fichiers vidéo locaux (file://) ne sont pas acceptés en production.")
        return None
    if not settings.PRODUCTION and not settings.CAMERA_NETWORKS:
        return None
    allowed = networks()
    if not allowed:
        return _(
            "Aucun réseau de caméras n'est configuré (CSU_CAMERA_NETWORKS) : aucune source "
            "réseau n'est acceptée."
        )
    try:
        addresses = _addresses(host, port)
    except (OSError, UnicodeError):
        return None
    if not addresses or not all(_in_networks(a, allowed) for a in addresses):
        return _("Cette adresse n'appartient pas aux réseaux de caméras autorisés.")
    return None


def check_allowed(url: str) -> None:
    """Raise :class:`SourceRefused` when the address may not be opened here."""
    reason = refusal(url)
    if reason:
        raise SourceRefused(reason)


# --- HTTP ---------------------------------------------------------------------------------------


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same scheme, host and port: never elsewhere with the
    camera's login, nor towards another machine of the network."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if origin(newurl) != origin(req.full_url):
            logger.warning(
                "camera source %s redirects to another address (%s): refused",
                public_url(req.full_url),
                public_url(newurl),
            )
            raise SourceError(_("La caméra redirige vers une autre adresse : redirection refusée."))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameOriginRedirects)


def http_open(url: str, *, username: str = "", password: str = "", timeout: float = 5.0):
    """The response of an HTTP(S) camera; its login goes in a header, redirects stay on it."""
    request = urllib.request.Request(url, headers={"User-Agent": "CSU"})  # noqa: S310
    if username or password:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        return _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        logger.warning("camera source %s answered HTTP %s", public_url(url), exc.code)
        if is_unauthorized(exc):
            raise SourceError(_("La caméra a refusé les identifiants.")) from None
        raise SourceError(
            _("La caméra a répondu par une erreur HTTP %(code)s.") % {"code": exc.code}
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning(
            "camera source %s unreachable: %s", public_url(url), describe(exc, (password,))
        )
        raise SourceError(_("Source injoignable.")) from None


def log_failure(url: str, exc: BaseException, password: str = "") -> None:
    """The technical details of a source's failure, for the server log only (redacted)."""
    logger.warning("camera source %s: %s", public_url(url), describe(exc, (password,)))


def open_failed(url: str, exc: BaseException, password: str = "") -> SourceError:
    """The error to show for a source that could not be opened; the details go to the log."""
    log_failure(url, exc, password)
    if is_unauthorized(exc):
        return SourceError(_("La caméra a refusé les identifiants."))
    return SourceError(_("Source injoignable."))
