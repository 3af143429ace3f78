"""Images: QR codes, decoded with zxing-cpp, become links of the message.

A QR code in a mail image is how a phish moves its link past url scanners and onto a
phone. Each image is opened with Pillow within ``Limits.max_image_pixels`` (larger ones
are skipped with a warning, never decoded) and at most ``Limits.max_images`` images of
one message are read. The decoded text's urls get the origin ``qr:`` + where the image
was; text that holds no url is kept as a ``qr-code`` flag.
"""

from __future__ import annotations

import io

from heron.mail.files import FileScan, Found


def read(data: bytes, found: Found, scan: FileScan, where: str, depth: int) -> None:
    """The QR codes of one image attachment."""
    found.links += decode(data, found, scan, where)


def decode(data: bytes, found: Found, scan: FileScan, where: str) -> int:
    """Decode the QR codes in the image ``data``; how many new links they gave."""
    if scan.images >= scan.limits.max_images:
        scan.warnings.once(
            "image-limit",
            "images",
            f"more than {scan.limits.max_images} images; the rest not read for QR codes",
        )
        return 0
    scan.images += 1
    image = _open(data, scan, where)
    if image is None:
        return 0
    import zxingcpp

    added = 0
    for barcode in zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    ):
        text = barcode.text[:4096]
        links = scan.links(text, f"qr:{where}")
        if not links and text:
            found.flag("qr-code", f"a QR code reading {text[:120]!r}")
        else:
            found.flag("qr-code", f"a QR code linking to {text[:120]}")
        added += links
    return added


def _open(data: bytes, scan: FileScan, where: str) -> object | None:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > scan.limits.max_image_pixels:
            scan.warnings.add(
                "image-too-large",
                where,
                f"image of {width}x{height} pixels not read for QR codes",
            )
            return None
        image.load()
        return image.convert("L")
    except Exception as error:  # Pillow raises many kinds on broken images
        scan.warnings.add("image-unreadable", where, f"{type(error).__name__}: {error}")
        return None
