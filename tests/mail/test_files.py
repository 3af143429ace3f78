"""Reading inside attachments, on files the tests write (see tests/samples_files.py)."""

from __future__ import annotations

import bz2
import gzip
import io

from heron.mail.facts import Limits
from heron.mail.parse import parse_message
from tests.samples_files import iso_of, mail_with, pdf, qr_png, word_document, zip_of

ZIP = "application/zip"


def flags(attachment) -> dict[str, str]:
    return {f.code: f.detail for f in attachment.contents.flags}


def origins(facts) -> dict[str, str]:
    return {u.url: u.origin for u in facts.urls}


def test_pdf_javascript_on_opening_and_its_link_annotation():
    raw = mail_with(
        [
            (
                "invoice.pdf",
                pdf(javascript="app.alert(1)", link="https://pdf.evil.test/pay"),
                "application/pdf",
            )
        ]
    )
    facts = parse_message(raw)
    [invoice] = facts.attachments
    assert invoice.contents.kind == "pdf"
    assert {"pdf-javascript", "pdf-open-action"} <= set(flags(invoice))
    assert origins(facts)["https://pdf.evil.test/pay"] == "attachment:invoice.pdf"


def test_a_qr_code_in_an_inline_image_becomes_a_link_of_the_message():
    raw = mail_with(
        [],
        html='<p>Scan to keep your mailbox</p><img src="cid:qr1">',
        inline=[("qr1", qr_png("https://qr.evil.test/login"), "image/png")],
    )
    facts = parse_message(raw)
    assert origins(facts)["https://qr.evil.test/login"] == "qr:cid:qr1"
    [image] = [a for a in facts.attachments if a.content_id == "qr1"]
    assert "qr-code" in flags(image)


def test_a_qr_code_on_a_pdf_page_is_read_too():
    raw = mail_with(
        [
            (
                "scan.pdf",
                pdf(image=qr_png("https://pdf-qr.evil.test/a")),
                "application/pdf",
            )
        ]
    )
    facts = parse_message(raw)
    assert origins(facts)["https://pdf-qr.evil.test/a"] == "qr:attachment:scan.pdf"


def test_a_macro_document_inside_a_zip_is_opened_and_flagged():
    archive = zip_of({"report.docm": word_document(macro=True)})
    facts = parse_message(mail_with([("report.zip", archive, ZIP)]))
    [outer] = facts.attachments
    assert outer.contents.kind == "zip"
    [document] = outer.contents.members
    assert document.filename == "report.docm"
    assert document.contents.kind == "office-ooxml"
    assert "vba-macro" in flags(document)
    assert document in facts.every_attachment()


def test_an_encrypted_zip_opens_with_the_password_the_message_states():
    archive = zip_of({"invoice.exe": b"MZ" + b"\0" * 300}, password="Inv2026")
    raw = mail_with([("invoice.zip", archive, ZIP)], text="Password: Inv2026")
    [outer] = parse_message(raw).attachments
    assert {"encrypted", "password-found"} <= set(flags(outer))
    assert outer.contents.password == "Inv2026"
    assert [m.filename for m in outer.contents.members] == ["invoice.exe"]


def test_an_encrypted_zip_without_its_password_still_shows_member_names():
    archive = zip_of({"invoice.exe": b"MZ" + b"\0" * 300}, password="unsaid")
    [outer] = parse_message(mail_with([("invoice.zip", archive, ZIP)])).attachments
    assert "encrypted" in flags(outer) and "password-found" not in flags(outer)
    assert flags(outer)["unopened-member"] == "invoice.exe"
    assert outer.contents.members == ()


def test_a_zip_bomb_is_not_unpacked():
    archive = zip_of({"zeros.bin": b"\0" * (60 * 1024 * 1024)})
    assert len(archive) < 200_000
    facts = parse_message(mail_with([("bomb.zip", archive, ZIP)]))
    [outer] = facts.attachments
    assert "archive-limit" in flags(outer) and outer.contents.members == ()
    assert any(w.code == "archive-limit" for w in facts.warnings)


def test_nested_archives_stop_at_the_depth_limit():
    archive = b"innermost"
    for level in range(6):
        archive = zip_of({f"level{level}.zip" if level else "note.txt": archive})
    facts = parse_message(
        mail_with([("nested.zip", archive, ZIP)]), Limits(max_archive_depth=2)
    )
    assert any(w.code == "archive-depth" for w in facts.warnings)
    assert len(facts.every_attachment()) == 3


def test_remote_template_hyperlink_and_dde_in_a_word_document():
    document = word_document(
        remote_template="https://templates.evil.test/t.dotm",
        hyperlink="https://docs.evil.test/open",
        dde=True,
    )
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    facts = parse_message(mail_with([("terms.docx", document, docx)]))
    [terms] = facts.attachments
    assert {"remote-template", "dde"} <= set(flags(terms))
    assert "templates.evil.test" in flags(terms)["remote-template"]
    assert origins(facts)["https://docs.evil.test/open"] == "attachment:terms.docx"


def test_calendar_invites_and_shortcuts_give_their_links():
    invite = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        b"DESCRIPTION:Join at https://meet.evil.test/\r\n room/42\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    shortcut = b"[InternetShortcut]\r\nURL=https://short.evil.test/go\r\n"
    facts = parse_message(
        mail_with(
            [
                ("invite.ics", invite, "text/calendar"),
                ("open.url", shortcut, "application/octet-stream"),
            ]
        )
    )
    found = origins(facts)
    assert found["https://meet.evil.test/room/42"] == "attachment:invite.ics"
    assert found["https://short.evil.test/go"] == "attachment:open.url"
    [_, link] = facts.attachments
    assert "risky-carrier" in flags(link)


def test_seven_zip_and_gzip_members_are_read():
    import py7zr

    packed = io.BytesIO()
    with py7zr.SevenZipFile(packed, "w") as archive:
        archive.writestr(b"https://seven.evil.test/x", "links.txt")
    facts = parse_message(
        mail_with(
            [
                ("files.7z", packed.getvalue(), "application/x-7z-compressed"),
                (
                    "notes.txt.gz",
                    gzip.compress(b"see https://gz.evil.test/y"),
                    "application/gzip",
                ),
            ]
        )
    )
    seven, gz = facts.attachments
    assert [m.filename for m in seven.contents.members] == ["links.txt"]
    assert [m.filename for m in gz.contents.members] == ["notes.txt"]
    assert {"https://seven.evil.test/x", "https://gz.evil.test/y"} <= set(
        origins(facts)
    )


def test_a_broken_pdf_is_a_warning_and_a_flag_never_a_crash():
    broken = pdf(link="https://pdf.evil.test/")[:300]
    facts = parse_message(mail_with([("broken.pdf", broken, "application/pdf")]))
    [attachment] = facts.attachments
    assert "unreadable" in flags(attachment)
    assert any(w.code == "file-unreadable" for w in facts.warnings)


def test_an_image_past_the_pixel_limit_is_not_decoded():
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (3000, 3000)).save(out, "PNG")
    facts = parse_message(
        mail_with([("big.png", out.getvalue(), "image/png")]),
        Limits(max_image_pixels=1_000_000),
    )
    assert any(w.code == "image-too-large" for w in facts.warnings)


def test_every_file_gets_a_fuzzy_hash_for_clustering():
    text = bz2.compress(b"x") + bytes(range(256)) * 4
    [attachment] = parse_message(
        mail_with([("data.bin", text, "application/octet-stream")])
    ).attachments
    assert attachment.contents.tlsh.startswith("T1")


def test_an_iso_image_is_a_risky_carrier_whose_files_are_read():
    image = iso_of(
        {
            "invoice.pdf.exe": b"MZ this is not a real program",
            "docs/readme.txt": b"open https://iso.evil.test/run",
        }
    )
    facts = parse_message(
        mail_with([("invoice.iso", image, "application/octet-stream")])
    )
    [attachment] = facts.attachments
    assert attachment.contents.kind == "iso"
    assert "risky-carrier" in flags(attachment)
    names = {m.filename for m in attachment.contents.members}
    assert names == {"invoice.pdf.exe", "docs/readme.txt"}
    assert origins(facts)["https://iso.evil.test/run"] == (
        "attachment:invoice.iso/docs/readme.txt"
    )


def test_a_broken_iso_image_is_a_warning_not_a_crash():
    image = bytearray(iso_of({"a.txt": b"hello"}))
    image[0x8050:0x8090] = b"\xff" * 0x40  # the volume descriptor's sizes
    facts = parse_message(
        mail_with([("broken.iso", bytes(image[:0x9000]), "application/octet-stream")])
    )
    [attachment] = facts.attachments
    assert attachment.contents.kind == "iso"
    assert "unreadable" in flags(attachment) or not attachment.contents.members
