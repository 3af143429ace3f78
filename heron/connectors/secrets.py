"""Reading a connector's credential from the environment or from a private file.

Credentials are never stored in the database and never logged: they live in the
connector object only, and its errors name where a credential came from, not what
it is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from heron.errors import ConfigError

MAX_SECRET = 64 * 1024


def read_secret(owner: str, env: str, path: Path | None) -> str:
    """The secret in environment variable ``env``, else in the file at ``path``.

    A file must belong to the user heron runs as and must not be readable or
    writable by anyone else (mode 600 or 400)."""
    if env:
        value = os.environ.get(env)
        if value is None or not value.strip():
            raise ConfigError(f"{owner}: the environment variable {env} is not set")
        return value.strip()
    if path is None:
        raise ConfigError(
            f"{owner}: set password_env or password_file for its credential"
        )
    if path.is_symlink():
        raise ConfigError(
            f"{owner}: secret file {path} is a symbolic link; name the file"
        )
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{owner}: secret file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{owner}: secret file {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"{owner}: secret file {path} belongs to another user; it must be heron's own"
        )
    if info.st_mode & 0o077:
        raise ConfigError(
            f"{owner}: secret file {path} can be read by others "
            f"(mode {stat.S_IMODE(info.st_mode):o}); chmod 600 it"
        )
    if info.st_size > MAX_SECRET:
        raise ConfigError(
            f"{owner}: secret file {path} is larger than {MAX_SECRET} bytes"
        )
    try:
        value = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{owner}: secret file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{owner}: secret file {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{owner}: secret file {path} is empty")
    return value
