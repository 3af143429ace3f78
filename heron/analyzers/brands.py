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
    "ledger": ("ledger.com",),
    "gemini": ("gemini.com",),
    "opensea": ("opensea.io",),
    "ing": ("ing.com", "ing.nl", "ing.de", "ing.es", "ing.be", "ing.fr", "ing.it"),
    "proximus": ("proximus.be",),
    "receita federal": ("gov.br",),
    "alfandega": ("gov.br",),
    "yodobashi": ("yodobashi.com",),
    "ヨドバシ": ("yodobashi.com",),
    "rakuten": ("rakuten.co.jp", "rakuten-card.co.jp", "rakuten.com"),
    "楽天": ("rakuten.co.jp", "rakuten-card.co.jp", "rakuten.com"),
    "東京ガス": ("tokyo-gas.co.jp",),
    "日本郵便": ("japanpost.jp",),
    "日本郵政": ("japanpost.jp",),
    "japan post": ("japanpost.jp",),
    "国税": ("nta.go.jp",),
    "e-tax": ("nta.go.jp",),
    "三井住友": ("smbc.co.jp", "smbc-card.com"),
    "三菱ufj": ("mufg.jp", "bk.mufg.jp"),
    "アマゾン": ("amazon.co.jp", "amazon.com"),
    "えきねっと": ("eki-net.com",),
    "セゾン": ("saisoncard.co.jp",),
    "台電": ("taipower.com.tw",),
    "台电": ("taipower.com.tw",),
    "webmail": (),
    "mail administrator": (),
    "it support": (),
    "it helpdesk": (),
    "help desk": (),
    "helpdesk": (),
    "hr department": (),
    "human resources": (),
    "payroll": (),
    "it department": (),
    "service desk": (),
    "email administrator": (),
    "system administrator": (),
    "accounts payable": (),
    "finance department": (),
}

BRAND_DOMAINS = tuple(sorted({d for owners in BRANDS.values() for d in owners}))
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_SPLIT_LETTERS = re.compile(r"(?<= )(?:[a-z] ){2,}[a-z](?= )")


def named_brand(display_name: str) -> str | None:
    """The brand a display name names, matched on whole words (names in scripts
    written without spaces, such as Japanese, anywhere); None when none."""
    lowered = display_name.lower()
    words = " " + _SEPARATORS.sub(" ", lowered).strip() + " "
    # Letters set apart to slip past filters: "D/H/L", "P a y P a l".
    words = _SPLIT_LETTERS.sub(lambda m: " " + m.group(0).replace(" ", "") + " ", words)
    squeezed = _SEPARATORS.sub("", lowered)
    for brand in sorted(BRANDS, key=len, reverse=True):
        if not brand.isascii() and brand in lowered:
            return brand
        if f" {brand} " in words or (
            "-" in brand and f" {brand.replace('-', ' ')} " in words
        ):
            return brand
        if (
            len(brand) >= 6
            and " " not in brand
            and brand in squeezed
            and brand not in words
        ):
            return brand  # letters split apart: "C-o-i-n-b-a-s-e"
    return None
