"""The live WebSocket records the viewer's address the way the pages do behind the proxy."""

from __future__ import annotations

from live.consumers import _station


def _scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"user-agent", b"Chromium")]
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    return {"client": (peer, 51000), "headers": headers}


def test_a_trusted_proxy_names_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _station(_scope("10.0.0.5", "203.0.113.9, 10.0.0.7")) == ("203.0.113.9", "Chromium")


def test_an_untrusted_peer_is_the_client_whatever_it_forwards(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _station(_scope("198.51.100.4", "203.0.113.9")) == ("198.51.100.4", "Chromium")


def test_garbage_forwarded_by_the_proxy_leaves_the_proxy_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _station(_scope("10.0.0.5", "not-an-address")) == ("10.0.0.5", "Chromium")
