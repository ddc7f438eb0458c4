"""The scanned requisition: checked by content and size, encrypted at rest under its own key."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from recordings import crypto, keys

#: Content type → (leading bytes that identify it, extensions accepted for it).
KINDS: dict[str, tuple[tuple[bytes, ...], frozenset[str]]] = {
    "application/pdf": ((b"%PDF-",), frozenset({".pdf"})),
    "image/jpeg": ((b"\xff\xd8\xff",), frozenset({".jpg", ".jpeg"})),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), frozenset({".png"})),
    "image/tiff": ((b"II*\x00", b"MM\x00*"), frozenset({".tif", ".tiff"})),
}


@dataclass(frozen=True)
class StoredAttachment:
    name: str
    content_type: str
    size: int
    sha256: str
    path: str
    key_id: str
    wrapped_key: bytes


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, among those accepted; None otherwise."""
    for content_type, (signatures, _extensions) in KINDS.items():
        if data.startswith(signatures):
            return content_type
    return None


def _image_is_whole(data: bytes) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


def check(name: str, data: bytes) -> str:
    """The content type of an acceptable scan, or ValidationError saying precisely why not."""
    limit = settings.EVIDENCE_ATTACHMENT_MAX_BYTES
    if not data:
        raise ValidationError(_("Le fichier de la réquisition est vide."), code="empty")
    if len(data) > limit:
        raise ValidationError(
            _(
                "Le fichier de la réquisition pèse %(size)s Mo : la limite est de %(limit)s Mo. "
                "Numérisez-la en plus basse résolution."
            )
            % {"size": f"{len(data) / 2**20:.1f}", "limit": limit // 2**20},
            code="too_large",
        )
    content_type = sniff(data)
    extension = PurePath(name).suffix.lower()
    if content_type is None:
        raise ValidationError(
            _(
                "Le fichier « %(name)s » n'est ni un PDF ni une image (JPEG, PNG, TIFF) d'après "
                "son contenu : joignez la réquisition numérisée."
            )
            % {"name": name},
            code="type",
        )
    if extension not in KINDS[content_type][1]:
        raise ValidationError(
            _(
                "Le nom du fichier « %(name)s » ne correspond pas à son contenu (%(type)s) : "
                "renommez-le avec la bonne extension."
            )
            % {"name": name, "type": content_type},
            code="extension",
        )
    if content_type == "application/pdf" and b"%%EOF" not in data[-2048:]:
        raise ValidationError(
            _("Le PDF « %(name)s » est tronqué (fin de fichier absente).") % {"name": name},
            code="truncated",
        )
    if content_type != "application/pdf" and not _image_is_whole(data):
        raise ValidationError(
            _("L'image « %(name)s » est illisible ou tronquée.") % {"name": name},
            code="truncated",
        )
    return content_type


def plain_name(name: str) -> str:
    """The last component of an uploaded name, printable characters only (never a path)."""
    last = PurePath(name.replace("\\", "/")).name
    cleaned = "".join(char for char in last if char.isprintable()).strip()
    return cleaned.lstrip(".")[:200] or "requisition"


def store(name: str, data: bytes, content_type: str) -> StoredAttachment:
    """Encrypt under a fresh key (wrapped by the master key) and write once; never in clear."""
    master = keys.master_keys()[0]
    object_id = uuid.uuid4().hex
    key_id = f"requisition-attachment/{object_id}"
    data_key = crypto.new_data_key()
    path = f"evidence/attachments/{object_id}.csuseg"
    saved = default_storage.save(path, ContentFile(crypto.encrypt_segment(data, data_key, key_id)))
    if saved != path:
        default_storage.delete(saved)
        raise OSError(f"storage renamed {path} to {saved}")
    return StoredAttachment(
        name=plain_name(name),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
        key_id=key_id,
        wrapped_key=master.wrap(key_id, data_key),
    )


def read(path: str, key_id: str, wrapped_key: bytes | memoryview) -> bytes:
    data_key = crypto.unwrap_data_key(key_id, bytes(wrapped_key), keys.master_keys())
    with default_storage.open(path, "rb") as handle:
        return crypto.decrypt_segment(handle.read(), data_key)


def delete(path: str) -> None:
    default_storage.delete(path)
