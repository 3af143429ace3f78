"""Archives: zip (ZipCrypto and AES), 7z, rar, gzip and ISO 9660 disk images, opened
within a budget.

The files inside become attachments of their own and are read in turn, nested
archives included, down to ``Limits.max_archive_depth``. Every archive is bounded by
``max_archive_members`` members, by ``max_unpacked_bytes`` for the whole message and by
``max_compression_ratio`` per member: a member that would break one is not unpacked,
and the archive gets the flag ``archive-limit``. Nothing is written to disk except for
rar, which only Debian's ``unar`` can unpack: it runs on a temporary copy with a
timeout. An encrypted archive is tried with the passwords the message states (see
``passwords_in``); one that opens gets the flag ``password-found``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import TypeVar

from heron.mail.files import FileScan, Found

_Item = TypeVar("_Item")


def read_zip(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """The members of a zip file, opened with a stated password when encrypted."""
    import pyzipper

    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        encrypted = [i for i in infos if i.flag_bits & 0x1]
        password = b""
        if encrypted:
            found.flag(
                "encrypted", f"{len(encrypted)} of {len(infos)} member(s) encrypted"
            )
            password = _zip_password(archive, encrypted[0], scan) or b""
            if password:
                found.password = password.decode("utf-8", "replace")
                found.flag("password-found", "the password is written in the message")
        for info in _within_count(infos, found, scan, where):
            _check_name(info.filename, found)
            if info.flag_bits & 0x1 and not password:
                _unopened([info.filename], found)
                continue
            if not _room(
                info.file_size, info.compress_size, found, scan, where, info.filename
            ):
                continue
            with archive.open(info, pwd=password or None) as handle:
                member = handle.read(info.file_size + 1)
            _add(member, info.filename, found, scan, where, depth)


def _zip_password(archive: object, info: object, scan: FileScan) -> bytes | None:
    for candidate in scan.passwords[: scan.limits.max_passwords]:
        try:
            with archive.open(info, pwd=candidate.encode()) as handle:  # type: ignore[attr-defined]
                handle.read(1024)
            return candidate.encode()
        except (
            RuntimeError,
            ValueError,
            zlib.error,
            OSError,
            EOFError,
            NotImplementedError,
        ):
            continue
    return None


def read_7z(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """The members of a 7z file, with a stated password when it needs one."""
    import py7zr

    password = None
    with py7zr.SevenZipFile(io.BytesIO(data)) as probe:
        needs = probe.needs_password()
    if needs:
        found.flag("encrypted", "the 7z archive is encrypted")
        password = _7z_password(data, scan)
        if password is None:
            return
        found.password = password
        found.flag("password-found", "the password is written in the message")
    with py7zr.SevenZipFile(io.BytesIO(data), password=password) as archive:
        infos = _within_count(
            [i for i in archive.list() if not i.is_directory], found, scan, where
        )
        for info in infos:
            _check_name(info.filename, found)
        names = [info.filename for info in infos]
        # Solid 7z archives compress members together, so the ratio is the archive's.
        total = sum(int(info.uncompressed or 0) for info in infos)
        if not names or not _room(
            total, len(data), found, scan, where, "the 7z archive"
        ):
            _unopened(names, found)
            return
        wanted = names
        factory = py7zr.io.BytesIOFactory(scan.limits.max_unpacked_bytes)
        archive.extract(targets=wanted, factory=factory)
        for name in wanted:
            if name in factory.products:
                product = factory.products[name]
                product.seek(0)
                _add(product.read(), name, found, scan, where, depth)


def _7z_password(data: bytes, scan: FileScan) -> str | None:
    import py7zr

    for candidate in scan.passwords[: scan.limits.max_passwords]:
        try:
            with py7zr.SevenZipFile(io.BytesIO(data), password=candidate) as archive:
                if archive.testzip() is None:
                    return candidate
        except Exception:  # py7zr raises several kinds for a wrong password
            continue
    return None


def read_rar(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """The members of a rar file: listed by ``lsar``, unpacked by ``unar`` in a
    temporary folder once the listed sizes fit the budget."""
    lister, unpacker = shutil.which("lsar"), shutil.which("unar")
    if lister is None or unpacker is None:
        found.flag(
            "could-not-check", "rar archives need unar (Debian: unar), not installed"
        )
        scan.warnings.once(
            "unar-missing", where, "unar is not installed; rar not opened"
        )
        return
    seconds = min(30.0, max(1.0, scan.budget.deadline - time.monotonic()))
    with tempfile.TemporaryDirectory(prefix="heron-rar-") as scratch:
        source = Path(scratch) / "archive.rar"
        source.write_bytes(data)
        listing = _run([lister, "-j", str(source)], seconds)
        entries = _rar_entries(listing)
        if entries is None:
            raise ValueError("lsar could not list the rar archive")
        sizes = [size for _, size, _ in entries]
        names = [name for name, _, _ in entries]
        for name in names:
            _check_name(name, found)
        if any(locked for _, _, locked in entries):
            found.flag("encrypted", "the rar archive is encrypted")
        total = sum(sizes)
        if not _room(total, len(data), found, scan, where, "the rar archive"):
            _unopened(names, found)
            return
        out = Path(scratch) / "out"
        for password in ["", *scan.passwords[: scan.limits.max_passwords]]:
            command = [unpacker, "-q", "-D", "-nr", "-o", str(out)]
            command += ["-p", password] if password else []
            if _run([*command, str(source)], seconds) is not None:
                break
            shutil.rmtree(out, ignore_errors=True)
        else:
            _unopened(names, found)
            return
        if password:
            found.password = password
            found.flag("password-found", "the password is written in the message")
        files = sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink())
        for path in _within_count(files, found, scan, where):
            _add(
                path.read_bytes(),
                path.relative_to(out).as_posix(),
                found,
                scan,
                where,
                depth,
            )


def _rar_entries(listing: bytes | None) -> list[tuple[str, int, bool]] | None:
    import json

    if listing is None:
        return None
    try:
        contents = json.loads(listing).get("lsarContents", [])
        return [
            (
                str(entry.get("XADFileName", "")),
                int(entry.get("XADFileSize", 0) or 0),
                bool(entry.get("XADIsEncrypted", 0)),
            )
            for entry in contents
            if not entry.get("XADIsDirectory")
        ]
    except (ValueError, AttributeError, TypeError):
        return None


def _run(command: list[str], seconds: float) -> bytes | None:
    """The output of a command that succeeded within ``seconds``, else None."""
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=seconds,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    return done.stdout if done.returncode == 0 else None


def read_gzip(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    """The one file inside a gzip stream."""
    room = scan.limits.max_unpacked_bytes - scan.unpacked
    limit = min(room, len(data) * scan.limits.max_compression_ratio)
    inflater = zlib.decompressobj(wbits=31)
    member = inflater.decompress(data, limit + 1)
    if len(member) > limit:
        found.flag("archive-limit", "the gzip stream unpacks past the limits; not read")
        scan.warnings.add(
            "archive-limit", where, "gzip member over the size or ratio limit"
        )
        return
    scan.unpacked += len(member)
    name = PurePosixPath(where.rsplit("/", 1)[-1].removeprefix("attachment:")).stem
    _add(member, name or "member", found, scan, where, depth)


def read_iso(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """The files of an ISO 9660 image (pycdlib), by their Joliet or UDF names when
    the image has them. An image arriving by mail is itself a risky carrier: it
    slips its files past the mark that tells Windows they came from outside."""
    import pycdlib

    found.flag("risky-carrier", "iso file, a common carrier of malware")
    image = pycdlib.PyCdlib()
    image.open_fp(io.BytesIO(data))
    try:
        key = (
            "udf_path"
            if image.has_udf()
            else ("joliet_path" if image.has_joliet() else "iso_path")
        )
        paths: list[str] = []
        for folder, _, files in image.walk(**{key: "/"}):
            paths.extend(f"{folder.rstrip('/')}/{name}" for name in files)
            if len(paths) > scan.limits.max_archive_members or scan.budget.expired():
                break
        for path in _within_count(paths, found, scan, where):
            name = path.lstrip("/")
            if key == "iso_path":
                name = name.rsplit(";", 1)[0]  # ISO 9660 version suffix: ";1"
            _check_name(name, found)
            size = image.get_record(**{key: path}).get_data_length()
            if not _room(size, size, found, scan, where, name):
                continue
            out = io.BytesIO()
            image.get_file_from_iso_fp(out, **{key: path})
            if len(out.getvalue()) < size:
                found.flag(
                    "truncated", f"{name}: {len(out.getvalue())} of {size} bytes"
                )
                scan.warnings.add(
                    "iso-truncated",
                    where,
                    f"{name} claims {size} bytes, the image holds {len(out.getvalue())}",
                )
            _add(out.getvalue()[: size + 1], name, found, scan, where, depth)
    finally:
        image.close()


def _within_count(
    items: list[_Item], found: Found, scan: FileScan, where: str
) -> list[_Item]:
    limit = scan.limits.max_archive_members
    if len(items) > limit:
        found.flag(
            "archive-limit", f"{len(items)} members; only the first {limit} read"
        )
        scan.warnings.add("archive-limit", where, f"{len(items)} members; {limit} read")
    return items[:limit]


def _room(
    size: int, packed: int, found: Found, scan: FileScan, where: str, name: str
) -> bool:
    """Whether one member may be unpacked; counts it against the message's budget."""
    ratio = size / max(packed, 1)
    if ratio > scan.limits.max_compression_ratio and size > 1024 * 1024:
        problem = f"{name} would unpack {ratio:.0f} times its packed size"
    elif scan.unpacked + size > scan.limits.max_unpacked_bytes:
        problem = f"{name} would pass the {scan.limits.max_unpacked_bytes} byte limit"
    elif scan.budget.expired():
        problem = f"time limit reached before {name}"
    else:
        scan.unpacked += size
        return True
    found.flag("archive-limit", problem)
    scan.warnings.add("archive-limit", where, f"{problem}; not unpacked")
    return False


def _check_name(name: str, found: Found) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        found.flag("path-traversal", f"a member named {name[:200]!r} points outside")


def _unopened(names: list[str], found: Found) -> None:
    """Members known by name only (locked, or past a limit): their names still tell."""
    for name in names[:200]:
        found.flag("unopened-member", name[:300])


def _add(
    data: bytes,
    name: str,
    found: Found,
    scan: FileScan,
    where: str,
    depth: int,
) -> None:
    if depth + 1 > scan.limits.max_archive_depth:
        found.flag(
            "archive-limit",
            f"{name} nested deeper than {scan.limits.max_archive_depth}",
        )
        scan.warnings.add("archive-depth", where, f"{name} too deep; not read")
        return
    found.members.append(scan.member(data, name, where, depth))
