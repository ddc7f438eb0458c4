"""The offline verifier vouches only for files inside the package."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import manifest as evidence_manifest
from evidence import verifier


def _package(
    folder: Path,
    paths: list[str],
    *,
    key: Ed25519PrivateKey | None = None,
    kind: str | None = verifier.EVIDENCE_PACKAGE,
) -> Path:
    """A package whose manifest lists ``paths`` (with the hash of b"x"), of ``kind``, signed
    with ``key`` (by default the server's evidence signing key)."""
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"x")
    key = key or evidence_manifest.signer().key
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    fingerprint = hashlib.sha256(raw).hexdigest()
    digest = hashlib.sha256(b"x").hexdigest()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    listed = [{"path": p, "sha256": digest} for p in paths]
    listed.append({"path": verifier.PUBLIC_KEY, "sha256": hashlib.sha256(pem).hexdigest()})
    document = {"files": listed, "signature": {"public_key_sha256": fingerprint}}
    if kind is not None:
        document["kind"] = kind
    manifest = json.dumps(document).encode()
    (folder / verifier.MANIFEST).write_bytes(manifest)
    (folder / verifier.SIGNATURE).write_text(base64.b64encode(key.sign(manifest)).decode())
    (folder / verifier.PUBLIC_KEY).write_bytes(pem)
    (folder / verifier.FINGERPRINT).write_text(fingerprint)
    return folder


def test_an_intact_package_verifies(tmp_path):
    assert verifier.verify(_package(tmp_path / "p", ["clip.mp4"])) == []


def test_paths_outside_the_package_are_refused(tmp_path):
    (tmp_path / "outside.mp4").write_bytes(b"x")  # same content, next to the package
    package = _package(
        tmp_path / "p", ["clip.mp4", "../outside.mp4", str(tmp_path / "outside.mp4")]
    )
    failures = verifier.verify(package)
    assert len(failures) == 2
    assert all("hors du paquet" in failure for failure in failures)
