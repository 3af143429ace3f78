import hashlib
from pathlib import Path

import pytest

from heron.errors import NotFoundError
from heron.store.blobs import BlobStore


def test_blobs_are_stored_by_content_and_written_once(tmp_path: Path):
    store = BlobStore(tmp_path)
    digest = store.put(b"raw message")
    assert digest == hashlib.sha256(b"raw message").hexdigest()
    assert store.put(b"raw message") == digest
    assert store.get(digest) == b"raw message"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_a_name_that_is_not_a_digest_is_refused(tmp_path: Path):
    with pytest.raises(NotFoundError):
        BlobStore(tmp_path).get("../../etc/passwd")
