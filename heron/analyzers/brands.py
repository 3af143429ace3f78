"""Brands attackers pretend to be, with the organisational domains that really send
their mail. A display name that names one of them on mail from another domain is
impersonation.

Known limit: the list is built in and short; a deployment will want its own brands,
partners and VIP names from configuration, matched the same way.
"""

from __future__ import annotations

import re

BRANDS: dict[str, tuple[str, ...]] = {
    "microsoft": (
        "microsoft.com",
        "office.com",
        "office365.com",
        "outlook.com",
        "live.com",
        "microsoftonline.com",
        "sharepoint.com",
        "onedrive.com",
        "hotmail.com",
        "microsoftstore.com",
        "windows.com",
        "azure.com",
        "skype.com",
    ),
    "office 365": ("microsoft.com", "office.com", "office365.com"),
    "outlook": ("microsoft.com", "outlook.com", "office.com"),
    "onedrive": ("microsoft.com", "onedrive.com", "sharepoint.com"),
    "sharepoint": ("microsoft.com", "sharepoint.com"),
    "paypal": ("paypal.com", "paypal.de", "paypal.co.uk"),
    "apple": ("apple.com", "icloud.com", "me.com"),
    "icloud": ("apple.com", "icloud.com"),
    "amazon": (
        "amazon.com",
        "amazon.de",
        "amazon.co.uk",
        "amazon.fr",
        "amazon.es",
        "amazon.it",
        "amazon.co.jp",
        "amazon.com.br",
        "amazonses.com",
        "aws.com",
    ),
    "netflix": ("netflix.com",),
    "spotify": ("spotify.com",),
    "dhl": ("dhl.com", "dhl.de", "dhl.nl", "dhl.fr", "dpdhl.com", "dhl.co.uk"),
    "fedex": ("fedex.com",),
    "ups": ("ups.com",),
    "usps": ("usps.com", "usps.gov"),
    "docusign": ("docusign.com", "docusign.net"),
    "dropbox": ("dropbox.com", "dropboxmail.com"),
    "wetransfer": ("wetransfer.com",),
    "adobe": ("adobe.com",),
    "google": ("google.com", "gmail.com", "youtube.com", "googlemail.com"),
    "facebook": ("facebook.com", "facebookmail.com", "meta.com", "fb.com"),
    "instagram": ("instagram.com", "facebookmail.com", "mail.instagram.com"),
    "linkedin": ("linkedin.com",),
    "coinbase": ("coinbase.com",),
    "binance": ("binance.com",),
    "wells fargo": ("wellsfargo.com",),
    "chase": ("chase.com", "jpmorgan.com"),
    "bank of america": ("bankofamerica.com", "bofa.com"),
    "capital one": ("capitalone.com",),
    "american express": ("americanexpress.com", "aexp.com"),
    "norton": ("norton.com", "nortonlifelock.com", "gen.com"),
    "mcafee": ("mcafee.com",),
    "costco": ("costco.com",),
    "walmart": ("walmart.com",),
    "hilton": ("hilton.com",),
    "adac": ("adac.de",),
    "itau": ("itau.com.br",),
    "itaucard": ("itau.com.br",),
    "bradesco": ("bradesco.com.br",),
    "santander": (
        "santander.com",
        "santander.com.br",
        "santander.es",
        "santander.co.uk",
    ),
    "caixa": ("caixa.gov.br",),
    "correios": ("correios.com.br",),
    "nubank": ("nubank.com.br",),
    "banco do brasil": ("bb.com.br",),
    "sparkasse": ("sparkasse.de",),
    "argenta": ("argenta.be",),
    "trust wallet": ("trustwallet.com",),
    "metamask": ("metamask.io",),
    "hmrc": ("hmrc.gov.uk", "gov.uk"),
    "irs": ("irs.gov",),
    "zoom": ("zoom.us", "zoom.com"),
    "webmail": (),
    "mail administrator": (),
    "it support": (),
    "it helpdesk": (),
    "help desk": (),
}

_SEPARATORS = re.compile(r"[^a-z0-9]+")


def named_brand(display_name: str) -> str | None:
    """The brand a display name names, matched on whole words; None when none."""
    words = " " + _SEPARATORS.sub(" ", display_name.lower()).strip() + " "
    squeezed = _SEPARATORS.sub("", display_name.lower())
    for brand in sorted(BRANDS, key=len, reverse=True):
        if f" {brand} " in words:
            return brand
        if (
            len(brand) >= 6
            and " " not in brand
            and brand in squeezed
            and brand not in words
        ):
            return brand  # letters split apart: "C-o-i-n-b-a-s-e"
    return None
