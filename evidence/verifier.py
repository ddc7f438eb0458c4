#!/usr/bin/env python3
"""Vérifie un paquet d'extraction du CSU : signature du manifeste, puis chaque fichier.

Usage : python3 verify.py [DOSSIER_OU_ZIP]   (par défaut : le dossier qui contient ce script)
Affiche « OK » et sort avec le code 0 si tout concorde ; sinon nomme le fichier ou la
signature en échec et sort avec le code 1. Ne demande que Python 3 et le paquet
« cryptography » (pip install cryptography). Fonctionne hors ligne.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
FINGERPRINT = "cle-publique.sha256"
PUBLIC_KEY = "cle-publique.pem"
#: Files the manifest cannot list (it is signed, and they describe or sign it).
UNLISTED = {MANIFEST, SIGNATURE, FINGERPRINT}


class Package:
    """The files of a package, from its folder or from its ZIP archive."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if location.is_file():
            self.zip = zipfile.ZipFile(location)
            names = [n for n in self.zip.namelist() if not n.endswith("/")]
            manifests = [n for n in names if PurePosixPath(n).name == MANIFEST]
            if len(manifests) == 1:
                self.prefix = manifests[0][: -len(MANIFEST)]
        elif not (location / MANIFEST).exists():
            inner = [p for p in location.iterdir() if (p / MANIFEST).is_file()]
            if len(inner) == 1:
                self.location = inner[0]

    def names(self) -> set[str]:
        if self.zip is not None:
            return {
                n[len(self.prefix) :]
                for n in self.zip.namelist()
                if n.startswith(self.prefix) and not n.endswith("/")
            }
        return {
            p.relative_to(self.location).as_posix()
            for p in self.location.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    def read(self, name: str) -> bytes | None:
        try:
            if self.zip is not None:
                return self.zip.read(self.prefix + name)
            return (self.location / name).read_bytes()
        except (KeyError, FileNotFoundError, IsADirectoryError):
            return None

    def sha256(self, name: str) -> str | None:
        digest = hashlib.sha256()
        try:
            if self.zip is not None:
                handle = self.zip.open(self.prefix + name)
            else:
                handle = (self.location / name).open("rb")
        except (KeyError, FileNotFoundError, IsADirectoryError):
            return None
        with handle:
            try:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            except zipfile.BadZipFile:
                # The archive's own CRC disagrees: the bytes were altered.
                return "altéré (contrôle CRC de l'archive en échec)"
        return digest.hexdigest()


def verify(location: Path) -> list[str]:
    """Every failure found, in words; an empty list means the package is intact."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        package = Package(location)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"ÉCHEC paquet : {location} illisible ({exc})"]
    body = package.read(MANIFEST)
    if body is None:
        return [f"ÉCHEC paquet : {MANIFEST} absent de {location}"]
    signature_text = package.read(SIGNATURE)
    pem = package.read(PUBLIC_KEY)
    if signature_text is None:
        return [f"ÉCHEC signature : {SIGNATURE} absent"]
    if pem is None:
        return [f"ÉCHEC signature : {PUBLIC_KEY} absent"]
    try:
        public_key = serialization.load_pem_public_key(pem)
    except ValueError:
        return [f"ÉCHEC signature : {PUBLIC_KEY} n'est pas une clé publique lisible"]
    if not isinstance(public_key, Ed25519PublicKey):
        return [f"ÉCHEC signature : {PUBLIC_KEY} n'est pas une clé Ed25519"]
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    fingerprint = hashlib.sha256(raw).hexdigest()
    try:
        public_key.verify(base64.b64decode(signature_text.strip(), validate=True), body)
    except (InvalidSignature, binascii.Error, ValueError):
        return [f"ÉCHEC signature : {SIGNATURE} ne correspond pas à {MANIFEST}"]
    failures: list[str] = []
    declared = (package.read(FINGERPRINT) or b"").decode("ascii", "replace").strip()
    if declared != fingerprint:
        failures.append(
            f"ÉCHEC signature : {FINGERPRINT} ({declared or 'absent'}) n'est pas l'empreinte de "
            f"{PUBLIC_KEY} ({fingerprint})"
        )
    try:
        manifest = json.loads(body)
    except ValueError:
        return [*failures, f"ÉCHEC fichier {MANIFEST} : JSON illisible"]
    if manifest.get("signature", {}).get("public_key_sha256") != fingerprint:
        failures.append(f"ÉCHEC signature : {MANIFEST} annonce une autre clé que {PUBLIC_KEY}")
    listed = set()
    present = package.names()
    for entry in manifest.get("files", []):
        name = entry["path"]
        listed.add(name)
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
            # Only files inside the package count: a manifest cannot vouch for anything else.
            failures.append(f"ÉCHEC fichier {name} : chemin hors du paquet")
            continue
        if name not in present:
            failures.append(f"ÉCHEC fichier {name} : absent")
            continue
        actual = package.sha256(name)
        if actual is None:
            failures.append(f"ÉCHEC fichier {name} : absent")
        elif actual != entry["sha256"]:
            failures.append(f"ÉCHEC fichier {name} : empreinte SHA-256 différente ({actual})")
    for name in sorted(present - listed - UNLISTED):
        failures.append(f"ÉCHEC fichier {name} : présent mais absent du manifeste")
    return failures


def main(argv: list[str]) -> int:
    location = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    failures = verify(location)
    for line in failures:
        print(line)
    if failures:
        return 1
    fingerprint = (Package(location).read(FINGERPRINT) or b"").decode().strip()
    print("OK")
    print(f"Empreinte de la clé de signature : {fingerprint}")
    print("Comparez-la à celle du procès-verbal de remise et à celle publiée par le CSU.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
