"""Encryption at rest of recorded segments: chunked AES-256-GCM under a two-level key hierarchy.

Segment object format (version 1)
=================================

All integers are unsigned big-endian. An object is a header followed by one or more chunks.

Header::

    offset  size  field
    0       6     magic            b"CSUSEG"
    6       1     version          1
    7       4     chunk_size       plaintext bytes per chunk (all chunks but the last are full)
    11      8     nonce_prefix     random, drawn once per object
    19      2     key_id_length    n, 1..255
    21      n     key_id           UTF-8, "<camera_code>/<YYYY-MM-DD>/<generation>"

Chunk ``i`` (``i`` = 0, 1, ...) is ``AES-256-GCM(data_key, nonce, plaintext_i, aad)`` written as
ciphertext followed by the 16-byte tag, where::

    nonce = nonce_prefix (8) || i (4)                      -> 12 bytes, never reused for a key
    aad   = SHA-256(header) (32) || i (8) || final (1)     final = 1 on the last chunk, else 0

so every chunk but the last is ``chunk_size + 16`` bytes long and the last is 16 to
``chunk_size + 16`` bytes long (an empty object is a single empty, final chunk). Chunk ``i``
starts at ``len(header) + i * (chunk_size + 16)``, which is what allows decrypting any byte
range alone. What the construction detects:

* a bit flip anywhere: in a chunk its tag fails; in the header the header hash changes and
  every chunk fails;
* reordering: the index is in the nonce and in the associated data;
* truncation: the surviving last chunk was sealed with ``final = 0`` (or is cut short), and
  opening an object always authenticates its last chunk first;
* appended data: a chunk after the one sealed with ``final = 1`` fails, as does the final one
  read as non-final;
* a chunk moved from another object, even one under the same key: the header hash (which holds
  that object's random nonce prefix) differs.

Key hierarchy
=============

A 32-byte master key, held outside the database and the media store (``CSU_MASTER_KEY`` as
base64, or a file named by ``CSU_MASTER_KEY_FILE``), wraps one random 32-byte data key per camera
per day. A wrapped data key is::

    version (1) = 1 || master fingerprint (8) || nonce (12) || AES-256-GCM(master, data_key,
    aad = b"csu-data-key\\0" || key_id)

Binding the key id as associated data means a wrapped key copied onto another camera or day does
not unwrap. Rotating the master key unwraps and re-wraps the data keys; media are never touched.
Destroying a day's wrapped key makes that day unreadable wherever copies of its media live.

Since key-encryption keys exist (``recordings.keys``, ``recordings.keystore``), the same wrapping
has one more level: the master key wraps random 32-byte key-encryption keys kept in the key
store, outside the database, and each of them wraps the data keys of one period (a
``MasterKey`` built from the key-encryption key, same format). Destroying a key-encryption key
makes the data keys it wrapped unreadable in database backups too.

Plaintext is only ever handled in memory here: nothing in this module writes to disk.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sink(Protocol):
    """Where encrypted data goes: a file open for writing, or a writer that passes it on."""

    def writelines(self, pieces: Iterable[bytes], /) -> None: ...


class Source(Protocol):
    """A segment read at random: a file open for reading (local or in the object store)."""

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def read(self, size: int, /) -> bytes: ...


MAGIC = b"CSUSEG"
VERSION = 1
TAG_SIZE = 16
KEY_SIZE = 32
# 256 KiB: small enough for quick seeks during playback, large enough that the per-call cost of
# AESGCM is lost in the noise (measured faster than one call over a whole 30 MB segment).
DEFAULT_CHUNK_SIZE = 256 * 1024
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
# The chunk index fills the last 4 bytes of the 12-byte nonce.
MAX_CHUNKS = 2**32

_FIXED = struct.Struct(">6sBI8sH")
_AAD_TAIL = struct.Struct(">QB")
_NONCE_INDEX = struct.Struct(">I")
_WRAP_VERSION = 1
_WRAP_AAD_PREFIX = b"csu-data-key\0"
_FINGERPRINT_SIZE = 8
_WRAPPED_SIZE = 1 + _FINGERPRINT_SIZE + 12 + KEY_SIZE + TAG_SIZE
_KEY_ID_RE = re.compile(
    r"^(?P<camera>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/(?P<day>\d{4}-\d{2}-\d{2})/(?P<n>[1-9]\d{0,5})$"
)


class SegmentIntegrityError(Exception):
    """A stored segment failed authentication: altered, truncated, reordered or wrong key."""

    def __init__(self, message: str, *, chunk: int | None = None) -> None:
        self.chunk = chunk
        where = "header" if chunk is None else f"chunk {chunk}"
        super().__init__(f"segment integrity check failed at {where}: {message}")


class KeyUnwrapError(Exception):
    """A wrapped data key could not be opened with the master key(s) given."""


# --- Keys -----------------------------------------------------------------------------------


def data_key_id(camera_code: str, day: dt.date, generation: int = 1) -> str:
    """The key id of a camera's data key for a day: ``<camera_code>/<YYYY-MM-DD>/<n>``."""
    key_id = f"{camera_code}/{day.isoformat()}/{generation}"
    if not _KEY_ID_RE.match(key_id):
        raise ValueError(f"invalid key id {key_id!r}")
    return key_id


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


@dataclass(frozen=True)
class MasterKey:
    """The 32-byte key that wraps data keys; never stored with the database or the media."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"a master key is {KEY_SIZE} bytes, not {len(self.key)}")

    def __repr__(self) -> str:
        # Keeps the key out of tracebacks and logs.
        return f"MasterKey(fingerprint={self.fingerprint.hex()})"

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the master key is not valid base64") from None
        return cls(raw)

    @property
    def fingerprint(self) -> bytes:
        """8 bytes that name this key inside wrapped keys, so rotation knows which to use."""
        return hashlib.sha256(b"csu-master-key-fingerprint\0" + self.key).digest()[
            :_FINGERPRINT_SIZE
        ]

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        """Seal ``data_key`` for ``key_id`` (format in the module docstring)."""
        if len(data_key) != KEY_SIZE:
            raise ValueError(f"a data key is {KEY_SIZE} bytes, not {len(data_key)}")
        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, data_key, _wrap_aad(key_id))
        return bytes([_WRAP_VERSION]) + self.fingerprint + nonce + sealed

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """Open a key sealed by :meth:`wrap` for the same ``key_id``; KeyUnwrapError otherwise."""
        if len(wrapped) != _WRAPPED_SIZE or wrapped[0] != _WRAP_VERSION:
            raise KeyUnwrapError(f"{key_id}: not a wrapped data key")
        if wrapped[1 : 1 + _FINGERPRINT_SIZE] != self.fingerprint:
            raise KeyUnwrapError(f"{key_id}: wrapped under another master key")
        nonce = wrapped[1 + _FINGERPRINT_SIZE : 1 + _FINGERPRINT_SIZE + 12]
        try:
            return AESGCM(self.key).decrypt(
                nonce, wrapped[1 + _FINGERPRINT_SIZE + 12 :], _wrap_aad(key_id)
            )
        except InvalidTag:
            raise KeyUnwrapError(f"{key_id}: wrapped key altered or bound to another id") from None


def _wrap_aad(key_id: str) -> bytes:
    return _WRAP_AAD_PREFIX + key_id.encode()


def wrapped_fingerprint(wrapped: bytes) -> bytes:
    """The fingerprint of the master key a wrapped key was sealed under."""
    return wrapped[1 : 1 + _FINGERPRINT_SIZE]


def unwrap_data_key(key_id: str, wrapped: bytes, masters: Iterable[MasterKey]) -> bytes:
    """Open a wrapped key with whichever of ``masters`` sealed it (old and new during rotation)."""
    fingerprint = wrapped_fingerprint(wrapped)
    for master in masters:
        if master.fingerprint == fingerprint:
            return master.unwrap(key_id, wrapped)
    raise KeyUnwrapError(f"{key_id}: no master key given matches fingerprint {fingerprint.hex()}")


def rewrap_data_key(key_id: str, wrapped: bytes, old: MasterKey, new: MasterKey) -> bytes:
    """The same data key sealed under ``new`` instead of ``old``: media stay as they are."""
    return new.wrap(key_id, old.unwrap(key_id, wrapped))


# --- Segment header -------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentHeader:
    """The parsed header of an encrypted segment object."""

    key_id: str
    chunk_size: int
    nonce_prefix: bytes
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    @classmethod
    def build(cls, key_id: str, chunk_size: int, nonce_prefix: bytes) -> SegmentHeader:
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must lie in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")
        encoded = key_id.encode()
        if not 1 <= len(encoded) <= 255:
            raise ValueError("a key id is 1 to 255 bytes of UTF-8")
        raw = _FIXED.pack(MAGIC, VERSION, chunk_size, nonce_prefix, len(encoded)) + encoded
        return cls(key_id=key_id, chunk_size=chunk_size, nonce_prefix=nonce_prefix, raw=raw)

    @classmethod
    def parse(cls, read: Callable[[int], bytes]) -> SegmentHeader:
        """Read a header through ``read(n)``; SegmentIntegrityError when it is not one."""
        fixed = read(_FIXED.size)
        if len(fixed) < _FIXED.size:
            raise SegmentIntegrityError("object shorter than a header")
        magic, version, chunk_size, nonce_prefix, key_id_length = _FIXED.unpack(fixed)
        if magic != MAGIC:
            raise SegmentIntegrityError("not an encrypted segment (bad magic)")
        if version != VERSION:
            raise SegmentIntegrityError(f"unsupported format version {version}")
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE or not 1 <= key_id_length <= 255:
            raise SegmentIntegrityError("header fields out of range")
        encoded = read(key_id_length)
        if len(encoded) < key_id_length:
            raise SegmentIntegrityError("object shorter than its header")
        try:
            key_id = encoded.decode()
        except UnicodeDecodeError:
            raise SegmentIntegrityError("key id is not UTF-8") from None
        return cls(
            key_id=key_id, chunk_size=chunk_size, nonce_prefix=nonce_prefix, raw=fixed + encoded
        )


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + _NONCE_INDEX.pack(index)


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + _AAD_TAIL.pack(index, 1 if final else 0)


# --- Encryption -----------------------------------------------------------------------------


class SegmentEncryptor:
    """Encrypts one object incrementally: feed plaintext with update(), end with finalize().

    Each call returns the ciphertext pieces that became ready (the header comes first), so a
    caller can write them out as they come and never hold the whole object. At most one chunk
    of plaintext is buffered: the last chunk must stay back until we know it is the last.
    """

    def __init__(
        self, data_key: bytes, key_id: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        if len(data_key) != KEY_SIZE:
            raise ValueError(f"a data key is {KEY_SIZE} bytes (AES-256), not {len(data_key)}")
        self.header = SegmentHeader.build(key_id, chunk_size, os.urandom(8))
        self._aead = AESGCM(data_key)
        self._digest = self.header.digest
        self._size = chunk_size
        self._pending = bytearray()
        self._index = 0
        self._header_sent = False
        self._finished = False
        self.plaintext_bytes = 0

    def _seal(self, chunk: bytes | bytearray | memoryview, final: bool) -> bytes:
        if self._index >= MAX_CHUNKS:
            raise ValueError("object too large for the chunk counter")
        sealed = self._aead.encrypt(
            _nonce(self.header.nonce_prefix, self._index),
            chunk,
            _aad(self._digest, self._index, final),
        )
        self._index += 1
        return sealed

    def _start(self) -> list[bytes]:
        if self._finished:
            raise ValueError("the encryptor is finalized")
        if self._header_sent:
            return []
        self._header_sent = True
        return [self.header.raw]

    def update(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Take more plaintext; return the ciphertext now ready (possibly nothing)."""
        out = self._start()
        view = memoryview(data).cast("B")
        if not view:
            return out
        self.plaintext_bytes += len(view)
        size = self._size
        position = 0
        if self._pending:
            take = min(size - len(self._pending), len(view))
            self._pending += view[:take]
            position = take
            if len(self._pending) == size and position < len(view):
                out.append(self._seal(self._pending, final=False))
                self._pending.clear()
        # Full chunks straight from the caller's buffer (no copy), keeping at least one byte
        # back whenever the data ends exactly on a boundary: that chunk may be the final one.
        if not self._pending:
            while len(view) - position > size:
                out.append(self._seal(view[position : position + size], final=False))
                position += size
            self._pending += view[position:]
        return out

    def finalize(self) -> list[bytes]:
        """Seal the last chunk (empty for an empty object) and return what remains."""
        out = self._start()
        out.append(self._seal(self._pending, final=True))
        self._pending.clear()
        self._finished = True
        return out


def encrypted_size(plaintext_size: int, key_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The size of the object :func:`encrypt_segment` makes from ``plaintext_size`` bytes."""
    chunks = max(1, -(-plaintext_size // chunk_size))
    return _FIXED.size + len(key_id.encode()) + plaintext_size + chunks * TAG_SIZE


def encrypt_segment(
    data: bytes | bytearray | memoryview,
    data_key: bytes,
    key_id: str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytearray:
    """Encrypt a whole in-memory segment into one object (same format as SegmentEncryptor).

    Returns a bytearray rather than bytes: converting would copy the whole object once more.
    """
    view = memoryview(data).cast("B")
    header = SegmentHeader.build(key_id, chunk_size, os.urandom(8))
    if len(data_key) != KEY_SIZE:
        raise ValueError(f"a data key is {KEY_SIZE} bytes (AES-256), not {len(data_key)}")
    aead = AESGCM(data_key)
    digest = header.digest
    chunks = max(1, -(-len(view) // chunk_size))
    if chunks > MAX_CHUNKS:
        raise ValueError("object too large for the chunk counter")
    # One allocation and encrypt_into: the ciphertext is written once, where it will stay.
    out = bytearray(encrypted_size(len(view), key_id, chunk_size))
    target = memoryview(out)
    target[: header.size] = header.raw
    position = header.size
    for index in range(chunks):
        piece = view[index * chunk_size : (index + 1) * chunk_size]
        end = position + len(piece) + TAG_SIZE
        aead.encrypt_into(
            _nonce(header.nonce_prefix, index),
            piece,
            _aad(digest, index, index == chunks - 1),
            target[position:end],
        )
        position = end
    return out


class EncryptingWriter:
    """A write-only file object that encrypts into ``target`` as data arrives."""

    def __init__(
        self,
        target: Sink,
        data_key: bytes,
        key_id: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._target = target
        self._encryptor = SegmentEncryptor(data_key, key_id, chunk_size=chunk_size)
        self.closed = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        pieces = self._encryptor.update(data)
        if pieces:
            self._target.writelines(pieces)
        return memoryview(data).nbytes

    def close(self) -> None:
        """Seal the final chunk; the target stays open (its owner closes it)."""
        if not self.closed:
            self._target.writelines(self._encryptor.finalize())
            self.closed = True

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- Decryption -----------------------------------------------------------------------------

KeySource = bytes | Callable[[str], bytes]


def _resolve_key(data_key: KeySource, key_id: str) -> AESGCM:
    key = data_key(key_id) if callable(data_key) else data_key
    if len(key) != KEY_SIZE:
        raise ValueError(f"a data key is {KEY_SIZE} bytes (AES-256), not {len(key)}")
    return AESGCM(key)


class SegmentDecryptor:
    """Random access to an encrypted object held in memory or in a seekable binary file.

    Opening authenticates the header-bound last chunk, so the plaintext size is trusted and a
    truncated object fails at once; each chunk read afterwards is authenticated on its own.
    ``data_key`` is the key itself or a function from key id to key.
    """

    def __init__(
        self, source: bytes | bytearray | memoryview | Source, data_key: KeySource
    ) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            self._buffer: memoryview | None = memoryview(source).cast("B")
            self._file: Source | None = None
            total = len(self._buffer)
        else:
            self._buffer = None
            self._file = source
            total = source.seek(0, os.SEEK_END)
        cursor = 0

        def read_header(size: int) -> bytes:
            nonlocal cursor
            data = self._read(cursor, size)
            cursor += len(data)
            return data

        self.header = SegmentHeader.parse(read_header)
        self.key_id = self.header.key_id
        self._aead = _resolve_key(data_key, self.key_id)
        self._digest = self.header.digest
        stride = self.header.chunk_size + TAG_SIZE
        body = total - self.header.size
        if body < TAG_SIZE:
            raise SegmentIntegrityError("no final chunk (object truncated)", chunk=0)
        self.chunk_count = -(-body // stride)
        last_size = body - (self.chunk_count - 1) * stride
        if last_size < TAG_SIZE:
            raise SegmentIntegrityError(
                "last chunk shorter than a tag (object truncated)", chunk=self.chunk_count - 1
            )
        self.plaintext_size = body - self.chunk_count * TAG_SIZE
        self._stride = stride
        self._last = self._open_chunk(self.chunk_count - 1)

    def _read(self, offset: int, size: int) -> bytes:
        if self._buffer is not None:
            return bytes(self._buffer[offset : offset + size])
        assert self._file is not None
        self._file.seek(offset)
        return self._file.read(size)

    def _open_chunk(self, index: int) -> bytes:
        offset = self.header.size + index * self._stride
        sealed = self._read(offset, self._stride)
        final = index == self.chunk_count - 1
        try:
            return self._aead.decrypt(
                _nonce(self.header.nonce_prefix, index), sealed, _aad(self._digest, index, final)
            )
        except InvalidTag:
            reason = (
                "authentication failed (truncated, extended, altered, or wrong key)"
                if final
                else "authentication failed (altered, reordered, from another object, or wrong key)"
            )
            raise SegmentIntegrityError(reason, chunk=index) from None

    def chunk(self, index: int) -> bytes:
        """The plaintext of chunk ``index``, authenticated."""
        if not 0 <= index < self.chunk_count:
            raise IndexError(f"chunk {index} out of range 0..{self.chunk_count - 1}")
        if index == self.chunk_count - 1:
            return self._last
        return self._open_chunk(index)

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` plaintext bytes from ``offset``, decrypting only the chunks they span."""
        if offset < 0 or size < 0:
            raise ValueError("offset and size must be non-negative")
        end = min(offset + size, self.plaintext_size)
        if offset >= end:
            return b""
        first, last = offset // self.header.chunk_size, (end - 1) // self.header.chunk_size
        data = b"".join(self.chunk(i) for i in range(first, last + 1))
        start = offset - first * self.header.chunk_size
        return data[start : start + (end - offset)]

    def __iter__(self) -> Iterator[bytes]:
        """Every chunk's plaintext, in order."""
        for index in range(self.chunk_count):
            yield self.chunk(index)

    def read_all(self) -> bytes:
        return b"".join(self)


def decrypt_segment(data: bytes | bytearray | memoryview, data_key: KeySource) -> bytes:
    """The whole plaintext of an in-memory object; SegmentIntegrityError on any alteration."""
    return SegmentDecryptor(data, data_key).read_all()


def decrypt_stream(source: BinaryIO, data_key: KeySource) -> Iterator[bytes]:
    """Plaintext chunks read sequentially from a non-seekable stream, each authenticated.

    A chunk is released only once the next read shows whether it is the last, so a stream cut
    at a chunk boundary raises instead of ending quietly.
    """
    header = SegmentHeader.parse(lambda n: _read_exactly(source, n))
    aead = _resolve_key(data_key, header.key_id)
    digest = header.digest
    stride = header.chunk_size + TAG_SIZE
    index = 0
    current = _read_exactly(source, stride)
    while True:
        following = _read_exactly(source, stride) if len(current) == stride else b""
        final = not following
        if len(current) < TAG_SIZE:
            raise SegmentIntegrityError("no final chunk (object truncated)", chunk=index)
        try:
            yield aead.decrypt(
                _nonce(header.nonce_prefix, index), current, _aad(digest, index, final)
            )
        except InvalidTag:
            raise SegmentIntegrityError(
                "authentication failed (altered, reordered, truncated, or wrong key)",
                chunk=index,
            ) from None
        if final:
            return
        current = following
        index += 1


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
