"""The key store: key-encryption keys, each wrapped by the master key, kept out of the database.

A key-encryption key (KEK, ``recordings.models.KeyEncryptionKey``) wraps the day keys of one
period, or those of held footage. Its material is never written to the database: it lives
here, one object per KEK and master key, named ``<kek name>/<master fingerprint>.key`` and
holding ``MasterKey.wrap(kek name, kek)``. Destroying a KEK deletes its objects, so that the
day keys it wrapped — in the database and in every backup of it — can no longer be opened.

Where: the folder ``CSU_KEY_STORE_DIR`` (default ``<CSU_DATA_DIR>/keystore``) with the local
store, or the ``keystore/`` prefix of the bucket with ``CSU_STORAGE=s3`` (every recorder
machine must reach it). It is backed up, if at all, only for a short time
(docs/operations.md, "Key periods and backups").
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from csu.lib.storage import DurableFileSystemStorage
from recordings import crypto

logger = logging.getLogger(__name__)

SUFFIX = ".key"
PUT_ATTEMPTS = 4
S3_PREFIX = "keystore"


class KekMissing(Exception):
    """No object of the key store opens this KEK with the master key(s) given."""


def storage() -> Storage:
    """The key store: a folder of this machine, or a prefix of the S3 bucket."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        S3Storage = None
    if S3Storage is not None and isinstance(default_storage, S3Storage):
        options = dict(settings.STORAGES["default"].get("OPTIONS", {}))
        location = str(options.get("location") or "").strip("/")
        options["location"] = f"{location}/{S3_PREFIX}" if location else S3_PREFIX
        options["file_overwrite"] = False
        return S3Storage(**options)
    return DurableFileSystemStorage(
        location=str(settings.RECORDINGS_KEY_STORE_DIR),
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )


def _object(name: str, fingerprint: bytes) -> str:
    return f"{name}/{fingerprint.hex()}{SUFFIX}"


def _objects(store: Storage, name: str) -> list[str]:
    try:
        _, files = store.listdir(name)
    except FileNotFoundError:
        return []
    return [f"{name}/{file}" for file in files if file.endswith(SUFFIX)]


def put(name: str, kek: bytes, master: crypto.MasterKey, store: Storage | None = None) -> None:
    """Store ``kek`` wrapped by ``master``, retrying I/O errors with backoff; an object already
    there (the same KEK) is kept."""
    store = store or storage()
    target = _object(name, master.fingerprint)
    delay = 0.5
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            if store.exists(target):
                return
            saved = store.save(target, ContentFile(master.wrap(name, kek)))
            if saved != target:  # the store renamed it: never leave a key under another name
                store.delete(saved)
                raise OSError(f"key store renamed {target} to {saved}")
            return
        except OSError as exc:
            if attempt == PUT_ATTEMPTS:
                raise
            logger.warning("key store: writing %s failed (%s), attempt %d", name, exc, attempt)
            time.sleep(delay)
            delay *= 2


def get(name: str, masters: Iterable[crypto.MasterKey], store: Storage | None = None) -> bytes:
    """The KEK ``name``, opened with the first of ``masters`` that has an object of it."""
    store = store or storage()
    for master in masters:
        target = _object(name, master.fingerprint)
        try:
            with store.open(target, "rb") as handle:
                wrapped = handle.read()
        except FileNotFoundError:
            continue
        except OSError as exc:  # S3 answers a missing object with its own errors
            if not store.exists(target):
                continue
            raise OSError(f"key store: cannot read {target}: {type(exc).__name__}") from None
        try:
            return master.unwrap(name, wrapped)
        except crypto.KeyUnwrapError as exc:
            raise KekMissing(f"{name}: the key store's object does not open ({exc})") from None
    raise KekMissing(f"{name}: not in the key store")


def fingerprints(name: str, store: Storage | None = None) -> set[str]:
    """The fingerprints (hex) of the master keys that ``name`` is stored under."""
    store = store or storage()
    return {path.rsplit("/", 1)[1][: -len(SUFFIX)] for path in _objects(store, name)}


def rewrap(
    name: str, old: crypto.MasterKey, new: crypto.MasterKey, store: Storage | None = None
) -> bool:
    """Store ``name`` under ``new`` too (opened with ``old``); False when it already was."""
    store = store or storage()
    if store.exists(_object(name, new.fingerprint)):
        return False
    put(name, get(name, [old], store), new, store)
    return True


def forget_other_masters(
    name: str, keep: Iterable[crypto.MasterKey], store: Storage | None = None
) -> int:
    """Delete the objects of ``name`` wrapped by any master key but ``keep`` (after rotation)."""
    store = store or storage()
    kept = {master.fingerprint.hex() for master in keep}
    if not kept & fingerprints(name, store):
        return 0  # never delete the last object that opens with a key in use
    doomed = [p for p in _objects(store, name) if p.rsplit("/", 1)[1][: -len(SUFFIX)] not in kept]
    for path in doomed:
        store.delete(path)
    return len(doomed)


def delete(name: str, store: Storage | None = None) -> None:
    """Delete every object of ``name`` (crypto-shredding); already gone is not an error."""
    store = store or storage()
    for path in _objects(store, name):
        store.delete(path)
    if isinstance(store, FileSystemStorage):
        with contextlib.suppress(OSError):
            store.delete(name)  # the empty folder


def names(store: Storage | None = None) -> list[str]:
    """The KEK names that have objects in the store."""
    store = store or storage()
    try:
        folders, _ = store.listdir("")
    except FileNotFoundError:
        return []
    return sorted(folders)


def stored_at(name: str, store: Storage | None = None) -> datetime | None:
    """When the newest object of ``name`` was written (None: no object)."""
    store = store or storage()
    times = [store.get_modified_time(path) for path in _objects(store, name)]
    return max(times) if times else None
