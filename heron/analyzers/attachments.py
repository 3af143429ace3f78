"""Attachments: true type against the name, risky types, and double extensions."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.scoring import COULD_NOT_CHECK
from heron.domain.verdicts import Severity
from heron.mail.facts import Attachment
from heron.mail.urls import parse_html

NAME = "attachments"

EXECUTABLE = {
    "exe",
    "scr",
    "com",
    "pif",
    "bat",
    "cmd",
    "cpl",
    "msi",
    "msp",
    "dll",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "hta",
    "ps1",
    "lnk",
    "jar",
    "reg",
    "sys",
    "chm",
    "appx",
    "msix",
    "application",
    "gadget",
    "inf",
    "scf",
    "url",
    "xll",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "one",
    "library-ms",
    "settingcontent-ms",
    "mobileconfig",
    "apk",
    "dmg",
}
MACRO_OFFICE = {
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "xlam",
    "pptm",
    "potm",
    "ppam",
    "ppsm",
    "sldm",
}
ACTIVE_CONTENT = {"html", "htm", "shtml", "xhtml", "svg", "mht", "mhtml"}
ARCHIVE = {
    "zip",
    "rar",
    "7z",
    "gz",
    "tgz",
    "bz2",
    "xz",
    "cab",
    "ace",
    "arj",
    "z",
    "lzh",
    "tar",
}
DOCUMENT_TYPES = {
    "pdf": ("application/pdf",),
    "doc": ("application/msword", "application/x-ole-storage", "application/CDFV2"),
    "xls": (
        "application/vnd.ms-excel",
        "application/x-ole-storage",
        "application/CDFV2",
    ),
    "docx": (
        "application/vnd.openxmlformats",
        "application/zip",
        "application/encrypted",
    ),
    "xlsx": (
        "application/vnd.openxmlformats",
        "application/zip",
        "application/encrypted",
    ),
    "png": ("image/png",),
    "jpg": ("image/jpeg",),
    "jpeg": ("image/jpeg",),
    "gif": ("image/gif",),
    "zip": ("application/zip",),
}
EXECUTABLE_TYPES = (
    "application/x-dosexec",
    "application/x-msdownload",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/vnd.microsoft.portable-executable",
)


@analyzer(
    NAME,
    accepts=(EntityType.FILE,),
    description="Checks each attachment's true type, extension and name tricks.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    files = [a for a in context.message.every_attachment() if a.message is None]
    if not files:
        return AnalyzerResult.not_applicable("no file attachments")
    blind = any(w.code == "libmagic-missing" for w in context.message.all_warnings())
    findings = [f for attachment in files for f in examine(attachment, blind)]
    bad = [f for f in findings if f.severity.rank > 0]
    summary = "; ".join(f.summary for f in bad)
    return AnalyzerResult.from_findings(
        findings, summary, clean_summary=f"{len(files)} attachment(s), no risky type"
    )


def examine(attachment: Attachment, blind: bool = False) -> list[Finding]:
    """Findings about one attachment; an informational one when nothing is wrong.

    ``blind`` says libmagic was missing, so the true type is unknown: a file whose
    name shows nothing risky then could not be checked, which is not clean."""
    entity = EntityRef(EntityType.FILE, attachment.sha256)
    name = attachment.filename or "(no name)"
    extensions = _extensions(attachment.filename)
    last = extensions[-1] if extensions else ""
    details = {
        "filename": name,
        "declared_type": attachment.declared_type,
        "true_type": attachment.true_type,
        "size": attachment.size,
    }
    findings: list[Finding] = []

    def add(code: str, severity: Severity, summary: str) -> None:
        findings.append(Finding(NAME, entity, code, severity, summary, details))

    if any(
        ch in name
        for ch in ("\u202e", "\u202d", "\u200f", "\u2066", "\u2067", "\u2068")
    ):
        add(
            "bidi-name",
            Severity.HIGH,
            f"{name!r} hides its real extension with bidi control characters",
        )
    if attachment.true_type in EXECUTABLE_TYPES:
        add(
            "executable-content",
            Severity.HIGH,
            f"{name} is an executable ({attachment.true_type})",
        )
    if last in EXECUTABLE:
        add("risky-extension", Severity.HIGH, f"{name} has the risky extension .{last}")
    elif (
        len(extensions) >= 2
        and extensions[-2] in DOCUMENT_TYPES
        and last in ARCHIVE | ACTIVE_CONTENT
    ):
        add(
            "double-extension",
            Severity.MEDIUM,
            f"{name} poses as .{extensions[-2]} but is .{last}",
        )
    if last in MACRO_OFFICE:
        add(
            "macro-document",
            Severity.MEDIUM,
            f"{name} is a macro-enabled Office document",
        )
    if last in ACTIVE_CONTENT and not attachment.inline:
        add(
            "html-attachment",
            Severity.MEDIUM,
            f"{name} is an HTML file that opens in a browser",
        )
    if last in ACTIVE_CONTENT or attachment.true_type in ("text/html", "image/svg+xml"):
        form = credential_form(attachment.payload)
        if form:
            add("credential-form", Severity.HIGH, f"{name} holds a login form: {form}")
        target = auto_redirect(attachment.payload)
        if target:
            add(
                "html-redirect",
                Severity.MEDIUM,
                f"{name} sends the browser elsewhere on opening: {target}",
            )
    if _type_mismatch(last, attachment.true_type):
        add(
            "type-mismatch",
            Severity.MEDIUM,
            f"{name} claims .{last} but its bytes are {attachment.true_type}",
        )
    if not findings and blind:
        add(
            COULD_NOT_CHECK,
            Severity.INFORMATIONAL,
            f"{name}: true type unknown (libmagic is not installed); could not check",
        )
    if not findings:
        add(
            "attachment-ok",
            Severity.INFORMATIONAL,
            f"{name}: {attachment.true_type}, {attachment.size} bytes, nothing risky",
        )
    return findings


def _extensions(filename: str) -> list[str]:
    suffixes = PurePosixPath(filename.strip().rstrip(". ").lower()).suffixes
    return [s.lstrip(".") for s in suffixes if 0 < len(s) <= 20]


def _type_mismatch(extension: str, true_type: str) -> bool:
    """True when the bytes are of another kind than the name says, beyond harmless
    differences such as one image format for another."""
    expected = DOCUMENT_TYPES.get(extension)
    if (
        not expected
        or not true_type
        or true_type in ("application/octet-stream", "inode/x-empty")
    ):
        return False
    if true_type.startswith(expected):
        return False
    return not (true_type.startswith("image/") and expected[0].startswith("image/"))


MAX_HTML_BYTES = 5 * 1024 * 1024
_PASSWORD_INPUT = re.compile(
    r"<input\b[^>]{0,500}type\s*=\s*[\"']?password", re.IGNORECASE
)


_REDIRECTS = (
    re.compile(
        r"<meta[^>]{0,300}http-equiv\s*=\s*[\"']?refresh[^>]{0,300}url\s*=\s*"
        r"[\"']?([^\"'>\s]{1,300})",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:window|document|top|self)\.location(?:\.href)?\s*=\s*[\"'`]?([^\"'`;\s]{1,300})",
        re.IGNORECASE,
    ),
    re.compile(
        r"location\.(?:replace|assign)\s*\(\s*[\"'`]?([^\"'`)\s]{1,300})", re.IGNORECASE
    ),
)


def auto_redirect(payload: bytes) -> str:
    """Where an HTML attachment sends the browser as soon as it opens, or ""."""
    html = payload[:MAX_HTML_BYTES].decode("utf-8", "replace")
    for pattern in _REDIRECTS:
        match = pattern.search(html)
        if match:
            return match.group(1)[:200]
    return ""


def credential_form(payload: bytes) -> str:
    """Describe a password form in an HTML attachment, or return "" when there is none.

    Reads at most ``MAX_HTML_BYTES``; a page is not rendered and nothing is fetched.
    """
    if not payload:
        return ""
    html = payload[:MAX_HTML_BYTES].decode("utf-8", "replace")
    if "password" not in html.lower():
        return ""
    tree = parse_html(html)
    if tree is None:
        # Too large or deep to parse safely: judge the markup by pattern.
        return "a password field" if _PASSWORD_INPUT.search(html) else ""
    if tree.css_first('input[type="password" i]') is None:
        return ""
    form = tree.css_first("form[action]")
    action = (form.attributes.get("action") or "").strip() if form is not None else ""
    if action.lower().startswith(("http://", "https://", "//")):
        return f"a password field posting to {action[:200]}"
    return "a password field"
