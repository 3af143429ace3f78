"""Word lists the content, link and sender analyzers share.

Kept as data so that a deployment can read them and, later, extend them from
configuration. Each pattern is matched against lower-cased text with invisible
characters removed.
"""

from __future__ import annotations

import re

# Asking the reader to confirm an account, a password or card details, in the
# languages the organisation's mail most often arrives in.
_YOUR = (
    r"(your|sua|seu|seus|suas|su|sus|tu|ihr|ihre|ihren|votre|vos|uw|je|il tuo|la tua)"
)

CREDENTIAL_REQUEST = re.compile(
    r"\b(verify|confirm|validate|update|re-?activate|unlock|restore|secure|"
    r"confirme|verifique|atualize|valide|regularize|desbloqueie|"
    r"confirma|verifica|actualiza|bestätigen|verifizieren|aktualisieren|"
    r"vérifiez|confirmez|mettez à jour|bevestig|verifieer|controleer)\s+"
    + _YOUR
    + r"\s+(\w+\s+){0,2}?(account|password|mailbox|e-?mail|identity|login|credentials|"
    r"card|billing|payment (details|information|method)|"
    r"conta|senha|dados|cadastro|cart[aã]o|acesso|cuenta|contraseña|datos|tarjeta|"
    r"konto|passwort|zugangsdaten|karte|compte|mot de passe|identifiants|"
    r"rekening|wachtwoord|gegevens)\b"
    r"|\b"
    + _YOUR
    + r"\s+(password|senha|contraseña|passwort|mot de passe|wachtwoord)\b"
    r".{0,40}?\b(expir\w*|venc\w*|caduc\w*|läuft|vence)\b"
    r"|\b"
    + _YOUR
    + r"\s+(mailbox|storage|quota|e-?mail storage|caixa de correio|speicher)\b"
    r".{0,30}?\b(is full|almost full|exceeded|limit|cheia|voll)\b",
    re.DOTALL,
)

URGENCY = re.compile(
    r"\b(urgent\w*|immediately|within \d+ (hours|days)|suspend\w*|deactivat\w*|"
    r"will be (deleted|closed|locked|blocked|removed|suspended)|"
    r"final (notice|warning|reminder)|last (chance|warning|notice|reminder)|"
    r"action (required|needed)|unusual (sign-?in|activity)|"
    r"account (is )?(locked|limited|restricted|on hold|disabled)|"
    r"imediatamente|bloque\w*|suspens\w*|última (chance|oportunidade|notificação)|"
    r"inmediatamente|suspendid\w*|dringend|sofort|gesperrt|letzte (mahnung|warnung|"
    r"benachrichtigung)|immédiatement|suspendu|dernier (avis|rappel)|"
    r"geblokkeerd|opgeschort|laatste (kans|herinnering))\b"
)

LURE = re.compile(
    r"\b(you('ve| have)? won|winner|prize|reward|gift ?card|congratulations|lottery|"
    r"inheritance|beneficiary|compensation|unclaimed|claim your|free spins|"
    r"bitcoin|btc|crypto ?currency|usdt|dividend|tax refund|next of kin|"
    r"prêmio|premio|ganhou|recompensa|resgat\w*|benef[ií]cio liberado|reembolso|"
    r"ganador|gewinn\w*|gewonnen|freispiele|prämie|gagnant|récompense|remboursement)\b"
)

# Characters that draw nothing and are used to break words apart so that filters do
# not see them: zero-width spaces and joiners, soft hyphens, word joiners,
# variation selectors and tag characters.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u180e\u200b\u200c\u2060-\u2064\ufeff\U000e0000-\U000e007f"
    "\U000e0100-\U000e01ef]"
)


def without_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def hidden_between_letters(text: str) -> int:
    """How many invisible characters sit between two letters of ``text``."""
    return sum(
        1
        for match in INVISIBLE.finditer(text)
        if match.start() > 0
        and match.end() < len(text)
        and text[match.start() - 1].isalpha()
        and (text[match.end()].isalpha() or INVISIBLE.match(text[match.end()]))
    )


URL_SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "is.gd",
        "ow.ly",
        "cutt.ly",
        "rebrand.ly",
        "shorturl.at",
        "rb.gy",
        "t.ly",
        "tiny.cc",
        "s.id",
        "bl.ink",
        "buff.ly",
        "lnkd.in",
        "goo.gl",
        "v.gd",
        "qrco.de",
        "shorturl.asia",
        "urlz.fr",
        "x.gd",
    }
)

# Hosting, file-sharing and form services where anyone can publish a page.
FREE_HOSTING = frozenset(
    {
        "firebasestorage.googleapis.com",
        "storage.googleapis.com",
        "web.app",
        "firebaseapp.com",
        "r2.dev",
        "pages.dev",
        "workers.dev",
        "glitch.me",
        "weebly.com",
        "wixsite.com",
        "000webhostapp.com",
        "blogspot.com",
        "sites.google.com",
        "forms.gle",
        "herokuapp.com",
        "netlify.app",
        "vercel.app",
        "github.io",
        "azurewebsites.net",
        "web.core.windows.net",
        "blob.core.windows.net",
        "ipfs.io",
        "dweb.link",
        "typeform.com",
        "jotform.com",
        "notion.site",
        "webflow.io",
        "square.site",
        "godaddysites.com",
        "mailchimpsites.com",
        "backblazeb2.com",
        "digitaloceanspaces.com",
        "s3.amazonaws.com",
        "surge.sh",
        "replit.app",
        "repl.co",
        "framer.app",
        "wordpress.com",
        "mystrikingly.com",
        "yolasite.com",
        "carrd.co",
        "linktr.ee",
        "telegra.ph",
    }
)

# Top-level domains whose names cost little and that phishing uses far more than
# ordinary mail does.
CHEAP_TLDS = frozenset(
    {
        "xyz",
        "top",
        "click",
        "buzz",
        "shop",
        "icu",
        "cyou",
        "rest",
        "monster",
        "sbs",
        "cfd",
        "online",
        "site",
        "live",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "work",
        "link",
        "fun",
        "space",
        "lat",
        "bond",
        "best",
        "vip",
        "pw",
        "su",
        "quest",
        "loan",
        "zip",
        "mov",
        "country",
        "support",
        "help",
        "digital",
        "store",
    }
)

FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "icloud.com",
        "zoho.com",
        "mail.com",
        "qq.com",
        "163.com",
        "126.com",
        "yahoo.co.jp",
        "uol.com.br",
        "bol.com.br",
    }
)
