"""Evidence packages as files: where they lie, how they are read in clear, when they go.

A package is written once by the builder (``evidence.export``) as one encrypted ZIP archive
under ``DATA_DIR/exports``; this module finds it, decrypts it chunk by chunk while it is
downloaded or a clip of it is checked, and deletes it. It writes no status: the requisition's
changes are the services' (``evidence.services``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from evidence.models import Export
from recordings import crypto, keys

#: The build task's hard time limit: Celery kills a run that exceeds it (the soft limit, a few
#: minutes earlier, lets the run record its failure).
BUILD_TIME_LIMIT = timedelta(hours=4)
BUILD_SOFT_TIME_LIMIT = BUILD_TIME_LIMIT - timedelta(minutes=5)
#: A run claimed longer ago than the build's hard time limit (plus a margin) is dead.
STALLED_AFTER = BUILD_TIME_LIMIT + timedelta(minutes=15)


def export_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def package_path(export: Export) -> Path:
    return export_folder() / f"{export.pk}.csuseg"


def _data_key(export: Export) -> bytes:
    """The package's data key, unwrapped with the master keys (a package not built has none)."""
    if export.package_key is None:
        raise ValueError(f"export {export.pk} has no package")
    return crypto.unwrap_data_key(
        export.package_key_id, bytes(export.package_key), keys.master_keys()
    )


def package_stream(export: Export) -> Iterator[bytes]:
    """The clear ZIP, decrypted chunk by chunk (an altered file stops with an error)."""
    data_key = _data_key(export)
    with open(export_folder() / export.package_path, "rb") as handle:
        yield from crypto.decrypt_stream(handle, data_key)


class _DecryptedFile(io.RawIOBase):
    """The clear package as a seekable, read-only file: only the chunks read are decrypted."""

    def __init__(self, decryptor: crypto.SegmentDecryptor) -> None:
        self.decryptor = decryptor
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position}.get(
            whence, self.decryptor.plaintext_size
        )
        self.position = max(0, base + offset)
        return self.position

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.decryptor.plaintext_size - self.position
        data = self.decryptor.read(self.position, size)
        self.position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def clip_stream(export: Export, path: str, block: int = 2**20) -> Iterator[bytes]:
    """One clip of the package, in clear, for the supervisor's check before release.

    KeyError when ``path`` is not a clip of the package.
    """
    if path not in {f["path"] for f in export.files if f.get("kind") == "clip"}:
        raise KeyError(path)
    data_key = _data_key(export)
    handle = open(export_folder() / export.package_path, "rb")  # noqa: SIM115 - closed below
    try:
        source = _DecryptedFile(crypto.SegmentDecryptor(handle, data_key))
        with (
            zipfile.ZipFile(source) as archive,
            archive.open(f"{export.package_name}/{path}") as member,
        ):
            while piece := member.read(block):
                yield piece
    finally:
        handle.close()


def package_bytes(export: Export) -> bytes:
    return b"".join(package_stream(export))


def package_delete(export: Export) -> None:
    (export_folder() / export.package_path).unlink(missing_ok=True)
    Export.objects.filter(pk=export.pk).update(deleted_at=timezone.now())
