"""Encryption at rest: round trips, random access, and every tampering caught by chunk."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest

from recordings.crypto import (
    DEFAULT_CHUNK_SIZE,
    TAG_SIZE,
    EncryptingWriter,
    KeyUnwrapError,
    MasterKey,
    SegmentDecryptor,
    SegmentEncryptor,
    SegmentHeader,
    SegmentIntegrityError,
    data_key_id,
    decrypt_segment,
    decrypt_stream,
    encrypt_segment,
    encrypted_size,
    new_data_key,
    rewrap_data_key,
    unwrap_data_key,
)

KEY_ID = "cam-042/2025-03-14/1"
CHUNK = 1024


@pytest.fixture
def data_key() -> bytes:
    return new_data_key()


@pytest.fixture
def plaintext() -> bytes:
    return os.urandom(10 * CHUNK + 123)


def encrypt(plaintext: bytes, key: bytes, chunk: int = CHUNK) -> bytes:
    return bytes(encrypt_segment(plaintext, key, KEY_ID, chunk_size=chunk))


def chunk_span(blob: bytes, index: int, chunk: int = CHUNK) -> slice:
    header = len(KEY_ID) + 21
    start = header + index * (chunk + TAG_SIZE)
    return slice(start, start + chunk + TAG_SIZE)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 10 * CHUNK + 123])
def test_round_trip_in_one_go_and_streamed_agree(size, data_key):
    plaintext = os.urandom(size)
    blob = encrypt(plaintext, data_key)
    assert len(blob) == encrypted_size(size, KEY_ID, CHUNK)
    assert decrypt_segment(blob, data_key) == plaintext
    # Fed in awkward pieces, the streaming encryptor makes an object of the same layout.
    encryptor = SegmentEncryptor(data_key, KEY_ID, chunk_size=CHUNK)
    pieces: list[bytes] = []
    for start in range(0, size, 700):
        pieces += encryptor.update(plaintext[start : start + 700])
    pieces += encryptor.finalize()
    streamed = b"".join(pieces)
    assert len(streamed) == len(blob)
    assert decrypt_segment(streamed, data_key) == plaintext
    assert b"".join(decrypt_stream(io.BytesIO(streamed), data_key)) == plaintext


def test_encryptor_holds_back_at_most_one_chunk(data_key):
    encryptor = SegmentEncryptor(data_key, KEY_ID, chunk_size=CHUNK)
    out = encryptor.update(os.urandom(5 * CHUNK))
    # Header plus four chunks out; the fifth may be the last, so it waits for finalize().
    assert len(out) == 5
    assert sum(map(len, out)) == len(encryptor.header.raw) + 4 * (CHUNK + TAG_SIZE)


def test_writer_encrypts_into_a_file_object(data_key, plaintext):
    target = io.BytesIO()
    with EncryptingWriter(target, data_key, KEY_ID, chunk_size=CHUNK) as writer:
        for start in range(0, len(plaintext), 3000):
            writer.write(plaintext[start : start + 3000])
    assert plaintext[:32] not in target.getvalue()
    assert decrypt_segment(target.getvalue(), data_key) == plaintext


def test_random_access_reads_only_the_chunks_asked_for(data_key, plaintext):
    blob = bytearray(encrypt(plaintext, data_key))
    # Chunk 2 is damaged: reading elsewhere still works, and proves it was not read.
    blob[chunk_span(bytes(blob), 2).start + 5] ^= 1
    reader = SegmentDecryptor(io.BytesIO(bytes(blob)), data_key)
    assert reader.key_id == KEY_ID
    assert reader.plaintext_size == len(plaintext)
    assert reader.chunk_count == 11
    assert reader.chunk(7) == plaintext[7 * CHUNK : 8 * CHUNK]
    assert reader.read(5 * CHUNK - 10, 30) == plaintext[5 * CHUNK - 10 : 5 * CHUNK + 20]
    assert reader.read(len(plaintext) - 5, 100) == plaintext[-5:]
    assert reader.read(len(plaintext), 10) == b""
    with pytest.raises(SegmentIntegrityError, match="chunk 2") as failure:
        reader.read(2 * CHUNK + 100, 10)
    assert failure.value.chunk == 2


@pytest.mark.parametrize("where", ["header", "first chunk", "middle chunk", "last tag"])
def test_a_flipped_bit_is_detected(where, data_key, plaintext):
    blob = bytearray(encrypt(plaintext, data_key))
    position = {
        "header": 12,  # inside the nonce prefix
        "first chunk": chunk_span(bytes(blob), 0).start,
        "middle chunk": chunk_span(bytes(blob), 5).start + 77,
        "last tag": len(blob) - 1,
    }[where]
    blob[position] ^= 0x10
    with pytest.raises(SegmentIntegrityError):
        decrypt_segment(bytes(blob), data_key)
    with pytest.raises(SegmentIntegrityError):
        b"".join(decrypt_stream(io.BytesIO(bytes(blob)), data_key))


@pytest.mark.parametrize("cut", ["one byte", "last chunk", "to the header", "two chunks"])
def test_truncation_is_detected_when_opening(cut, data_key, plaintext):
    blob = encrypt(plaintext, data_key)
    end = {
        "one byte": len(blob) - 1,
        # Cut exactly on a chunk boundary: every remaining chunk is intact on its own.
        "last chunk": chunk_span(blob, 10).start,
        "two chunks": chunk_span(blob, 9).start,
        "to the header": chunk_span(blob, 0).start,
    }[cut]
    with pytest.raises(SegmentIntegrityError):
        SegmentDecryptor(blob[:end], data_key)
    with pytest.raises(SegmentIntegrityError):
        b"".join(decrypt_stream(io.BytesIO(blob[:end]), data_key))


def test_truncation_of_an_object_ending_on_a_chunk_boundary_is_detected(data_key):
    blob = encrypt(os.urandom(4 * CHUNK), data_key)
    with pytest.raises(SegmentIntegrityError, match="chunk 2"):
        SegmentDecryptor(blob[: chunk_span(blob, 3).start], data_key)


def test_appended_chunk_is_detected(data_key, plaintext):
    blob = encrypt(plaintext, data_key)
    extended = blob + blob[chunk_span(blob, 3)]
    with pytest.raises(SegmentIntegrityError):
        decrypt_segment(extended, data_key)


def test_reordered_chunks_are_detected(data_key, plaintext):
    blob = bytearray(encrypt(plaintext, data_key))
    first, second = chunk_span(bytes(blob), 3), chunk_span(bytes(blob), 4)
    blob[first], blob[second] = bytes(blob[second]), bytes(blob[first])
    with pytest.raises(SegmentIntegrityError, match="chunk 3"):
        decrypt_segment(bytes(blob), data_key)


def test_chunk_from_another_object_under_the_same_key_is_detected(data_key, plaintext):
    ours = bytearray(encrypt(plaintext, data_key))
    theirs = encrypt(plaintext, data_key)
    ours[chunk_span(theirs, 4)] = theirs[chunk_span(theirs, 4)]
    with pytest.raises(SegmentIntegrityError, match="chunk 4"):
        decrypt_segment(bytes(ours), data_key)


def test_wrong_key_fails_with_an_integrity_error(data_key, plaintext):
    blob = encrypt(plaintext, data_key)
    with pytest.raises(SegmentIntegrityError, match="wrong key"):
        decrypt_segment(blob, new_data_key())


def test_not_a_segment_is_rejected_by_its_header(data_key):
    with pytest.raises(SegmentIntegrityError, match="header"):
        decrypt_segment(b"\x00\x00\x00\x18ftypisom" + bytes(100), data_key)


def test_key_is_looked_up_by_the_id_in_the_header(data_key, plaintext):
    blob = encrypt(plaintext, data_key)
    asked: list[str] = []

    def lookup(key_id: str) -> bytes:
        asked.append(key_id)
        return data_key

    assert decrypt_segment(blob, lookup) == plaintext
    assert asked == [KEY_ID]


def test_default_chunk_size_and_header_round_trip():
    header = SegmentHeader.build(KEY_ID, DEFAULT_CHUNK_SIZE, b"\x01" * 8)
    parsed = SegmentHeader.parse(io.BytesIO(header.raw).read)
    assert parsed == header


def test_key_ids_name_a_camera_day_and_generation():
    key_id = data_key_id("cam-042", dt.date(2025, 3, 14), 2)
    assert key_id == "cam-042/2025-03-14/2"
    with pytest.raises(ValueError):
        data_key_id("../etc", dt.date(2025, 3, 14))


def test_wrapped_data_key_is_bound_to_its_key_id(data_key):
    master = MasterKey.generate()
    wrapped = master.wrap(KEY_ID, data_key)
    assert master.unwrap(KEY_ID, wrapped) == data_key
    with pytest.raises(KeyUnwrapError):
        master.unwrap("cam-042/2025-03-15/1", wrapped)
    with pytest.raises(KeyUnwrapError):
        MasterKey.generate().unwrap(KEY_ID, wrapped)
    assert data_key.hex() not in repr(master) and master.key.hex() not in repr(master)


def test_master_key_rotation_rewraps_keys_and_old_media_still_decrypt(plaintext):
    old, new = MasterKey.generate(), MasterKey.generate()
    day_keys = {f"cam-{n:03}/2025-03-14/1": new_data_key() for n in range(3)}
    wrapped = {key_id: old.wrap(key_id, key) for key_id, key in day_keys.items()}
    media = {
        key_id: bytes(encrypt_segment(plaintext, key, key_id, chunk_size=CHUNK))
        for key_id, key in day_keys.items()
    }
    before = dict(media)

    rewrapped = {
        key_id: rewrap_data_key(key_id, blob, old, new) for key_id, blob in wrapped.items()
    }

    assert media == before  # media untouched
    for key_id, blob in media.items():
        with pytest.raises(KeyUnwrapError):
            old.unwrap(key_id, rewrapped[key_id])
        key = unwrap_data_key(key_id, rewrapped[key_id], [new, old])
        assert decrypt_segment(blob, key) == plaintext
        # During the rotation both generations open through the same call.
        assert unwrap_data_key(key_id, wrapped[key_id], [new, old]) == key
