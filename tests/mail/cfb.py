"""A small Compound File (MS-CFB v3) writer for building Outlook test messages.

olefile only reads, so the Outlook tests build their files here: a tree of
storages (dicts) and streams (bytes or ``Stream``) becomes the bytes of a .msg.
``Stream`` can also declare a size other than its data or share the sector chain of
another stream, which is how hostile files amplify a small input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SECTOR = 512
MINI_SECTOR = 64
CUTOFF = 4096
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

Tree = dict[str, "bytes | Stream | Tree"]


@dataclass
class Stream:
    """A stream whose directory entry may lie: ``size`` overrides the declared size
    and ``same_as`` (a path like ``a/b``) points it at another stream's chain."""

    data: bytes = b""
    size: int | None = None
    same_as: str | None = None


@dataclass
class _Entry:
    name: str
    kind: int
    path: str
    data: bytes = b""
    declared: int | None = None
    same_as: str | None = None
    children: list[_Entry] = field(default_factory=list)
    start: int = ENDOFCHAIN
    size: int = 0
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM


def build(tree: Tree) -> bytes:
    """The bytes of a CFB file holding ``tree`` below its root storage."""
    root = _Entry("Root Entry", 5, "", children=_entries(tree, ""))
    ordered = _number(root)
    by_path = {e.path: e for e in ordered}
    streams = [e for e in ordered if e.kind == 2 and e.same_as is None]
    small = [e for e in streams if len(e.data) < CUTOFF]
    big = [e for e in streams if len(e.data) >= CUTOFF]

    ministream = b""
    minifat: list[int] = []
    for entry in small:
        entry.size = len(entry.data)
        if not entry.data:
            continue
        first = len(minifat)
        count = -(-len(entry.data) // MINI_SECTOR)
        minifat.extend(range(first + 1, first + count))
        minifat.append(ENDOFCHAIN)
        entry.start = first
        ministream += entry.data.ljust(count * MINI_SECTOR, b"\0")
    root.size = len(ministream)

    chunks: list[tuple[str, bytes]] = [("dir", b"\0" * (128 * len(ordered)))]
    if minifat:
        chunks.append(("minifat", struct.pack(f"<{len(minifat)}I", *minifat)))
    if ministream:
        chunks.append(("ministream", ministream))
    chunks.extend((e.path, e.data) for e in big)
    sizes = [-(-len(data) // SECTOR) for _, data in chunks]
    fat_sectors = -(-sum(sizes) // (SECTOR // 4 - 1))
    if fat_sectors > 109:
        raise ValueError("test file too large for a header-only DIFAT")

    fat = [FATSECT] * fat_sectors
    starts: dict[str, int] = {}
    for (name, _), count in zip(chunks, sizes, strict=True):
        starts[name] = len(fat)
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(ENDOFCHAIN)
    fat.extend([FREESECT] * (fat_sectors * (SECTOR // 4) - len(fat)))
    for entry in big:
        entry.start, entry.size = starts[entry.path], len(entry.data)
    root.start = starts.get("ministream", ENDOFCHAIN)
    for entry in ordered:
        if entry.same_as is not None:
            target = by_path[entry.same_as]
            entry.start, entry.size = target.start, target.size
        if entry.declared is not None:
            entry.size = entry.declared

    directory = b"".join(_direntry(e) for e in ordered)
    body = {"dir": directory}
    if minifat:
        body["minifat"] = struct.pack(f"<{len(minifat)}I", *minifat)
    header = _header(
        fat_sectors,
        starts["dir"],
        starts.get("minifat", ENDOFCHAIN),
        -(-len(minifat) * 4 // SECTOR),
    )
    out = [header, struct.pack(f"<{len(fat)}I", *fat)]
    for name, data in chunks:
        data = body.get(name, data)
        out.append(data.ljust(-(-len(data) // SECTOR) * SECTOR, b"\0"))
    return b"".join(out)


def _entries(tree: Tree, prefix: str) -> list[_Entry]:
    found = []
    for name, value in tree.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            found.append(_Entry(name, 1, path, children=_entries(value, f"{path}/")))
        elif isinstance(value, Stream):
            found.append(_Entry(name, 2, path, value.data, value.size, value.same_as))
        else:
            found.append(_Entry(name, 2, path, value))
    return found


def _number(root: _Entry) -> list[_Entry]:
    ordered, pending = [], [root]
    while pending:
        entry = pending.pop(0)
        entry.sid = len(ordered)
        ordered.append(entry)
        pending.extend(entry.children)
    for entry in ordered:
        kids = sorted(entry.children, key=lambda e: (len(e.name), e.name.upper()))
        entry.child = _balance(kids)
    return ordered


def _balance(kids: list[_Entry]) -> int:
    if not kids:
        return NOSTREAM
    middle = len(kids) // 2
    node = kids[middle]
    node.left = _balance(kids[:middle])
    node.right = _balance(kids[middle + 1 :])
    return node.sid


def _direntry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\0\0"
    return struct.pack(
        "<64sHBBIII16sIQQIII",
        name,
        len(name),
        entry.kind,
        1,
        entry.left,
        entry.right,
        entry.child,
        b"\0" * 16,
        0,
        0,
        0,
        entry.start,
        entry.size & 0xFFFFFFFF,
        0,
    )


def _header(
    fat_sectors: int, directory: int, minifat: int, minifat_sectors: int
) -> bytes:
    difat = [*range(fat_sectors), *[FREESECT] * (109 - fat_sectors)]
    return (
        MAGIC
        + b"\0" * 16
        + struct.pack("<HHHHH6s", 0x3E, 3, 0xFFFE, 9, 6, b"")
        + struct.pack(
            "<IIIIIIIII",
            0,
            fat_sectors,
            directory,
            0,
            CUTOFF,
            minifat,
            minifat_sectors,
            ENDOFCHAIN,
            0,
        )
        + struct.pack("<109I", *difat)
    )


def fat_offset(sector: int) -> int:
    """Where the FAT entry of ``sector`` sits in a file built here (one FAT run at
    the start of the file)."""
    return SECTOR + 4 * sector


def unicode_property(prop: int, text: str) -> tuple[str, bytes]:
    """The stream name and bytes of one unicode string property."""
    return f"__substg1.0_{prop:04X}001F", text.encode("utf-16-le")


def outlook_message(
    subject: str,
    body: str = "",
    files: list[tuple[str, bytes | Stream]] | None = None,
    messages: list[Tree] | None = None,
    *,
    header: int = 32,
) -> Tree:
    """The storage tree of an Outlook message with file and embedded attachments;
    ``header`` is 32 for a top-level message and 24 for an embedded one."""
    tree: Tree = dict(
        [
            ("__properties_version1.0", b"\0" * header),
            unicode_property(0x0037, subject),
            unicode_property(0x1000, body),
        ]
    )
    attachments: list[Tree] = [
        dict(
            [
                ("__properties_version1.0", b"\0" * 8),
                unicode_property(0x3707, name),
                ("__substg1.0_37010102", data),
            ]
        )
        for name, data in files or []
    ]
    for inner in messages or []:
        attachments.append(
            {"__properties_version1.0": b"\0" * 8, "__substg1.0_3701000D": inner}
        )
    for index, attachment in enumerate(attachments):
        tree[f"__attach_version1.0_#{index:08X}"] = attachment
    return tree
