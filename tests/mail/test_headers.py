"""Behaviour of the header readers: Authentication-Results, Received, addresses."""

from __future__ import annotations

from heron.mail.authres import parse_authentication_results, strip_comments
from heron.mail.budget import Warnings
from heron.mail.headers import addresses, parse_received
from heron.mail.text import decode_bytes, decode_words


def test_google_authentication_results_with_comments() -> None:
    value = (
        "mx.google.com;\r\n       dkim=pass header.i=@x.example header.s=s1 "
        'header.b="ab(c";\r\n       spf=pass (google.com: domain of a@x.example '
        "designates 192.0.2.1 as permitted sender) smtp.mailfrom=a@x.example;\r\n"
        "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=x.example"
    )
    parsed = parse_authentication_results(value, 0)
    assert parsed.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert parsed.results[0].properties["header.b"] == "ab(c"


def test_authentication_results_without_semicolons_and_with_reason() -> None:
    value = (
        'mx.example spf=fail reason="bad \\"ip\\"" smtp.mailfrom=a.example dkim=pass'
    )
    parsed = parse_authentication_results(value, 3)
    assert parsed.index == 3 and parsed.authserv_id == "mx.example"
    spf, dkim = parsed.results
    assert spf.reason == 'bad "ip"' and spf.properties == {"smtp.mailfrom": "a.example"}
    assert dkim.result == "pass"


def test_authentication_results_none_and_version() -> None:
    parsed = parse_authentication_results("example.org 1; none", 0)
    assert parsed.authserv_id == "example.org" and parsed.results == ()


def test_strip_comments_nested_and_masked() -> None:
    assert strip_comments('a (b (c) d) "(kept)" e').split() == ["a", '"(kept)"', "e"]
    assert len(strip_comments("x (y) z", mask=True)) == len("x (y) z")


def test_received_hosts_ignore_words_in_comments() -> None:
    hop = parse_received(
        "by mail.example (Postfix, from userid 0) id 1; Mon, 4 Mar 2024", 0
    )
    assert hop.from_host == "" and hop.by_host == "mail.example" and hop.ip is None


def test_received_ip_in_parentheses() -> None:
    hop = parse_received("from unknown (HELO x) (198.51.100.7) by mx.example; x", 2)
    assert hop.ip == "198.51.100.7" and hop.index == 2 and hop.received_at is None


def test_received_invalid_ip_is_ignored() -> None:
    hop = parse_received("from h (h [999.1.1.1]) by mx.example", 0)
    assert hop.ip is None


def test_addresses_decode_names_and_lower_case() -> None:
    warnings = Warnings()
    found = addresses(
        '"Doe, John" <John@X.example>, =?utf-8?q?J=C3=B6?= <b@y>', "w", warnings
    )
    assert [(a.address, a.display_name) for a in found] == [
        ("john@x.example", "Doe, John"),
        ("b@y", "Jö"),
    ]
    assert warnings.items == []


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    text, problems = decode_words("=?utf-8?q?W=C3?= =?utf-8?q?=B6rld?=")
    assert text == "Wörld" and problems == []


def test_hostile_charsets_are_refused() -> None:
    text, problem = decode_bytes(b"abc", "punycode")
    assert text == "abc" and "unknown charset" in problem


def test_addresses_past_the_limit_are_cut_with_a_warning():
    from heron.mail.headers import MAX_ADDRESSES
    from heron.mail.parse import parse_message

    crowd = ",".join(f"u{i}@crowd.test" for i in range(MAX_ADDRESSES + 50))
    facts = parse_message(f"From: a@b.test\nCc: {crowd}\nSubject: all\n\nhi\n".encode())
    assert len(facts.cc) == MAX_ADDRESSES
    assert any(w.code == "address-limit" for w in facts.warnings)
