"""The offline verifier vouches only for files inside the package."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from audit import chain
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


def _manifest_with(folder: Path, **fields) -> Path:
    """Rewrite the package's manifest with ``fields`` and sign it again with the server's key."""
    document = json.loads((folder / verifier.MANIFEST).read_bytes())
    for name, value in fields.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    body = json.dumps(document).encode()
    (folder / verifier.MANIFEST).write_bytes(body)
    key = evidence_manifest.signer().key
    (folder / verifier.SIGNATURE).write_text(base64.b64encode(key.sign(body)).decode())
    return folder


def test_the_fingerprint_is_read_as_printed_grouped_or_in_capitals():
    fingerprint = evidence_manifest.signer().fingerprint
    grouped = " ".join(fingerprint[i : i + 4] for i in range(0, 64, 4)).upper()
    assert verifier.normalize_fingerprint(grouped) == fingerprint
    assert verifier.normalize_fingerprint(":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)))
    for wrong in ("", fingerprint[:-1], fingerprint + "0", fingerprint[:-1] + "g"):
        with pytest.raises(ValueError, match="64 caractères"):
            verifier.normalize_fingerprint(wrong)


def test_a_mistyped_fingerprint_is_a_usage_error_not_a_verdict(tmp_path, capsys):
    package = _package(tmp_path / "p", ["clip.mp4"])
    with pytest.raises(SystemExit) as stop:
        verifier.main(["verify.py", "--fingerprint", "2c7c1eca", str(package)])
    assert stop.value.code == verifier.EXIT_USAGE
    assert "64 caractères hexadécimaux" in capsys.readouterr().err


def test_the_server_key_pins_a_package_and_the_result_says_so(tmp_path):
    package = _package(tmp_path / "p", ["clip.mp4"])
    fingerprint = evidence_manifest.signer().fingerprint
    result = verifier.check(
        package, fingerprints=[fingerprint.upper()], kind=evidence_manifest.KIND
    )
    assert result.failures == [] and result.pinned and result.fingerprint == fingerprint
    assert result.kind == verifier.EVIDENCE_PACKAGE
    assert not verifier.check(package).pinned


def test_a_manifest_written_before_the_kind_field_is_known_by_its_format(tmp_path):
    package = _manifest_with(
        _package(tmp_path / "p", ["clip.mp4"], kind=None), format=evidence_manifest.FORMAT
    )
    assert verifier.verify(package, kind=verifier.EVIDENCE_PACKAGE) == []
    failures = verifier.verify(package, kind=verifier.AUDIT_PACK)
    assert len(failures) == 1 and failures[0].startswith("ÉCHEC nature")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"kind": None}, "n'indique pas la nature"),
        ({"kind": "paquet"}, "nature inconnue"),
        ({"kind": ["evidence-package"], "format": ["x"]}, "nature inconnue"),
        ({"kind": verifier.AUDIT_PACK, "format": evidence_manifest.FORMAT}, "se contredit"),
    ],
)
def test_a_manifest_that_does_not_say_its_kind_plainly_fails(tmp_path, fields, words):
    package = _manifest_with(_package(tmp_path / "p", ["clip.mp4"]), **fields)
    failures = verifier.verify(package)
    assert len(failures) == 1 and words in failures[0]


def test_the_copy_shipped_in_a_package_expects_that_kind(tmp_path):
    package = _package(tmp_path / "p", ["clip.mp4"])
    fingerprint = evidence_manifest.signer().fingerprint
    script = tmp_path / "pack" / "verify.py"
    script.parent.mkdir()
    script.write_bytes(verifier.shipped_source(verifier.AUDIT_PACK))

    def run(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), "--fingerprint", fingerprint, *options, str(package)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    refused = run()  # an audit pack's verifier, given an evidence package
    assert refused.returncode == 1 and "ÉCHEC nature" in refused.stdout, refused.stdout
    accepted = run("--kind", verifier.EVIDENCE_PACKAGE)  # the expert says what he expects
    assert accepted.returncode == 0 and accepted.stdout.startswith("OK"), accepted.stdout
    with pytest.raises(ValueError):
        verifier.shipped_source("paquet")


def test_verify_export_accepts_a_former_key_only_once_it_is_configured(tmp_path, settings):
    former = Ed25519PrivateKey.generate()
    package = _package(tmp_path / "p", ["clip.mp4"], key=former)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_export", str(package), stdout=out)
    assert "ÉCHEC clé" in out.getvalue()
    fingerprint = chain.public_key_fingerprint(former.public_key())
    settings.EVIDENCE_PREVIOUS_FINGERPRINTS = [fingerprint]
    out = io.StringIO()
    call_command("verify_export", str(package), stdout=out)
    assert f"Clé de signature : {fingerprint}" in out.getvalue()
    assert out.getvalue().strip().endswith("OK")


def test_a_malformed_former_fingerprint_stops_the_start_and_names_the_variable(tmp_path):
    environment = {
        **os.environ,
        "CSU_DATA_DIR": str(tmp_path),
        "CSU_EVIDENCE_PREVIOUS_FINGERPRINTS": "2c7c1eca",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CSU_EVIDENCE_PREVIOUS_FINGERPRINTS must list SHA-256 fingerprints" in result.stderr
