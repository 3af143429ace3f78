"""What files hold: macros, active PDF content, encrypted or bomb-like archives.

Reads the ``FileContents`` the mail layer found in each attachment and in each file
inside an archive, and turns its flags into findings on that file. Severities follow
how the flag is used: content that runs by itself (auto-run macros, XLM, DDE, remote
templates, PDF Launch) or that exists only to carry malware past scanners (an
encrypted archive whose password the message states, disk images and shortcuts) is
high; macros and scripts that need a click are medium; what could not be opened says
so ("could not check"), apart from clean.
"""

from __future__ import annotations

from heron.analyzers.attachments import EXECUTABLE, MACRO_OFFICE
from heron.analyzers.base import AnalyzerContext, AnalyzerResult, analyzer
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import Severity
from heron.mail.facts import Attachment, FileContents

NAME = "file-contents"

SEVERITY = {
    "xlm-macro": Severity.HIGH,
    "macro-autoexec": Severity.HIGH,
    "dde": Severity.HIGH,
    "remote-template": Severity.HIGH,
    "pdf-launch": Severity.HIGH,
    "risky-carrier": Severity.HIGH,
    "vba-macro": Severity.MEDIUM,
    "macro-suspicious": Severity.MEDIUM,
    "ole-object": Severity.MEDIUM,
    "rtf-object": Severity.MEDIUM,
    "pdf-javascript": Severity.MEDIUM,
    "pdf-embedded-file": Severity.MEDIUM,
    "pdf-submit-form": Severity.MEDIUM,
    "encrypted": Severity.MEDIUM,
    "path-traversal": Severity.MEDIUM,
    "pdf-open-action": Severity.LOW,
    "archive-limit": Severity.LOW,
    "qr-code": Severity.LOW,
    "password-found": Severity.INFORMATIONAL,
    "unopened-member": Severity.INFORMATIONAL,
    "could-not-check": Severity.INFORMATIONAL,
    "unreadable": Severity.INFORMATIONAL,
}
# RTF object classes used by exploits (the Equation Editor, packaged files, OLE links).
EXPLOITED_CLASSES = ("equation", "package", "ole2link", "htmlfile", "script")


@analyzer(
    NAME,
    accepts=(EntityType.FILE,),
    description="Checks what attachments hold: macros, DDE, remote templates, PDF "
    "actions, encrypted archives and risky carriers.",
)
def check(context: AnalyzerContext) -> AnalyzerResult:
    files = [a for a in context.message.every_attachment() if a.contents is not None]
    readable = [a for a in files if a.contents and a.contents.kind]
    if not readable:
        return AnalyzerResult.not_applicable("no attachment of a kind heron opens")
    findings = [f for attachment in readable for f in examine(attachment)]
    bad = [f for f in findings if f.severity.rank > 0]
    return AnalyzerResult.from_findings(
        findings,
        "; ".join(f.summary for f in bad),
        clean_summary=f"{len(readable)} file(s) opened, nothing active inside",
    )


def examine(attachment: Attachment) -> list[Finding]:
    """Findings about what one file holds; an informational one when nothing."""
    contents = attachment.contents
    assert contents is not None
    entity = EntityRef(EntityType.FILE, attachment.sha256)
    name = attachment.filename or "(no name)"
    details = {"filename": name, "kind": contents.kind, "tlsh": contents.tlsh}
    findings: list[Finding] = []
    codes = {flag.code for flag in contents.flags}
    for code in sorted(codes):
        severity = _severity(code, contents)
        text = "; ".join(f.detail for f in contents.flags if f.code == code)
        findings.append(
            Finding(NAME, entity, code, severity, f"{name}: {text}"[:600], details)
        )
    risky = _risky_unopened(contents)
    if risky:
        findings.append(
            Finding(
                NAME,
                entity,
                "risky-member",
                Severity.HIGH,
                f"{name} holds {', '.join(risky[:5])}, which it keeps locked",
                details,
            )
        )
    if not findings:
        findings.append(
            Finding(
                NAME,
                entity,
                "contents-ok",
                Severity.INFORMATIONAL,
                f"{name}: {contents.kind} opened, nothing active inside",
                details,
            )
        )
    return findings


def _severity(code: str, contents: FileContents) -> Severity:
    codes = {flag.code for flag in contents.flags}
    if code == "encrypted" and "password-found" in codes:
        # A locked archive whose key is in the mail: made to pass scanners, not people.
        return Severity.HIGH
    if code == "rtf-object" and any(
        cls in flag.detail.lower()
        for flag in contents.flags
        if flag.code == "rtf-object"
        for cls in EXPLOITED_CLASSES
    ):
        return Severity.HIGH
    if code == "pdf-javascript" and "pdf-open-action" in codes:
        return Severity.HIGH
    return SEVERITY.get(code, Severity.LOW)


def _risky_unopened(contents: FileContents) -> list[str]:
    names = [f.detail for f in contents.flags if f.code == "unopened-member"]
    return [
        name
        for name in names
        if name.rsplit(".", 1)[-1].lower() in EXECUTABLE | MACRO_OFFICE
    ]
