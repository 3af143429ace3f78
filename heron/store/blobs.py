"""Content-addressed blob store: raw messages kept by the sha256 of their bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from heron.errors import NotFoundError


class BlobStore:
    """Files under ``root/ab/cd/<sha256>``; writing the same bytes twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; NotFoundError when there are none."""
        path = self._path(digest)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no blob {digest} under {self.root}") from None

    def delete(self, digest: str) -> bool:
        """Delete the bytes under ``digest``; False when there were none."""
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    def has(self, digest: str) -> bool:
        return self._path(digest).exists()

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise NotFoundError(f"not a sha256 digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest
