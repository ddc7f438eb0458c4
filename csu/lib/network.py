"""The client's address behind a reverse proxy, for the pages and the live WebSocket alike.

The audit trail records where each consultation came from; behind the reverse proxy the peer
is the proxy. Only proxies listed in CSU_TRUSTED_PROXIES are believed, and the client is the
right-most address of X-Forwarded-For that is not one of them (a client can forge the left
part).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from django.core.exceptions import ImproperlyConfigured

Network = IPv4Network | IPv6Network


def trusted_networks(entries: Iterable[str]) -> list[Network]:
    try:
        return [ip_network(item, strict=False) for item in entries]
    except ValueError as exc:
        raise ImproperlyConfigured(f"CSU_TRUSTED_PROXIES: {exc}") from None


def _is_trusted(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded: str, trusted: list[Network]) -> str:
    """``peer``, or the client a trusted proxy named in ``forwarded`` (X-Forwarded-For)."""
    if trusted and forwarded and _is_trusted(peer, trusted):
        for hop in reversed([part.strip() for part in forwarded.split(",")]):
            if not _is_trusted(hop, trusted):
                # Garbage from the client leaves the proxy's address in place.
                with suppress(ValueError):
                    return str(ip_address(hop))
                break
    return peer
