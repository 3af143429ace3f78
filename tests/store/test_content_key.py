from email.message import EmailMessage

from heron.mail.parse import parse_message
from heron.store.repository import content_key


def newsletter(html_words: str, spf: str = "pass", *, crlf: bool = False) -> bytes:
    message = EmailMessage()
    message["Authentication-Results"] = (
        f"mx.example.org; spf={spf} smtp.mailfrom=news.test"
    )
    message["From"] = "News <news@news.test>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Monthly news"
    message["Message-ID"] = "<monthly@news.test>"
    message.set_content("Monthly news: read http://news.test/")
    message.add_alternative(
        f"<p>{html_words} <a href='http://news.test/'>read</a></p>", subtype="html"
    )
    raw = message.as_bytes()
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def key(raw: bytes) -> str:
    return content_key(parse_message(raw))


def test_the_same_message_re_encoded_keeps_its_key():
    assert key(newsletter("Monthly news")) == key(newsletter("Monthly news", crlf=True))


def test_a_spoof_copying_the_text_part_but_not_the_html_gets_its_own_key():
    assert key(newsletter("Monthly news")) != key(newsletter("Your mailbox is full."))


def test_failed_authentication_where_the_real_one_passed_changes_the_key():
    assert key(newsletter("Monthly news")) != key(
        newsletter("Monthly news", spf="fail")
    )
