"""Where media live: a local folder made durable on ``save``, or an S3-compatible bucket."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

from csu.lib.env import env_str


class DurableFileSystemStorage(FileSystemStorage):
    """Local storage that is durable when ``save`` returns: file and folder are fsynced."""

    def _save(self, name, content):
        name = super()._save(name, content)
        path = self.path(name)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return name


def s3_options() -> dict[str, object]:
    """django-storages' S3 options from the environment; a missing value stops the start.

    Segments are encrypted before they leave the recorder, so the bucket needs no server-side
    encryption to keep images private; it must stay private all the same (no public ACL).
    """
    missing = [
        name
        for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY")
        if not env_str(name)
    ]
    if missing:
        raise ImproperlyConfigured(
            "CSU_STORAGE=s3 needs " + ", ".join(missing) + " (secrets may be given as NAME_FILE)"
        )
    endpoint = env_str("AWS_S3_ENDPOINT_URL") or None
    addressing = env_str("AWS_S3_ADDRESSING_STYLE") or ("path" if endpoint else None)
    if addressing not in (None, "path", "virtual"):
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE must be path or virtual, not {addressing!r}"
        )
    return {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
        "access_key": env_str("AWS_S3_ACCESS_KEY_ID"),
        "secret_key": env_str("AWS_S3_SECRET_ACCESS_KEY"),
        "endpoint_url": endpoint,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "addressing_style": addressing,
        "location": env_str("AWS_LOCATION") or "",
        # Never replace a stored object: a second save under the same name gets a new name,
        # which recordings.store refuses, exactly as on the filesystem.
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
        "signature_version": "s3v4",
    }
