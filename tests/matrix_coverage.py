"""Every URL of the product must go through the permission matrix somewhere in the suite.

``check_matrix`` logs the view it tested; at the end of a full run (``bin/test`` without
arguments) the URL conf is walked and any view never tested fails the run. A new page or
endpoint without its matrix test therefore breaks the suite.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, resolve

LOG_VARIABLE = "CSU_MATRIX_LOG"

#: Views that are not behind the matrix by nature, each with its own tests.
EXEMPT = {
    "accounts:login",  # the sign-in page itself (tests/accounts/test_sign_in.py)
    "accounts:logout",
    "accounts:otp_verify",
    "accounts:otp_setup",
    "set_language",
    "healthz",  # the container health check, public by design (tests/test_deploy.py)
}


def note(url: str) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if not path:
        return
    view = resolve(urlsplit(url).path).view_name
    with open(path, "a", encoding="utf-8") as log:
        log.write(view + "\n")


def _names(patterns, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def names() -> set[str]:
    """Every named URL of the product, with its namespace."""
    return _names(get_resolver().url_patterns)


def untested_views() -> list[str]:
    tested = set(Path(os.environ[LOG_VARIABLE]).read_text(encoding="utf-8").split())
    return sorted(names() - tested - EXEMPT)
