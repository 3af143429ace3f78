"""PDF files: active content, embedded files, links, and images for QR codes.

Two looks at each file. The raw bytes are scanned for the names of active content
(``/JavaScript``, ``/OpenAction``, ``/Launch`` ...) after undoing ``#xx`` escapes, the
way pdfid does, so that a file pypdf cannot parse is still judged. Then pypdf reads the
document: link annotations and their actions, the text of the first pages (for links
written as text), and page images, which go to the QR reader.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from heron.mail.files import FileScan, Found, images

log = logging.getLogger(__name__)

ACTIVE_NAMES = {
    b"/JavaScript": ("pdf-javascript", "JavaScript"),
    b"/JS": ("pdf-javascript", "JavaScript"),
    b"/OpenAction": ("pdf-open-action", "an action that runs on opening"),
    b"/AA": ("pdf-open-action", "additional actions that run on events"),
    b"/Launch": ("pdf-launch", "a Launch action that starts a program"),
    b"/EmbeddedFile": ("pdf-embedded-file", "an embedded file"),
    b"/SubmitForm": ("pdf-submit-form", "a form that submits its fields"),
    b"/RichMedia": ("pdf-javascript", "rich media (Flash)"),
    b"/XFA": ("pdf-javascript", "an XFA form, which can script"),
}
_NAME = re.compile(rb"/[A-Za-z0-9#]{2,40}")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def read(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """Flags, links and QR codes of one PDF."""
    _scan_names(data, found)
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        found.flag("encrypted", "the PDF needs a password to open")
        return
    pages = reader.pages
    if len(pages) > scan.limits.max_pdf_pages:
        scan.warnings.add(
            "pdf-page-limit",
            where,
            f"{len(pages)} pages; only the first {scan.limits.max_pdf_pages} read",
        )
    for number, page in enumerate(pages):
        if number >= scan.limits.max_pdf_pages or scan.budget.expired():
            break
        found.links += _annotations(page, found, scan, where)
        found.links += scan.links(_text(page, scan, where), where)
        for image in _page_images(page, scan, where):
            found.links += images.decode(image, found, scan, where)


def _scan_names(data: bytes, found: Found) -> None:
    for match in _NAME.finditer(data):
        name = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(0))
        hit = ACTIVE_NAMES.get(name)
        if hit is not None:
            code, what = hit
            found.flag(code, f"the PDF holds {what}")
            if match.group(0) != name:
                found.flag(
                    code, f"the PDF hides the name {name.decode()} with # escapes"
                )


def _annotations(page: Any, found: Found, scan: FileScan, where: str) -> int:
    added = 0
    annotations = page.get("/Annots") or []
    for reference in list(annotations)[:2000]:
        annotation = reference.get_object()
        action = annotation.get("/A")
        if action is None:
            continue
        action = action.get_object()
        kind = str(action.get("/S", ""))
        if kind == "/URI" and action.get("/URI"):
            added += scan.links(_string(action["/URI"]), where)
        elif kind == "/Launch":
            found.flag("pdf-launch", "a link that starts a program")
        elif kind == "/JavaScript":
            found.flag("pdf-javascript", "a link that runs JavaScript")
        elif kind == "/SubmitForm":
            target = action.get("/F")
            if target is not None:
                added += scan.links(_string(target), where)
    return added


def _string(value: Any) -> str:
    value = value.get_object() if hasattr(value, "get_object") else value
    if isinstance(value, dict):
        value = value.get("/F", "")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _text(page: Any, scan: FileScan, where: str) -> str:
    try:
        return str(page.extract_text())[: scan.limits.max_body_chars]
    except Exception as error:
        scan.warnings.add(
            "pdf-text-unreadable", where, f"{type(error).__name__}: {error}"
        )
        return ""


def _page_images(page: Any, scan: FileScan, where: str) -> list[bytes]:
    """The page's images small enough to decode, up to the message's image budget.

    Sizes are checked on the image dictionaries before anything is decoded, so a
    declared 100 000 x 100 000 image is skipped instead of filling memory."""
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        xobjects = resources.get("/XObject")
        xobjects = xobjects.get_object() if xobjects is not None else {}
        names = []
        for name, reference in xobjects.items():
            xobject = reference.get_object()
            if xobject.get("/Subtype") != "/Image":
                continue
            pixels = int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
            if pixels > scan.limits.max_image_pixels:
                scan.warnings.add(
                    "image-too-large",
                    where,
                    f"image {name} of {pixels} pixels not read",
                )
                continue
            names.append(name)
        room = max(scan.limits.max_images - scan.images, 0)
        return [page.images[name].data for name in names[:room]]
    except Exception as error:
        scan.warnings.add(
            "pdf-image-unreadable", where, f"{type(error).__name__}: {error}"
        )
        return []
