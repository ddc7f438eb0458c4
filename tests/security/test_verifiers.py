"""Attacks on the verifiers: each test acts as someone who wants an altered package accepted.

A court expert verifies a package with ``verify.py --fingerprint`` and the fingerprint the city
publishes; the CSU itself with ``manage.py verify_export`` / ``verify_audit_pack``, which trust
its own signing key. Neither may trust the key that the package carries.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
import warnings
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from audit import chain
from compliance import pack
from evidence import manifest, verifier

ROOT = "requisition-2026-000123"
CLIP = "clips/01-CAM-EV1-20260314-2210.mp4"
GENUINE_CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64
FORGED_CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(reversed(range(256))) * 64


def _signed(files: dict[str, bytes], key: Ed25519PrivateKey) -> dict[str, bytes]:
    """``files`` with the cle-publique.pem, manifest, signature and fingerprint of ``key``."""
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = chain.public_key_fingerprint(key.public_key())
    files = {**files, manifest.PUBLIC_KEY_NAME: pem}
    document = {
        "format": manifest.FORMAT,
        "kind": manifest.KIND,
        "files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        ],
        "signature": {
            "algorithm": "Ed25519",
            "file": manifest.SIGNATURE_NAME,
            "public_key_file": manifest.PUBLIC_KEY_NAME,
            "public_key_sha256": fingerprint,
        },
    }
    body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    return {
        **files,
        manifest.MANIFEST_NAME: body,
        manifest.SIGNATURE_NAME: base64.b64encode(key.sign(body)) + b"\n",
        manifest.FINGERPRINT_NAME: (fingerprint + "\n").encode(),
    }


def _content(clip: bytes) -> dict[str, bytes]:
    return {
        CLIP: clip,
        manifest.README_NAME: b"Paquet d'extraction\n",
        manifest.VERIFIER_NAME: manifest.verifier_script(),
    }


def _genuine() -> dict[str, bytes]:
    """A package as the CSU signs it: its own evidence key."""
    return _signed(_content(GENUINE_CLIP), manifest.signer().key)


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point of one test
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def _package_zip(path: Path, files: dict[str, bytes], extra=()) -> Path:
    return _zip(path, [*((f"{ROOT}/{n}", d) for n, d in files.items()), *extra])


def _city_fingerprint() -> str:
    """The fingerprint as the expert reads it: on the city's public information page."""
    page = Client().get("/public/information/").content.decode()
    found = re.search(r'<code id="empreinte-cle">([0-9a-f]{64})</code>', page)
    assert found, "the public information page states no key fingerprint"
    return found.group(1)


def _expert(tmp_path: Path, location: Path, *options: str) -> subprocess.CompletedProcess:
    """The court expert's run of the city's verify.py (a copy kept apart from the package)."""
    script = tmp_path / "verificateur-du-csu" / "verify.py"
    script.parent.mkdir(exist_ok=True)
    script.write_bytes(manifest.verifier_script())
    return subprocess.run(
        [sys.executable, str(script), *options, str(location)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _verify_export(location: Path) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("verify_export", str(location), stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


# --- A package re-signed with another key --------------------------------------------------------


@pytest.mark.django_db
def test_a_package_altered_then_resigned_with_a_foreign_key_fails_verify_py(tmp_path):
    city = _city_fingerprint()
    genuine = _package_zip(tmp_path / "paquet.zip", _genuine())
    ok = _expert(tmp_path, genuine, "--fingerprint", city)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr

    # The attacker swaps the clip, rewrites the manifest and signs it all with a key of his own.
    own_key = Ed25519PrivateKey.generate()
    forged = _package_zip(tmp_path / "falsifie.zip", _signed(_content(FORGED_CLIP), own_key))
    result = _expert(tmp_path, forged, "--fingerprint", city)
    assert result.returncode == 1, result.stdout
    assert "ÉCHEC clé" in result.stdout
    assert chain.public_key_fingerprint(own_key.public_key()) in result.stdout
    assert "OK" not in result.stdout.split()


@pytest.mark.django_db
def test_a_resigned_package_is_not_ok_when_the_expert_gives_no_fingerprint(tmp_path):
    own_key = Ed25519PrivateKey.generate()
    forged = _package_zip(tmp_path / "falsifie.zip", _signed(_content(FORGED_CLIP), own_key))
    result = _expert(tmp_path, forged)
    assert result.returncode == verifier.EXIT_UNPINNED, result.stdout
    assert result.stdout.startswith("CLÉ NON VÉRIFIÉE")
    assert chain.public_key_fingerprint(own_key.public_key()) in result.stdout
    assert "--fingerprint" in result.stdout


@pytest.mark.django_db
def test_a_package_resigned_with_a_foreign_key_fails_verify_export(tmp_path):
    accepted, _out = _verify_export(_package_zip(tmp_path / "paquet.zip", _genuine()))
    assert accepted
    own_key = Ed25519PrivateKey.generate()
    forged_files = _signed(_content(FORGED_CLIP), own_key)
    for forged in (
        _package_zip(tmp_path / "falsifie.zip", forged_files),
        _extracted(tmp_path / "falsifie", forged_files),
    ):
        accepted, out = _verify_export(forged)
        assert not accepted
        assert "ÉCHEC clé" in out and chain.public_key_fingerprint(own_key.public_key()) in out


def _extracted(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@pytest.mark.django_db
def test_an_audit_pack_resigned_with_a_foreign_key_fails_verify_audit_pack(tmp_path):
    end = timezone.now()
    name, data = pack.build(start=end - timedelta(days=1), end=end, actor="contrôle")
    genuine = tmp_path / name
    genuine.write_bytes(data)
    call_command("verify_audit_pack", str(genuine), stdout=io.StringIO())

    # Alter a register, then rebuild the manifest and its signature with another key.
    own_key = Ed25519PrivateKey.generate()
    root = name.removesuffix(".zip")
    with zipfile.ZipFile(genuine) as archive:
        files = {
            info.filename.removeprefix(f"{root}/"): archive.read(info)
            for info in archive.infolist()
        }
    document = json.loads(files[manifest.MANIFEST_NAME])
    files["journal-audit.csv"] = b"seq;action\n"
    pem = own_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files[manifest.PUBLIC_KEY_NAME] = pem
    fingerprint = chain.public_key_fingerprint(own_key.public_key())
    for entry in document["files"]:
        entry["sha256"] = hashlib.sha256(files[entry["path"]]).hexdigest()
    document["signature"]["public_key_sha256"] = fingerprint
    body = json.dumps(document).encode()
    files[manifest.MANIFEST_NAME] = body
    files[manifest.SIGNATURE_NAME] = base64.b64encode(own_key.sign(body))
    files[manifest.FINGERPRINT_NAME] = fingerprint.encode()
    forged = _zip(tmp_path / "falsifie.zip", [(f"{root}/{n}", d) for n, d in files.items()])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_pack", str(forged), stdout=out)
    assert "ÉCHEC clé" in out.getvalue() and fingerprint in out.getvalue()
    result = _expert(tmp_path, forged, "--kind", "audit-pack", "--fingerprint", _city_fingerprint())
    assert result.returncode == 1 and "ÉCHEC clé" in result.stdout, result.stdout


# --- A duplicated clip entry ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicated_clip_entry_is_refused(tmp_path):
    """The forged clip comes first (what many archive tools show or extract), the genuine one
    last (what Python's zipfile reads): the archive must be refused, not judged on one copy."""
    genuine = _genuine()
    archive = _zip(
        tmp_path / "paquet.zip",
        [
            (f"{ROOT}/{CLIP}", FORGED_CLIP),
            *((f"{ROOT}/{n}", d) for n, d in genuine.items()),
        ],
    )
    accepted, out = _verify_export(archive)
    assert not accepted
    assert f"{ROOT}/{CLIP}" in out and "en double" in out
    result = _expert(tmp_path, archive, "--fingerprint", _city_fingerprint())
    assert result.returncode == 1 and "en double" in result.stdout, result.stdout


@pytest.mark.django_db
def test_a_clip_hidden_before_the_archive_directory_is_refused(tmp_path):
    """A forged clip as a local entry that the archive's directory does not list: a tool that
    extracts the archive as a stream, from its first byte, finds it; zipfile never does."""
    genuine = _package_zip(tmp_path / "paquet.zip", _genuine())
    hidden = _zip(tmp_path / "cache.zip", [(f"{ROOT}/{CLIP}", FORGED_CLIP)])
    with zipfile.ZipFile(hidden) as archive:
        local_entry = hidden.read_bytes()[: archive.start_dir]
    smuggled = tmp_path / "paquet-piege.zip"
    smuggled.write_bytes(local_entry + genuine.read_bytes())
    assert smuggled.read_bytes()[30 : 30 + len(f"{ROOT}/{CLIP}")] == f"{ROOT}/{CLIP}".encode()
    with zipfile.ZipFile(smuggled) as archive:  # read through its directory: the genuine clip
        assert archive.read(f"{ROOT}/{CLIP}") == GENUINE_CLIP

    accepted, out = _verify_export(smuggled)
    assert not accepted and "entrée cachée" in out
    result = _expert(tmp_path, smuggled, "--fingerprint", _city_fingerprint())
    assert result.returncode == 1 and "entrée cachée" in result.stdout, result.stdout


# --- A forged top-level file ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("forged", ["verify.py", "LISEZMOI.txt", "autre/clip.mp4"])
def test_a_forged_file_beside_the_package_folder_is_refused(tmp_path, forged):
    """A file at the top of the archive, outside the signed folder: a forged verify.py that
    says OK, or a read-me with another fingerprint, would be opened first by the recipient."""
    genuine = _genuine()
    archive = _package_zip(tmp_path / "paquet.zip", genuine, [(forged, b"print('OK')\n")])
    accepted, out = _verify_export(archive)
    assert not accepted
    assert forged in out and "hors du dossier du paquet" in out
    result = _expert(tmp_path, archive, "--fingerprint", _city_fingerprint())
    assert result.returncode == 1 and forged in result.stdout, result.stdout

    # The same, once extracted: the folder holds the package folder and the forged file.
    folder = _extracted(tmp_path / "extrait", genuine)
    (folder / forged).parent.mkdir(parents=True, exist_ok=True)
    (folder / forged).write_bytes(b"print('OK')\n")
    accepted, out = _verify_export(folder)
    assert not accepted and "hors du dossier du paquet" in out


@pytest.mark.django_db
def test_a_forged_module_at_the_top_of_the_package_cannot_hijack_its_verifier(tmp_path):
    """The package's own verify.py is left genuine (it is signed), the clip is swapped, and a
    json.py that prints OK is added beside verify.py: run from the package, Python would import
    it in place of the standard module before the verifier checks anything."""
    folder = _extracted(tmp_path / "extrait", _genuine()) / ROOT
    (folder / CLIP).write_bytes(FORGED_CLIP)
    (folder / "json.py").write_text('print("OK")\nraise SystemExit(0)\n')
    result = subprocess.run(
        [sys.executable, "verify.py", "--fingerprint", _city_fingerprint()],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout
    assert "ÉCHEC fichier json.py : présent mais absent du manifeste" in result.stdout
    assert f"ÉCHEC fichier {CLIP} : empreinte SHA-256 différente" in result.stdout


# --- One kind cannot pass for the other ----------------------------------------------------------


@pytest.mark.django_db
def test_an_audit_pack_cannot_pass_for_an_evidence_package(tmp_path):
    """Both are signed with the city's key: only the kind, inside the signed bytes, tells."""
    end = timezone.now()
    name, data = pack.build(start=end - timedelta(days=1), end=end, actor="contrôle")
    audit_pack = tmp_path / name
    audit_pack.write_bytes(data)
    accepted, out = _verify_export(audit_pack)
    assert not accepted and "ÉCHEC nature" in out
    result = _expert(tmp_path, audit_pack, "--fingerprint", _city_fingerprint())
    assert result.returncode == 1 and "ÉCHEC nature" in result.stdout, result.stdout


@pytest.mark.django_db
def test_an_evidence_package_cannot_pass_for_an_audit_pack(tmp_path):
    package = _package_zip(tmp_path / "paquet.zip", _genuine())
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_pack", str(package), stdout=out)
    assert "ÉCHEC nature" in out.getvalue()
