"""Word lists the content, link and sender analyzers share.

Kept as data so that a deployment can read them and, later, extend them from
configuration. Each pattern is matched against lower-cased text with invisible
characters removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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
    r".{0,30}?\b(is full|almost full|exceeded|limit|cheia|voll)\b"
    r"|\b(storage|armazenamento|almacenamiento|speicher\w*|stockage|opslag)\b"
    r".{0,40}?\b(full|almost full|cheio|lleno|voll|plein|vol|limit\w*|l[ií]mite)\b"
    # Japanese and Chinese write no spaces between words: matched as substrings.
    r"|(アカウント|パスワード|ログイン|お客様情報|カード情報|支払い?方法|お支払い情報|"
    r"登録情報|口座|账户|账号|帳戶|帳號|密码|密碼|邮箱|郵箱|登录|登錄|银行卡)"
    r"[^。\n]{0,40}?(確認|更新|再設定|変更|入力|認証|验证|驗證|升级|升級|确认)",
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
    r"geblokkeerd|opgeschort|laatste (kans|herinnering)|"
    r"restringid\w*|desbloque\w*|bloquead\w*|[uú]ltimo aviso|multa pendiente|"
    r"pendiente de (pago|validaci[oó]n)|urgente|impay[ée]e?s?|sera suspendu|"
    r"wordt (geblokkeerd|opgeschort)|sospes\w*|bloccat\w*|scadut\w*)\b"
    r"|(停止|利用制限|制限され|凍結|冻结|差押|差し押さえ|最終期限|至急|期限切れ|未納|"
    r"未払い|不正(アクセス|利用|ログイン)|紧急|緊急|停用|过期|過期|被盗|盗用)"
)

LURE = re.compile(
    r"\b(you('ve| have)? won|winner|prize|reward|gift ?card|congratulations|lottery|"
    r"inheritance|beneficiary|compensation|unclaimed|claim your|free spins|"
    r"bitcoin|btc|crypto ?currency|usdt|dividend|tax refund|next of kin|"
    r"prêmio|premio|ganhou|recompensa|resgat\w*|benef[ií]cio liberado|reembolso|"
    r"ganador|gewinn\w*|gewonnen|freispiele|prämie|gagnant|récompense|remboursement|"
    r"airdrop|nfts?|seed phrase|recovery phrase|giving away|withdraw funds|"
    r"incoming (transaction|transfer|payment)|"
    r"cadeaukaart|cadeaubon|prijzen|premios|sorteio|sorteo|gewinnspiel)\b"
)

# Words that say a file comes with the message.
ATTACHMENT_CLAIM = re.compile(
    r"\b(see (the )?attached|attached (is|are|please find|you will find)|"
    r"please find (the )?attached|find attached|in (the )?attachment|"
    r"adjunto|adjunta|em anexo|segue anexo|anexo (a|o) (fatura|factura|comprovante)|"
    r"im anhang|anbei|ci-joint|pi[eè]ce jointe|in de bijlage|bijgevoegd|in allegato)\b"
)

# A threat to the reader's account: restricted, suspended, about to be closed.
ACCOUNT_THREAT = re.compile(
    r"\b(your|the) (\w+ )?(account|mailbox|card|access)( \w+)? (has been|is|was|will be|"
    r"have been) (temporarily |permanently )?(restricted|suspended|locked|limited|"
    r"blocked|disabled|deactivated|closed|terminated|on hold|frozen)\b"
    r"|\b(su|tu|sua|seu) (cuenta|conta|tarjeta|cart[aã]o|acceso|acesso)( \w+)? "
    r"(ha sido|fue|será|foi|será|est[aá]) (temporalmente |temporariamente )?"
    r"(restringid[ao]|suspendid[ao]|bloquead[ao]|suspens[ao]|desativad[ao]|"
    r"cancelad[ao])\b"
    r"|\b(ihr|dein) (konto|zugang|karte)( \w+)? (wurde|ist|wird) (vorübergehend )?"
    r"(gesperrt|eingeschränkt|deaktiviert|gekündigt)\b"
    r"|\b(votre|ton) (compte|carte|accès)( \w+)? (a été|est|sera) (temporairement )?"
    r"(suspendu|bloqué|restreint|limité|désactivé|fermé)e?\b"
    r"|\b(uw|je) (account|rekening|pas)( \w+)? (is|wordt|werd) (tijdelijk )?"
    r"(geblokkeerd|opgeschort|beperkt|gedeactiveerd)\b"
    r"|(アカウント|口座|カード)[^。\n]{0,20}?(停止|凍結|制限|ロック)|"
    r"(账户|账号|帳戶|邮箱)[^。\n]{0,20}?(冻结|凍結|停用|锁定|被盗)"
)

# Cryptocurrency money: amounts, wallet addresses and the talk around them.
CRYPTO = re.compile(
    r"\b\d[\d.,]{0,24}\s?(btc|usdt|eth|bitcoins?)\b|\b(btc|usdt|eth)\s?\d[\d.,]{0,24}\b"
    r"|\b(crypto\w*|bitcoin\w*|wallet|airdrop|nfts?|tokens?|binance|bitfinex|"
    r"coinbase|metamask)\b[^.\n]{0,60}?\b(withdraw\w*|claim\w*|giv\w+ away|"
    r"transfer\w*|receiv\w+|eligible|deposit\w*|unwanted|reclaim\w*|live)\b"
    r"|\b\d[\d.,\s]{0,24}(usd|usdt|btc|eth)\s{1,5}(bitfinex|binance|coinbase|kraken|bybit)\b"
    r"|\b(giv\w+ away|claim\w*|withdraw\w*|receiv\w+)\b[^.\n]{0,40}?"
    r"\b(crypto\w*|bitcoins?|btc|usdt|eth|tokens?|nfts?)\b"
)

# A site's own form mail (a sign-up, a contact form) whose name field carries a
# link: the form was used to send someone else's message.
FORM_ABUSE = re.compile(
    r"\b(user ?name|nome utente|nombre de usuario|benutzername|nom d'utilisateur|"
    r"gebruikersnaam|nome de usu[aá]rio|name|nome|nombre)[ \t]{0,10}:[ \t]{0,10}"
    r"(https?://|www\.)[\w-]{1,63}\.[\w.-]{1,253}"
)

# A Bitcoin address in its legacy form (base58, case matters) or bech32 form.
BITCOIN_ADDRESS = re.compile(
    r"\b(bc1[02-9ac-hj-np-z]{25,59}|[13][1-9A-HJ-NP-Za-km-z]{25,34})\b"
)

# Advance-fee fraud: the fortune, the stranger's trust and the request for a reply.
# One phrase alone is ordinary; several together are the genre.
ADVANCE_FEE = re.compile(
    r"\b(next of kin|consignment|my late (husband|father|wife|mother)|"
    r"(late|deceased) client|barrister|diplomatic (agent|courier)|atm (master ?)?card|"
    r"compensation (fund|payment)|investment (proposition|proposal|partner)|"
    r"business (proposal|proposition)|confidential (client|business|transaction)|"
    r"(transfer|release|claim) (of )?(the|this|these|my) (fund|funds|sum|inheritance)|"
    r"foreign (partner|account)|(million|billion) (us )?(dollars|usd|euros|pounds)|"
    r"may come to you as a surprise|solicit(ed)? your (assistance|help|consent)|"
    r"god bless|dear (friend|beloved)|humble (lady|woman|man)|widow|orphanage|"
    r"terminal (illness|cancer)|charity (work|organi[sz]ation)|"
    r"(kindly|please) (reply|respond|get back)|private (e-?mail|email address)|"
    r"(contact|email|e-mail|write to|reply to) me (at|on|via|through)|"
    r"i am (mrs?|miss|barrister|dr)\b\.?)"
    r"|us\$ ?\d[\d,.]{0,24}|\$ ?\d{1,3}(,\d{3}){2,8}"
)

# What bulk spam sells: sex, gambling and pills.
SPAM_TOPICS = {
    "adult": re.compile(
        r"\b(sex|sexy|naked|nude|porn\w*|horny|pussy|orgasm|orgazm|milf|hook ?up|"
        r"fuck\w*|escort|cam ?girls?|lonely (women|girls|wives)|"
        r"\d{1,5} (miles|km) from you|(girls|women|singles) (near you|in your area)|"
        r"dating|lick me|hot girls|chat with me|i like you very much|"
        r"looking for (a )?(man|men|partner))\b|(内射|做爱|色情|成人视频|约炮|裸聊|美女|屄)"
    ),
    "gambling": re.compile(
        r"casino\w*|\b(free spins|freispiele|jackpot|poker|no deposit|"
        r"sin dep[oó]sito|ohne einzahlung|sportsbook|roulette|blackjack)\b"
    ),
    "pills": re.compile(
        r"\b(viagra|cialis|levitra|erectile|male enhancement|weight loss|lose weight|"
        r"fat (removal|burn\w*)|diet pills?|semaglutide|ozempic|online pharmacy|"
        r"bigger,? harder|bedroom boost|liposuction|lipo)\b"
    ),
}

# An email address, every part bounded (a local part of at most 64 characters, labels
# of at most 63, ten of them), so that a long run of letters without an @ costs a
# linear scan, not a quadratic one. Every pattern here bounds its repeats for the
# same reason: they run over bodies of megabytes that an attacker writes.
ADDRESS = r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}"

# A plea to answer at another address: "email me at someone@freemail.example".
REPLY_ELSEWHERE = re.compile(
    r"\b(?:e-?mail|write|contact|reply|respond|send|get back)(?: to)? (?:me|us)"
    r"(?: directly| back)?(?: at| on| via| through| with)?\s{0,5}[:\-]?\s{0,5}"
    r"(?:for (?:more )?details\s{0,5}[:\-]?\s{0,5})?"
    r"<?(" + ADDRESS + r")"
    r"|\bmy (?:private|personal|direct) (?:e-?mail|email address|address)"
    r"(?: is)?\s{0,5}[:\-]?\s{0,5}<?(" + ADDRESS + r")"
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

# File-transfer services: a link to one hands over a file nobody has scanned.
FILE_SHARING = frozenset(
    {
        "wetransfer.com",
        "we.tl",
        "sendspace.com",
        "mediafire.com",
        "transfer.sh",
        "files.fm",
        "gofile.io",
        "filetransfer.io",
        "mega.nz",
        "4shared.com",
        "dropboxusercontent.com",
        "1drv.ms",
        "smash.gg",
        "fromsmash.com",
        "swisstransfer.com",
        "pixeldrain.com",
        "catbox.moe",
        "filebin.net",
        "easyupload.io",
        "bashupload.com",
    }
)


@dataclass(frozen=True)
class HostLists:
    """The host lists links are judged against: heron's own, with the
    organisation's additions (HERON_URL_SHORTENERS, HERON_FREE_HOSTING,
    HERON_FILE_SHARING)."""

    shorteners: frozenset[str] = URL_SHORTENERS
    free_hosting: frozenset[str] = FREE_HOSTING
    file_sharing: frozenset[str] = FILE_SHARING

    @classmethod
    def extended(
        cls,
        shorteners: Iterable[str],
        free_hosting: Iterable[str],
        file_sharing: Iterable[str],
    ) -> HostLists:
        def clean(values: Iterable[str]) -> frozenset[str]:
            return frozenset(v.strip().lower().rstrip(".") for v in values if v.strip())

        return cls(
            URL_SHORTENERS | clean(shorteners),
            FREE_HOSTING | clean(free_hosting),
            FILE_SHARING | clean(file_sharing),
        )

    def shared(self, host: str) -> bool:
        """True when anyone can publish under ``host``: a shortener, free hosting or
        file sharing."""
        return any(
            self.listed(host, hosts)
            for hosts in (self.shorteners, self.free_hosting, self.file_sharing)
        )

    @staticmethod
    def listed(host: str, hosts: frozenset[str]) -> bool:
        """True when ``host`` is a listed host or under one."""
        labels = host.lower().rstrip(".").split(".")
        return any(".".join(labels[i:]) in hosts for i in range(len(labels)))


DEFAULT_HOST_LISTS = HostLists()


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

# Second-level names sold like top-level domains (us.com, eu.com): as cheap, and
# as favoured by bulk senders who change names every week.
CHEAP_SUFFIXES = frozenset(
    {
        "us.com",
        "eu.com",
        "sa.com",
        "uk.com",
        "gb.net",
        "br.com",
        "cn.com",
        "de.com",
        "jpn.com",
        "ru.com",
        "za.com",
        "kr.com",
        "mex.com",
        "gr.com",
        "hu.net",
        "se.net",
        "uy.com",
        "in.net",
        "africa.com",
        "co.com",
    }
)


def cheap_suffix(host: str) -> str:
    """The cheap top-level domain or sold suffix ``host`` is under; "" when none."""
    host = host.lower().rstrip(".")
    for suffix in CHEAP_SUFFIXES:
        if host.endswith("." + suffix):
            return suffix
    tld = host.rsplit(".", 1)[-1]
    return tld if "." in host and tld in CHEAP_TLDS else ""


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

# Dynamic-DNS names: anyone can take a host under them in a minute.
DYNAMIC_DNS = frozenset(
    {
        "duckdns.org",
        "no-ip.org",
        "no-ip.biz",
        "no-ip.info",
        "ddns.net",
        "hopto.org",
        "zapto.org",
        "sytes.net",
        "serveftp.com",
        "servehttp.com",
        "dynu.net",
        "mooo.com",
        "afraid.org",
        "dyndns.org",
        "dynalias.com",
        "from-oh.com",
        "from-ny.net",
        "from-ca.com",
        "from-tx.com",
        "from-fl.com",
        "is-a-geek.com",
        "homeip.net",
        "gotdns.com",
        "3utilities.com",
        "myftp.biz",
    }
)

# Words that make a display name an organisation's rather than a person's.
ORGANISATION_WORDS = re.compile(
    r"\b(team|support|service|services|customer|billing|invoice|invoices|order|"
    r"orders|delivery|tracking|track|notification|notifications|security|account|"
    r"accounts|department|office|company|ltd|inc|llc|gmbh|bank|banking|payment|"
    r"payments|shipping|logistics|admin|administrator|helpdesk|official|store|shop|"
    r"guide|rewards|sale|sales|offers?|promotions?|pakket|pedidos?|entrega|"
    r"versand|sendung)\b|&|_{2,}"
)

# Subjects that claim business the reader is party to: an invoice, a payment, a parcel.
BUSINESS_CLAIM = re.compile(
    r"\b(invoice|payment|transaction|order|receipt|refund|tracking|package|parcel|"
    r"shipment|delivery|statement|remittance|wire transfer|purchase|"
    r"fatura|factura|rechnung|facture|pagamento|pago|zahlung|paiement|betaling|"
    r"pakket|pakketje|encomenda|paquete|sendung|colis|boleto|nota fiscal)\b"
)
