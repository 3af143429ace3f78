"""Office documents: macros, DDE, remote templates, embedded objects and links.

OOXML files (docx, xlsx, pptx and their macro-enabled kinds) are zip packages: their
relationship parts name hyperlinks and external targets (an ``attachedTemplate`` or
``oleObject`` pointing outside is remote template injection), their XML holds DDE
fields, and a ``vbaProject.bin`` part holds VBA. Legacy OLE files (doc, xls, ppt) and
the VBA inside either kind are read with oletools: olevba finds VBA and Excel 4 (XLM)
macros and their auto-run and suspicious keywords, MacroRaptor judges them. An OLE file
holding an ``EncryptionInfo`` stream is an encrypted document, which no scanner can
look into. RTF files are searched for embedded OLE objects with rtfobj.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from heron.mail.files import FileScan, Found
from heron.mail.text import decode_bytes

log = logging.getLogger(__name__)

# Parts read for links and fields; each is read up to max_body_chars.
_XML_PART = re.compile(r"^(?:word|xl|ppt)/.*\.xml$")
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>", re.IGNORECASE)
# An attribute's name and the opening quote of its value; the value is found with a
# plain search for the closing quote, so a long run of letters costs a linear scan.
_ATTRIBUTE = re.compile(rb'(?<!\w)(\w{1,64})\s{0,10}=\s{0,10}"')
_DDE = re.compile(rb"\bDDE(?:AUTO)?\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
# Relationship types whose external target is fetched when the document opens.
_FETCHED = ("attachedTemplate", "oleObject", "frame", "subDocument", "externalLinkPath")


def is_ooxml(data: bytes) -> bool:
    """True for a zip package that declares its content types, as OOXML does."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return "[Content_Types].xml" in package.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False


def read_ooxml(
    data: bytes, found: Found, scan: FileScan, where: str, depth: int
) -> None:
    """Relationships, fields, embedded objects, macros and links of an OOXML file."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        infos = package.infolist()[: scan.limits.max_archive_members]
        for info in infos:
            name = info.filename
            if name.lower().endswith("vbaproject.bin"):
                found.flag("vba-macro", f"the document holds VBA ({name})")
            elif "/embeddings/" in name.lower():
                found.flag(
                    "ole-object", f"an embedded object ({name.rsplit('/', 1)[-1]})"
                )
            if name.endswith(".rels"):
                _relationships(_part(package, info, scan, where), found, scan, where)
            elif _XML_PART.match(name):
                part = _part(package, info, scan, where)
                if _DDE.search(part) and (b"instrText" in part or b"fldSimple" in part):
                    found.flag("dde", f"a DDE field in {name}")
                if b"ddeLink" in part:
                    found.flag("dde", f"a DDE link in {name}")
                found.links += scan.links(_visible(part), where)
    if any(f.code == "vba-macro" for f in found.flags):
        _macros(data, found, where, scan)


def _part(
    package: zipfile.ZipFile, info: zipfile.ZipInfo, scan: FileScan, where: str
) -> bytes:
    limit = scan.limits.max_body_chars
    with package.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        scan.warnings.add(
            "body-limit", where, f"{info.filename} read only to {limit} bytes"
        )
    return data[:limit]


def _attributes(element: bytes) -> dict[str, bytes]:
    """The name="value" attributes of one XML element, names lower-cased."""
    found: dict[str, bytes] = {}
    position = 0
    while (match := _ATTRIBUTE.search(element, position)) is not None:
        end = element.find(b'"', match.end())
        if end < 0:
            break
        found.setdefault(match.group(1).decode().lower(), element[match.end() : end])
        position = end + 1
    return found


def _relationships(part: bytes, found: Found, scan: FileScan, where: str) -> None:
    for element in _RELATIONSHIP.findall(part):
        attributes = _attributes(element)
        if attributes.get("targetmode", b"").lower() != b"external":
            continue
        target = attributes.get("target", b"").decode("utf-8", "replace")
        kind = attributes.get("type", b"").decode("utf-8", "replace").rsplit("/", 1)[-1]
        if kind in _FETCHED:
            found.flag("remote-template", f"a {kind} fetched from {target[:200]}")
        found.links += scan.links(target, where)


def _visible(part: bytes) -> str:
    text, _ = decode_bytes(part, "utf-8")
    return _TAG.sub(" ", text)


def read_ole(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """Encryption and macros of a legacy Office (OLE) file."""
    import olefile

    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        streams = {"/".join(path).lower() for path in ole.listdir()}
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        found.kind = "office-encrypted"
        found.flag(
            "encrypted", "an encrypted Office document, which no scanner can read"
        )
        return
    if any(
        s.startswith(("macros/", "_vba_project_cur/")) or s.endswith("/vba/dir")
        for s in streams
    ):
        found.flag("vba-macro", "the document holds VBA")
    if any(
        s.endswith(("objectpool", "\x01ole10native")) or "objectpool/" in s
        for s in streams
    ):
        found.flag("ole-object", "an embedded OLE object")
    _macros(data, found, where, scan)


def _macros(data: bytes, found: Found, where: str, scan: FileScan) -> None:
    """VBA and XLM macros through olevba, judged by MacroRaptor."""
    from oletools import olevba
    from oletools.mraptor import MacroRaptor

    logging.getLogger("olevba").setLevel(logging.CRITICAL)
    parser = olevba.VBA_Parser(where, data=data)
    try:
        if not parser.detect_vba_macros():
            return
        code = []
        for _, _, _, source in parser.extract_all_macros():
            if scan.budget.expired():
                break
            code.append(source if isinstance(source, str) else "")
        if getattr(parser, "contains_xlm_macros", False):
            found.flag("xlm-macro", "Excel 4 (XLM) macros")
        else:
            found.flag("vba-macro", "VBA macros")
        for kind, keyword, _ in parser.analyze_macros():
            if kind == "AutoExec":
                found.flag("macro-autoexec", f"runs by itself on {keyword}")
            elif kind == "Suspicious":
                found.flag("macro-suspicious", f"uses {keyword}")
        raptor = MacroRaptor("\n".join(code))
        raptor.scan()
        if raptor.suspicious:
            found.flag(
                "macro-suspicious",
                "MacroRaptor: runs on opening and writes or executes",
            )
    finally:
        parser.close()


def read_rtf(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """Embedded objects of an RTF file, and its links."""
    from oletools import rtfobj

    logging.getLogger("rtfobj").setLevel(logging.CRITICAL)
    parser = rtfobj.RtfObjParser(data[: scan.limits.max_body_chars])
    parser.parse()
    for rtf_object in parser.objects[:100]:
        name = getattr(rtf_object, "class_name", b"") or b""
        label = (
            name.decode("latin-1", "replace").strip("\x00")
            if isinstance(name, bytes)
            else str(name)
        )
        found.flag("rtf-object", f"an embedded object {label or '(unnamed)'}")
    text, _ = decode_bytes(data[: scan.limits.max_body_chars], "latin-1")
    found.links += scan.links(text, where)
