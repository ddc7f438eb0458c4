"""A write-only file object that hashes (SHA-256) and counts what passes through it.

Evidence packages and access-request extracts are written in one pass: the media go through
this writer to the encrypting writer (or to a ZIP entry), and the digest and size stated in the
manifest are those of exactly the bytes written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

Bytes = bytes | bytearray | memoryview


class HashingWriter:
    """Passes what it is given on to ``target``, hashing and counting it on the way.

    With ``block`` set, small writes are gathered and passed on by that many bytes (PyAV writes
    in small blocks; passing them on by the MiB keeps the ZIP and encryption layers below from
    being called tens of thousands of times per clip): call :meth:`flush` at the end.
    """

    def __init__(self, target: Any, *, block: int = 0) -> None:
        self.target = target
        self.block = block
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Bytes) -> int:
        size = memoryview(data).nbytes
        self.size += size
        if not self.block:
            self.sha256.update(data)
            self.target.write(data)
            return size
        self._pending += data
        if len(self._pending) >= self.block:
            self.flush()
        return size

    def writelines(self, pieces: Iterable[Bytes]) -> None:
        for piece in pieces:
            self.write(piece)

    def flush(self) -> None:
        """Pass on what is gathered (the target itself is not flushed)."""
        if self._pending:
            self.sha256.update(self._pending)
            self.target.write(self._pending)
            self._pending = bytearray()

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()
