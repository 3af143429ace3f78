"""Files the tests write themselves: archives, Office packages, PDFs, QR images and
the mail that carries them. Nothing here is taken from real malware; a "macro
document" is an Office package with a VBA part, which is what heron looks for."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage


def zip_of(members: dict[str, bytes], password: str = "") -> bytes:
    """A zip of ``members``; AES-encrypted when ``password`` is given."""
    out = io.BytesIO()
    if password:
        import pyzipper

        with pyzipper.AESZipFile(
            out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(password.encode())
            for name, data in members.items():
                archive.writestr(name, data)
        return out.getvalue()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
    b"</Types>"
)


def word_document(
    text: str = "Quarterly figures",
    *,
    macro: bool = False,
    remote_template: str = "",
    hyperlink: str = "",
    dde: bool = False,
) -> bytes:
    """A small Word package with the given traits."""
    body = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
    if dde:
        field = 'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"'
        body += f"<w:p><w:r><w:instrText>{field}</w:instrText></w:r></w:p>"
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "word/document.xml": (
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.'
            f'org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>'
        ).encode(),
    }
    relationships = []
    if hyperlink:
        relationships.append(
            f'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/hyperlink" Target="{hyperlink}" '
            f'TargetMode="External"/>'
        )
    parts["word/_rels/document.xml.rels"] = _relationships(relationships)
    if remote_template:
        parts["word/_rels/settings.xml.rels"] = _relationships(
            [
                f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships/attachedTemplate" '
                f'Target="{remote_template}" TargetMode="External"/>'
            ]
        )
    if macro:
        parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    return zip_of(parts)


def _relationships(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships">{"".join(items)}</Relationships>'
    ).encode()


def pdf(*, javascript: str = "", link: str = "", image: bytes = b"") -> bytes:
    """A one-page PDF, optionally running ``javascript`` on opening, carrying a link
    annotation to ``link`` and showing the PNG ``image``."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    if image:
        from PIL import Image

        page_pdf = io.BytesIO()
        Image.open(io.BytesIO(image)).convert("RGB").save(page_pdf, "PDF")
        writer.append(io.BytesIO(page_pdf.getvalue()))
    else:
        writer.add_blank_page(width=200, height=200)
    if javascript:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject(javascript),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    if link:
        annotation = Link(rect=(10, 10, 100, 40), url=link)
        writer.add_annotation(page_number=0, annotation=annotation)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def qr_png(text: str) -> bytes:
    """A PNG image of a QR code reading ``text``."""
    import zxingcpp
    from PIL import Image

    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    pixels = memoryview(barcode.to_image(scale=6))
    height, width = pixels.shape
    picture = Image.frombytes("L", (width, height), pixels.tobytes())
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def mail_with(
    files: list[tuple[str, bytes, str]],
    *,
    text: str = "Please see the attached file.",
    html: str = "",
    inline: list[tuple[str, bytes, str]] | None = None,
    sender: str = "billing@vendor.test",
) -> bytes:
    """A message from ``sender`` with file attachments (name, bytes, media type) and
    inline parts (content id, bytes, media type) referenced by the HTML body."""
    message = EmailMessage()
    message["From"] = f"Billing <{sender}>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Your documents"
    message["Message-ID"] = f"<files.{abs(hash((text, len(files))))}@vendor.test>"
    message.set_content(text)
    if html or inline:
        message.add_alternative(html or "<p>See below</p>", subtype="html")
        html_part = message.get_payload()[1]
        for cid, data, media in inline or []:
            maintype, subtype = media.split("/")
            html_part.add_related(data, maintype, subtype, cid=f"<{cid}>")
    for name, data, media in files:
        maintype, subtype = media.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def iso_of(members: dict[str, bytes]) -> bytes:
    """An ISO 9660 image with Joliet names holding ``members``; a name may sit in
    one folder ("docs/readme.txt")."""
    import pycdlib

    image = pycdlib.PyCdlib()
    image.new(joliet=3)
    folders: dict[str, str] = {}
    for number, (path, data) in enumerate(members.items()):
        folder, _, _ = path.rpartition("/")
        short = f"/F{number}.BIN;1"
        if folder:
            if folder not in folders:
                folders[folder] = f"/D{len(folders) + 1}"
                image.add_directory(folders[folder], joliet_path=f"/{folder}")
            short = folders[folder] + short
        image.add_fp(io.BytesIO(data), len(data), short, joliet_path=f"/{path}")
    out = io.BytesIO()
    image.write_fp(out)
    image.close()
    return out.getvalue()
