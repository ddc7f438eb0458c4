#!/usr/bin/env python3
"""Vérifie un paquet du CSU : clé de signature, signature du manifeste, puis chaque fichier.

Usage : python3 verify.py --fingerprint EMPREINTE [--kind NATURE] [DOSSIER_OU_ZIP]
        (par défaut : le dossier qui contient ce script)
        python3 verify.py --fingerprint EMPREINTE --document FICHIER.pdf
        (un document signé à part, tel le procès-verbal de remise : sa signature est lue dans
        FICHIER.pdf.sig, la clé publique dans le fichier cle-publique.pem de ce dossier)

NATURE, « evidence-package » (paquet d'extraction) ou « audit-pack » (dossier de contrôle), est
lue dans le manifeste signé : la copie de ce programme jointe à un paquet refuse l'autre nature,
sauf si --kind la demande expressément.

EMPREINTE est l'empreinte SHA-256 de la clé publique du CSU (64 caractères hexadécimaux), lue
sur le procès-verbal de remise ou sur la page d'information publique du CSU, jamais dans le
paquet lui-même. Codes de sortie :
  0  « OK » : paquet intact, signé par la clé attendue, de la nature attendue ;
  1  « ÉCHEC » : fichier, signature, clé, nature ou structure en défaut (le message le nomme) ;
  2  mauvaise utilisation (empreinte mal écrite, option inconnue) ;
  3  « CLÉ NON VÉRIFIÉE » : le paquet est cohérent, mais faute d'empreinte attendue rien ne
     prouve qu'il vient du CSU (n'importe qui peut re-signer un paquet modifié).
Ne demande que Python 3 et le paquet « cryptography » (pip install cryptography). Fonctionne
hors ligne.
"""

from __future__ import annotations

import sys

# Run as a script, its folder heads the import path: run from a package's folder, a file of the
# package named like a standard module (json.py, zipfile.py...) would run before any check.
if __name__ == "__main__" and sys.path and not getattr(sys.flags, "safe_path", False):
    del sys.path[0]

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import stat
import struct
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
FINGERPRINT = "cle-publique.sha256"
PUBLIC_KEY = "cle-publique.pem"
#: Files the manifest cannot list (it is signed, and they describe or sign it).
UNLISTED = {MANIFEST, SIGNATURE, FINGERPRINT}

EVIDENCE_PACKAGE = "evidence-package"
AUDIT_PACK = "audit-pack"
#: The kinds of signed package, as named by the manifest's "kind" field.
KINDS = {
    EVIDENCE_PACKAGE: "paquet d'extraction (réquisition judiciaire)",
    AUDIT_PACK: "dossier de contrôle (CNIL)",
}
#: Manifests written before the "kind" field said what they were through their format alone.
FORMAT_KINDS = {"csu-evidence-package/1": EVIDENCE_PACKAGE, "csu-audit-pack/1": AUDIT_PACK}
#: The kind this copy of the script accepts; set in the copy placed inside a package.
EXPECTED_KIND: str | None = None
_EXPECTED_KIND_LINE = "EXPECTED_KIND: str | None = None\n"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNPINNED = 0, 1, 2, 3
#: A ZIP local file header (as zipfile's structFileHeader): name and extra lengths at 10, 11.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
#: Sizes a data descriptor may have: with or without its signature, 32- or 64-bit sizes.
_DESCRIPTOR_SIZES = (12, 16, 20, 24)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def normalize_fingerprint(text: str) -> str:
    """The fingerprint as the CSU prints it (64 lowercase hex digits); spaces and colons ignored.

    Raises ValueError when ``text`` is not a SHA-256 fingerprint.
    """
    value = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(value):
        raise ValueError("une empreinte SHA-256 s'écrit avec 64 caractères hexadécimaux (0-9, a-f)")
    return value


def shipped_source(kind: str) -> bytes:
    """This script as placed inside a package of ``kind``: it refuses the other kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown package kind {kind!r}")
    source = Path(__file__).read_text(encoding="utf-8")
    if source.count(_EXPECTED_KIND_LINE) != 1:
        raise RuntimeError("the verifier's EXPECTED_KIND line was not found exactly once")
    return source.replace(_EXPECTED_KIND_LINE, f"EXPECTED_KIND: str | None = {kind!r}\n").encode(
        "utf-8"
    )


def _shown(name: str) -> str:
    return name if name.isprintable() else repr(name)


def _entry_problem(name: str) -> str | None:
    """Why an archive entry's name cannot be part of a package, or None."""
    if "\\" in name or "\x00" in name or not name.isprintable():
        return "nom d'entrée invalide"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "chemin absolu, hors du dossier du paquet"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if ".." in parts:
        return "chemin hors du dossier du paquet"
    if any(part in ("", ".") for part in parts):
        return "chemin non canonique"
    return None


def _hidden_bytes(archive: zipfile.ZipFile) -> list[str]:
    """Stretches of the archive that belong to no entry of its central directory.

    A tool that reads an archive from its start, entry by entry, would extract files hidden
    there that a reader of the directory (this verifier, zipfile) never sees.
    """
    handle = archive.fp
    assert handle is not None
    ends = {0}
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset not in ends:
            return [
                f"ÉCHEC paquet : octets {min(ends)} à {info.header_offset} de l'archive hors de "
                "toute entrée déclarée (entrée cachée possible)"
            ]
        handle.seek(info.header_offset)
        raw = handle.read(_LOCAL_HEADER.size)
        if len(raw) != _LOCAL_HEADER.size or raw[:4] != b"PK\x03\x04":
            return [f"ÉCHEC paquet : en-tête de l'entrée « {_shown(info.filename)} » illisible"]
        fields = _LOCAL_HEADER.unpack(raw)
        data_end = info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        data_end += info.compress_size
        has_descriptor = info.flag_bits & 0x08
        ends = {data_end + size for size in _DESCRIPTOR_SIZES} if has_descriptor else {data_end}
    if archive.start_dir not in ends:
        return [
            f"ÉCHEC paquet : octets {min(ends)} à {archive.start_dir} de l'archive hors de "
            "toute entrée déclarée (entrée cachée possible)"
        ]
    return []


class Package:
    """The files of a package, from its folder or from its ZIP archive.

    ``problems`` lists what makes the container itself unacceptable (duplicate entries, entries
    outside the package folder, links); nothing else is checked while it is not empty, since
    what an unzip tool shows could then differ from what is read here.
    """

    def __init__(self, location: Path) -> None:
        self.location = location
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        self.problems: list[str] = []
        self._names: set[str] = set()
        if location.is_file():
            self._open_zip(location)
        else:
            self._open_folder(location)

    def _open_zip(self, location: Path) -> None:
        self.zip = zipfile.ZipFile(location)
        entries = self.zip.infolist()
        seen: dict[str, str] = {}
        for info in entries:
            name = info.filename
            problem = _entry_problem(name)
            if problem:
                self.problems.append(f"ÉCHEC paquet : entrée « {_shown(name)} » : {problem}")
                continue
            # Two entries that an unzip tool would write to the same file (same name, or names
            # differing only by case or Unicode form): which one is shown is up to the tool.
            key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
            if key in seen:
                self.problems.append(
                    f"ÉCHEC paquet : entrée « {_shown(name)} » en double dans l'archive"
                )
                continue
            seen[key] = name
            if stat.S_ISLNK(info.external_attr >> 16):
                self.problems.append(
                    f"ÉCHEC paquet : entrée « {_shown(name)} » : lien symbolique refusé"
                )
        if self.problems:
            return
        self.problems.extend(_hidden_bytes(self.zip))
        if self.problems:
            return
        files = [info.filename for info in entries if not info.is_dir()]
        manifests = [n for n in files if PurePosixPath(n).name == MANIFEST]
        if not manifests:
            return
        depth = min(n.count("/") for n in manifests)
        shallowest = [n for n in manifests if n.count("/") == depth]
        if len(shallowest) > 1:
            self.problems.append(
                f"ÉCHEC paquet : plusieurs {MANIFEST} ({', '.join(sorted(shallowest))})"
            )
            return
        self.prefix = shallowest[0][: -len(MANIFEST)]
        for info in entries:
            name = info.filename
            if name.startswith(self.prefix):
                if not info.is_dir():
                    self._names.add(name[len(self.prefix) :])
            elif not (info.is_dir() and self.prefix.startswith(name)):
                self.problems.append(
                    f"ÉCHEC paquet : « {_shown(name)} » est hors du dossier du paquet "
                    f"« {self.prefix.rstrip('/') or '.'} »"
                )

    def _open_folder(self, location: Path) -> None:
        if not (location / MANIFEST).exists() and location.is_dir():
            inner = [
                p for p in location.iterdir() if not p.is_symlink() and (p / MANIFEST).is_file()
            ]
            if len(inner) == 1:
                self.location = inner[0]
                # The folder the archive was extracted into holds the package and nothing else.
                for other in sorted(location.iterdir()):
                    if other != inner[0]:
                        self.problems.append(
                            f"ÉCHEC paquet : « {_shown(other.name)} » est hors du dossier du "
                            f"paquet « {inner[0].name} »"
                        )
        if not self.location.is_dir():
            return
        for folder, dirnames, filenames in os.walk(self.location):
            here = Path(folder)
            for name in sorted(dirnames + filenames):
                path = here / name
                relative = path.relative_to(self.location).as_posix()
                if path.is_symlink():
                    self.problems.append(
                        f"ÉCHEC paquet : « {_shown(relative)} » : lien symbolique refusé"
                    )
                elif path.is_file():
                    self._names.add(relative)

    def names(self) -> set[str]:
        return set(self._names)

    def read(self, name: str) -> bytes | None:
        if name not in self._names:
            return None
        if self.zip is not None:
            return self.zip.read(self.prefix + name)
        return (self.location / name).read_bytes()

    def sha256(self, name: str) -> str | None:
        if name not in self._names:
            return None
        digest = hashlib.sha256()
        try:
            if self.zip is not None:
                handle = self.zip.open(self.prefix + name)
            else:
                handle = (self.location / name).open("rb")
            with handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except zipfile.BadZipFile as exc:
            # The archive's own CRC, or the entry's local header, disagrees: altered bytes.
            return f"altéré (contrôle d'intégrité de l'archive en échec : {exc})"
        except (RuntimeError, NotImplementedError, OSError) as exc:
            # An encrypted entry, or a compression method this Python cannot read.
            return f"illisible ({exc})"
        return digest.hexdigest()


@dataclass
class Result:
    """What a verification found: ``failures`` empty means intact (and pinned, if asked)."""

    failures: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    kind: str | None = None
    #: True once the signing key was found among the expected fingerprints.
    pinned: bool = False


def check(
    location: Path,
    *,
    fingerprints: Iterable[str] | None = None,
    kind: str | None = None,
) -> Result:
    """Verify the package at ``location`` (folder or ZIP).

    ``fingerprints``: the SHA-256 fingerprints of the keys the verifier trusts; a package signed
    by any other key fails. Without them the key is not checked (``Result.pinned`` stays False).
    ``kind``: the kind of package expected (``EVIDENCE_PACKAGE`` or ``AUDIT_PACK``).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    trusted = None if fingerprints is None else {normalize_fingerprint(f) for f in fingerprints}
    result = Result()
    try:
        package = Package(location)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        # A damaged archive, in any of the ways zipfile reports one.
        result.failures.append(f"ÉCHEC paquet : {location} illisible ({exc})")
        return result
    if package.problems:
        result.failures.extend(package.problems)
        return result
    try:
        body = package.read(MANIFEST)
        signature_text = package.read(SIGNATURE)
        pem = package.read(PUBLIC_KEY)
        declared = package.read(FINGERPRINT) or b""
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        result.failures.append(f"ÉCHEC paquet : {location} illisible ({exc})")
        return result
    if body is None:
        result.failures.append(f"ÉCHEC paquet : {MANIFEST} absent de {location}")
        return result
    if signature_text is None:
        result.failures.append(f"ÉCHEC signature : {SIGNATURE} absent")
        return result
    if pem is None:
        result.failures.append(f"ÉCHEC signature : {PUBLIC_KEY} absent")
        return result
    try:
        public_key = serialization.load_pem_public_key(pem)
    except ValueError:
        result.failures.append(f"ÉCHEC signature : {PUBLIC_KEY} n'est pas une clé publique lisible")
        return result
    if not isinstance(public_key, Ed25519PublicKey):
        result.failures.append(f"ÉCHEC signature : {PUBLIC_KEY} n'est pas une clé Ed25519")
        return result
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    fingerprint = result.fingerprint = hashlib.sha256(raw).hexdigest()
    if trusted is not None:
        if fingerprint not in trusted:
            # A valid signature by another key proves nothing: whoever altered the package
            # can sign it again with a key of their own.
            result.failures.append(
                f"ÉCHEC clé : le paquet est signé par la clé d'empreinte {fingerprint}, qui "
                f"n'est pas la clé attendue ({', '.join(sorted(trusted))}) ; il ne provient pas "
                "du signataire attendu ou a été re-signé après modification"
            )
            return result
        result.pinned = True
    try:
        public_key.verify(base64.b64decode(signature_text.strip(), validate=True), body)
    except (InvalidSignature, binascii.Error, ValueError):
        result.failures.append(f"ÉCHEC signature : {SIGNATURE} ne correspond pas à {MANIFEST}")
        return result
    failures = result.failures
    declared_text = declared.decode("ascii", "replace").strip()
    if declared_text != fingerprint:
        failures.append(
            f"ÉCHEC signature : {FINGERPRINT} ({declared_text or 'absent'}) n'est pas "
            f"l'empreinte de {PUBLIC_KEY} ({fingerprint})"
        )
    try:
        manifest = json.loads(body)
    except (ValueError, RecursionError):
        failures.append(f"ÉCHEC fichier {MANIFEST} : JSON illisible")
        return result
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", []), list):
        failures.append(f"ÉCHEC fichier {MANIFEST} : structure inattendue")
        return result
    signature_block = manifest.get("signature")
    if (
        not isinstance(signature_block, dict)
        or signature_block.get("public_key_sha256") != fingerprint
    ):
        failures.append(f"ÉCHEC signature : {MANIFEST} annonce une autre clé que {PUBLIC_KEY}")
    result.kind = _kind_of(manifest, kind, failures)
    listed = set()
    present = package.names()
    for entry in manifest.get("files", []):
        name = entry.get("path") if isinstance(entry, dict) else None
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(expected, str):
            failures.append(f"ÉCHEC fichier {MANIFEST} : entrée de fichier mal formée")
            continue
        listed.add(name)
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
            # Only files inside the package count: a manifest cannot vouch for anything else.
            failures.append(f"ÉCHEC fichier {name} : chemin hors du paquet")
            continue
        actual = package.sha256(name)
        if actual is None:
            failures.append(f"ÉCHEC fichier {name} : absent")
        elif actual != expected:
            failures.append(f"ÉCHEC fichier {name} : empreinte SHA-256 différente ({actual})")
    for name in sorted(present - listed - UNLISTED):
        failures.append(f"ÉCHEC fichier {_shown(name)} : présent mais absent du manifeste")
    return result


def _kind_of(manifest: dict, expected: str | None, failures: list[str]) -> str | None:
    """The package's kind from its signed manifest; a missing, unknown or other kind fails."""
    declared = manifest.get("kind")
    package_format = manifest.get("format")
    by_format = FORMAT_KINDS.get(package_format) if isinstance(package_format, str) else None
    if declared is None:
        declared = by_format
    elif not isinstance(declared, str) or declared not in KINDS:
        failures.append(f"ÉCHEC nature : {MANIFEST} annonce une nature inconnue ({declared!r})")
        return None
    elif by_format is not None and by_format != declared:
        failures.append(
            f"ÉCHEC nature : {MANIFEST} se contredit (nature {declared}, format "
            f"{manifest.get('format')})"
        )
        return None
    if declared is None:
        failures.append(f"ÉCHEC nature : {MANIFEST} n'indique pas la nature du paquet")
        return None
    if expected is not None and declared != expected:
        failures.append(
            f"ÉCHEC nature : ce paquet est un {KINDS[declared]}, pas un {KINDS[expected]} ; "
            "l'un ne peut pas tenir lieu de l'autre"
        )
    return declared


def verify(
    location: Path,
    *,
    fingerprints: Iterable[str] | None = None,
    kind: str | None = None,
) -> list[str]:
    """Every failure found, in words; an empty list means intact (see ``check``)."""
    return check(location, fingerprints=fingerprints, kind=kind).failures


def check_document(
    document: Path,
    *,
    signature: Path | None = None,
    public_key: Path | None = None,
    fingerprints: Iterable[str] | None = None,
) -> Result:
    """Verify a document signed apart from any package (the procès-verbal de remise).

    ``signature``: its detached signature (base64), by default ``<document>.sig``;
    ``public_key``: the PEM public key, by default ``cle-publique.pem`` beside this script.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    trusted = None if fingerprints is None else {normalize_fingerprint(f) for f in fingerprints}
    result = Result()
    signature = signature or document.with_name(document.name + ".sig")
    public_key = public_key or Path(__file__).resolve().parent / PUBLIC_KEY
    try:
        body = document.read_bytes()
        signature_text = signature.read_bytes()
        pem = public_key.read_bytes()
    except OSError as exc:
        result.failures.append(f"ÉCHEC document : fichier illisible ({exc})")
        return result
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):
        result.failures.append(f"ÉCHEC signature : {public_key} n'est pas une clé Ed25519 lisible")
        return result
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    result.fingerprint = hashlib.sha256(raw).hexdigest()
    if trusted is not None:
        if result.fingerprint not in trusted:
            result.failures.append(
                f"ÉCHEC clé : {public_key} a l'empreinte {result.fingerprint}, qui n'est pas la "
                f"clé attendue ({', '.join(sorted(trusted))})"
            )
            return result
        result.pinned = True
    try:
        key.verify(base64.b64decode(signature_text.strip(), validate=True), body)
    except (InvalidSignature, binascii.Error, ValueError):
        result.failures.append(
            f"ÉCHEC signature : {signature.name} ne correspond pas à {document.name} (document "
            "modifié, ou signature d'un autre document)"
        )
    return result


def _fingerprint_argument(text: str) -> str:
    try:
        return normalize_fingerprint(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} : {exc}") from None


def main(argv: list[str]) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A console that cannot show accents must not hide the verdict behind an exception.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    parser = argparse.ArgumentParser(
        prog="verify.py",
        description="Vérifie un paquet signé du CSU (dossier extrait ou archive ZIP).",
    )
    parser.add_argument(
        "package",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="dossier du paquet ou archive ZIP (par défaut : le dossier de ce script)",
    )
    parser.add_argument(
        "--fingerprint",
        action="append",
        type=_fingerprint_argument,
        metavar="EMPREINTE",
        help="empreinte SHA-256 attendue de la clé du CSU (procès-verbal de remise, page "
        "d'information publique) ; peut être répétée pour une ancienne clé",
    )
    parser.add_argument(
        "--kind",
        choices=sorted(KINDS),
        default=EXPECTED_KIND,
        help="nature attendue du paquet"
        + (f" (par défaut : {EXPECTED_KIND})" if EXPECTED_KIND else ""),
    )
    parser.add_argument(
        "--document",
        type=Path,
        metavar="FICHIER",
        help="vérifie un document signé à part (procès-verbal de remise) au lieu d'un paquet ; "
        "signature dans FICHIER.sig",
    )
    options = parser.parse_args(argv[1:])
    if options.document is not None:
        result = check_document(options.document, fingerprints=options.fingerprint)
        for line in result.failures:
            print(line)
        if result.failures:
            print("ÉCHEC : ce document n'est pas celui que le CSU a signé.")
            return EXIT_FAILED
        print("OK" if result.pinned else "CLÉ NON VÉRIFIÉE")
        print(f"Clé de signature : {result.fingerprint}")
        return EXIT_OK if result.pinned else EXIT_UNPINNED
    if not options.package.exists():
        print(f"ÉCHEC paquet : {options.package} n'existe pas")
        return EXIT_FAILED
    result = check(options.package, fingerprints=options.fingerprint, kind=options.kind)
    for line in result.failures:
        print(line)
    if result.failures:
        if result.fingerprint:
            print(f"Clé de signature du paquet : {result.fingerprint}")
        print(f"ÉCHEC : {len(result.failures)} problème(s) ; ce paquet ne doit pas être reçu.")
        return EXIT_FAILED
    nature = KINDS.get(result.kind or "", "?")
    if result.pinned:
        print("OK")
        print(f"Nature : {nature}")
        print(f"Clé de signature : {result.fingerprint} (empreinte attendue, vérifiée)")
        return EXIT_OK
    print("CLÉ NON VÉRIFIÉE")
    print(f"Nature : {nature}")
    print(f"Clé de signature : {result.fingerprint}")
    print(
        "Les fichiers correspondent au manifeste et la signature est valide, mais la clé qui "
        "l'a produite n'a pas été comparée à celle du CSU : quiconque modifie un paquet peut "
        "le signer à nouveau avec sa propre clé. Relancez avec --fingerprint suivi de "
        "l'empreinte imprimée sur le procès-verbal de remise ou publiée par le CSU (pas celle "
        "inscrite dans le paquet)."
    )
    return EXIT_UNPINNED


if __name__ == "__main__":
    sys.exit(main(sys.argv))
