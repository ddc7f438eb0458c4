"""The map's tile source: a URL template checked at start, and the origin the CSP must allow."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

#: The placeholders a tile URL template may hold (Leaflet's TileLayer fills them).
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN = {"z", "x", "y", "s", "r", "-y"}
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


def tile_template(name: str, value: str) -> str:
    """``value`` if it is a tile URL template a browser can fill: http(s), a host, and the
    placeholders {z}, {x} and {y} (a WMTS server's KVP or REST template fits too); else a
    start-up error naming the variable ``name``."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: not a URL (its port is not a number)") from None
    if "@" in parts.netloc:
        # Every visitor's browser reads the template: no login may sit in it (nor in this error).
        raise ImproperlyConfigured(f"{name}: the URL must not hold a user name or password")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{name}: {value!r} must start with https:// (or http://)")
    if any(ch.isspace() for ch in value):
        raise ImproperlyConfigured(f"{name}: {value!r} must not contain spaces")
    found = set(_PLACEHOLDER.findall(value))
    rows = {"y"} if found & {"y", "-y"} else set()  # {-y}: the rows counted from the south (TMS)
    missing = sorted({"z", "x", "y"} - (found | rows))
    if missing:
        raise ImproperlyConfigured(
            f"{name}: {value!r} lacks the placeholder(s) "
            + ", ".join("{" + p + "}" for p in missing)
        )
    unknown = sorted(found - _KNOWN)
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: {value!r} holds unknown placeholder(s) "
            + ", ".join("{" + p + "}" for p in unknown)
            + " (known: {z}, {x}, {y}, {-y}, {s}, {r})"
        )
    _host_source(name, value, parts.netloc)
    return value


def _host_source(name: str, value: str, netloc: str) -> str:
    host = netloc
    if host.startswith("{s}."):
        # Subdomains a, b, c... (Leaflet's {s}): the policy allows every subdomain.
        host = "*." + host[4:]
    if not _HOST.match(host.split(":", 1)[0].removeprefix("*.")) or "{" in host:
        raise ImproperlyConfigured(
            f"{name}: {value!r}: a placeholder in the host name may only be a leading {{s}}."
        )
    return host


def tile_csp_source(name: str, value: str) -> str:
    """The Content-Security-Policy source (scheme and host) of the tile template ``value``."""
    parts = urlsplit(value)
    return f"{parts.scheme}://{_host_source(name, value, parts.netloc)}"
