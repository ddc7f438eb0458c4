"""Typed readers for the environment: a wrong value stops the start with a clear message."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    """The value of NAME, or of the file named by NAME_FILE (for secrets), or the default."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_name!r} ({exc.strerror})"
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir(raw: str, *, production: bool) -> Path:
    """The local data folder, created private (0700); in production, refused when not private.

    It holds the SQLite database, beat's schedule and the local media; outside production, the
    generated secrets too. A folder that its group or others can enter would hand them over.
    """
    path = Path(raw).resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if production:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ImproperlyConfigured(
                f"CSU_DATA_DIR {str(path)!r} is open to its group or to others "
                f"(mode {mode:04o}): the production start is refused. "
                f"Make it private to the account that runs CSU: chmod 700 {str(path)!r}"
            )
        leftovers = path / "secrets"
        if leftovers.exists():
            names = sorted(item.name for item in leftovers.iterdir()) if leftovers.is_dir() else []
            used = sorted(
                variable
                for variable, value in os.environ.items()
                if variable.endswith("_FILE")
                and value
                and Path(value).resolve().is_relative_to(leftovers.resolve())
            )
            raise ImproperlyConfigured(
                f"{str(leftovers)!r} holds secrets generated outside production "
                f"({', '.join(names) or 'empty'})"
                + (f", named by {', '.join(used)}" if used else "")
                + ": the production start is refused, a key left beside the data is no secret. "
                "Give each key through NAME_FILE from your secret store, outside CSU_DATA_DIR "
                f"(docker/make-secrets.sh), then delete {str(leftovers)!r}"
            )
    return path


def write_secret_once(path: Path, value: str) -> str:
    """Write ``value`` to ``path`` unless a secret is already there; return the one in place.

    The file is created aside with mode 0600 (never readable by others, not even for an
    instant), flushed to disk, then linked into place: web, worker and beat may start at the
    same instant, none of them reads a half-written secret, and the first writer wins (a
    replace would let two processes run with two different keys).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name itself survives a power cut
        finally:
            os.close(directory)
    finally:
        tmp.unlink()
    return value


def local_secret(
    name: str, data_dir: Path, *, generate: bool, factory: Callable[[], str] | None = None
) -> str:
    """A secret from NAME / NAME_FILE, else one generated once into the local data folder.

    Generation is allowed only for the embedded default (a laptop or a single server); a
    production start without the secret fails instead of inventing one, never reads a key left
    under the data folder by an earlier run, and refuses a NAME_FILE that points there.
    """
    folder = data_dir / "secrets"
    if not generate:
        file_name = os.environ.get(f"{name}_FILE")
        if file_name and Path(file_name).resolve().is_relative_to(folder.resolve()):
            raise ImproperlyConfigured(
                f"{name}_FILE points into {str(folder)!r}, where secrets generated outside "
                "production are kept: the production start is refused. Keep the key in your "
                "secret store, outside CSU_DATA_DIR, and name that file instead"
            )
    value = env_str(name)
    if value:
        return value
    if not generate:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set in production")
    path = folder / name.lower()
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    return write_secret_once(path, (factory or (lambda: secrets.token_urlsafe(50)))())
