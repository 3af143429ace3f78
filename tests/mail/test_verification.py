"""heron's own DKIM, SPF, DMARC and ARC checks, against records from a local file,
on messages signed here with a key made for the tests."""

import json
from dataclasses import replace
from pathlib import Path

import dkim
import pytest

from heron.analyzers import AnalyzerContext, Lookups
from heron.analyzers.base import REGISTRY
from heron.domain.entities import EntityRef, EntityType
from heron.domain.verdicts import Severity
from heron.errors import ConfigError
from heron.intel.dns_records import RecordCache, ResolverRecords, record_source
from heron.mail.parse import parse_message
from heron.mail.verification import read_arc, verify

KEYS = Path(__file__).parents[1] / "data" / "dkim"
PRIVATE = (KEYS / "test-only-private.pem").read_bytes()
PUBLIC = (KEYS / "test-only-public.txt").read_text().strip()
SENDER_IP = "93.184.216.34"  # a public address; nothing is sent to it


def message(
    from_domain: str = "example.org",
    envelope: str = "bounce@example.org",
    received_ip: str = SENDER_IP,
) -> bytes:
    return (
        f"Return-Path: <{envelope}>\r\n"
        f"Received: from mail.{from_domain} (mail.{from_domain} [{received_ip}])\r\n"
        "\tby mx.reader.test with ESMTPS id 1; Fri, 04 Dec 2026 01:00:00 +0000\r\n"
        f"From: Alice <alice@{from_domain}>\r\n"
        "To: bob@reader.test\r\n"
        "Subject: quarterly figures\r\n"
        f"Message-ID: <1@{from_domain}>\r\n"
        "Date: Fri, 04 Dec 2026 01:00:00 +0000\r\n"
        "\r\n"
        "The figures are in the shared folder.\r\n"
    ).encode()


def signed(raw: bytes, domain: str = "example.org", selector: str = "sel1") -> bytes:
    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    return (
        dkim.sign(
            raw, selector.encode(), domain.encode(), PRIVATE, include_headers=headers
        )
        + raw
    )


def records(entries: dict) -> RecordCache:
    return RecordCache(
        {k: {"TXT": v} if isinstance(v, list) else v for k, v in entries.items()},
        "test records",
    )


def authentication(raw: bytes, source: RecordCache, **lookups):
    facts = parse_message(raw)
    facts = replace(facts, verification=verify(raw, facts, source))
    entity = EntityRef(EntityType.MESSAGE, facts.sha256)
    result = REGISTRY["authentication"].run(
        AnalyzerContext(facts, entity, Lookups(**lookups))
    )
    return facts.verification, {f.code: f for f in result.findings}


def test_a_good_signature_verifies_and_aligns():
    source = records({"sel1._domainkey.example.org": [PUBLIC]})
    verification, found = authentication(signed(message()), source)
    assert [c.result for c in verification.dkim] == ["pass"]
    assert "dkim-pass" in found and "dmarc-aligned" in found
    assert "checked by heron against test records" in found["dkim-pass"].summary


def test_a_changed_body_breaks_the_signature():
    raw = signed(message()).replace(b"shared folder", b"attached invoice")
    source = records({"sel1._domainkey.example.org": [PUBLIC]})
    verification, found = authentication(raw, source)
    assert verification.dkim[0].result == "fail"
    assert found["dmarc-unaligned"].severity is Severity.LOW


def test_a_key_the_records_do_not_hold_could_not_be_checked():
    verification, found = authentication(signed(message()), records({}))
    assert verification.dkim[0].result == "temperror"
    assert "sel1._domainkey.example.org" in verification.unknown
    # Nothing heron could check, and no header: heron says so, and judges nothing.
    assert set(found) == {"could-not-check"}
    assert "sel1._domainkey.example.org" in found["could-not-check"].summary


def test_strict_alignment_from_the_dmarc_record_refuses_a_subdomain_signature():
    raw = signed(message(), domain="mail.example.org")
    keys = {"sel1._domainkey.mail.example.org": [PUBLIC]}
    relaxed = records({**keys, "_dmarc.example.org": ["v=DMARC1; p=reject"]})
    _, found = authentication(raw, relaxed)
    assert "dmarc-aligned" in found
    strict = records({**keys, "_dmarc.example.org": ["v=DMARC1; p=reject; adkim=s"]})
    _, found = authentication(raw, strict)
    failure = found["dmarc-unaligned"]
    assert failure.severity is Severity.MEDIUM
    assert "strict" in failure.summary and "p=reject" in failure.summary


def test_a_signature_of_another_domain_does_not_align():
    raw = signed(message(), domain="mailer.test")
    source = records(
        {
            "sel1._domainkey.mailer.test": [PUBLIC],
            "_dmarc.example.org": ["v=DMARC1; p=quarantine"],
        }
    )
    verification, found = authentication(raw, source)
    assert verification.dkim[0].result == "pass"
    assert found["dmarc-unaligned"].severity is Severity.MEDIUM
    assert "only mailer.test authenticated" in found["dmarc-unaligned"].summary


def test_spf_is_checked_for_the_sending_hop_and_the_envelope_domain():
    allowed = records({"example.org": ["v=spf1 ip4:93.184.216.0/24 -all"]})
    verification, found = authentication(message(), allowed)
    assert verification.spf.result == "pass" and verification.spf.ip == SENDER_IP
    assert "dmarc-aligned" in found
    refused = records({"example.org": ["v=spf1 ip4:198.51.100.0/24 -all"]})
    verification, found = authentication(message(), refused)
    assert verification.spf.result == "fail"
    assert found["spf-fail"].severity is Severity.MEDIUM


def test_spf_follows_includes_and_mx_from_the_records():
    source = records(
        {
            "example.org": ["v=spf1 include:_spf.example.org mx -all"],
            "_spf.example.org": ["v=spf1 ip4:10.0.0.0/8 -all"],
        }
    )
    # The include does not match and example.org has no MX: nothing allows the ip.
    verification, _ = authentication(message(), source)
    assert verification.spf.result == "fail"
    unknown = records({"example.org": ["v=spf1 include:_spf.elsewhere.test -all"]})
    verification, _ = authentication(message(), unknown)
    assert verification.spf.result == "temperror"
    assert "_spf.elsewhere.test TXT" in verification.unknown
    source = records(
        {
            "example.org": {"TXT": ["v=spf1 mx -all"], "MX": ["10 mail.example.org."]},
            "mail.example.org": {"A": [SENDER_IP]},
        }
    )
    verification, _ = authentication(message(), source)
    assert verification.spf.result == "pass"


def test_the_arc_chain_is_read_verified_and_a_trusted_sealer_can_vouch():
    # A list checked the message on arrival (a pass), added its footer, which breaks
    # the DKIM signature, and sealed what it saw with ARC.
    seen = (
        b"Authentication-Results: relay.test; dkim=pass header.d=example.org;"
        b" dmarc=pass header.from=example.org\r\n"
    )
    changed = signed(message()).replace(
        b"shared folder.\r\n", b"shared folder.\r\n-- list footer\r\n"
    )
    seal = dkim.arc_sign(
        seen + changed,
        b"arc1",
        b"relay.test",
        PRIVATE,
        b"relay.test",
        include_headers=[b"from", b"to", b"subject"],
    )
    raw = b"".join(seal) + changed
    source = records(
        {
            "sel1._domainkey.example.org": [PUBLIC],
            "arc1._domainkey.relay.test": [PUBLIC],
            "_dmarc.example.org": ["v=DMARC1; p=reject"],
        }
    )
    sets = read_arc(parse_message(raw).headers)
    assert [(s.instance, s.sealer) for s in sets] == [(1, "relay.test")]
    verification, found = authentication(raw, source)
    assert verification.dkim[0].result == "fail"
    assert verification.arc.result == "pass", verification.arc.reason
    assert "ARC chain of 1 set(s)" in found["arc-chain"].summary
    assert found["dmarc-unaligned"].severity is Severity.MEDIUM  # no sealer trusted
    _, trusted = authentication(raw, source, trusted_arc_sealers=("relay.test",))
    assert "dmarc-unaligned" not in trusted
    assert "relay.test" in trusted["dmarc-pass-by-arc"].summary
    # A seal by anyone else vouches for nothing.
    _, other = authentication(raw, source, trusted_arc_sealers=("other.test",))
    assert "dmarc-unaligned" in other


def test_without_a_record_source_the_arc_headers_are_read_unverified():
    raw = (
        b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=relay.test; s=arc1; b=AAAA\r\n"
        b"ARC-Authentication-Results: i=1; relay.test; dmarc=pass\r\n"
        b"Authentication-Results: mx.reader.test; spf=fail smtp.mailfrom=example.org\r\n"
        + message()
    )
    facts = parse_message(raw)
    entity = EntityRef(EntityType.MESSAGE, facts.sha256)
    result = REGISTRY["authentication"].run(AnalyzerContext(facts, entity, Lookups()))
    arc = next(f for f in result.findings if f.code == "arc-chain")
    assert "not verified" in arc.summary and "relay.test" in arc.summary


def test_a_hostile_signature_header_is_a_permerror_not_a_crash():
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; b=!!!; bh=???\r\n" + message()
    verification, _ = authentication(raw, records({}))
    assert verification.dkim[0].result in ("permerror", "fail")


def test_records_files_are_read_and_bad_ones_refused(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(
        json.dumps({"Example.ORG.": ["v=spf1 -all"], "a.test": {"A": ["192.0.2.1"]}})
    )
    cache = RecordCache.from_file(path)
    assert cache.lookup("example.org", "TXT") == ["v=spf1 -all"]
    assert cache.lookup("a.test", "MX") == []
    assert cache.lookup("unknown.test", "TXT") is None
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        RecordCache.from_file(path)
    path.write_text(json.dumps({"a.test": {"SRV": ["x"]}}))
    with pytest.raises(ConfigError, match="a.test"):
        RecordCache.from_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        RecordCache.from_file(tmp_path / "missing.json")


def test_resolver_addresses_are_read_and_bad_ones_refused():
    assert ResolverRecords("192.0.2.53:5353").origin == "resolver 192.0.2.53:5353"
    ResolverRecords("[2001:db8::53]:53")
    with pytest.raises(ConfigError, match="HERON_DNS_RESOLVER"):
        record_source(None, "192.0.2.53:notaport")
    assert record_source(None, "") is None


def test_an_investigation_uses_the_configured_records_file(settings, tmp_path):
    from heron.engine import views
    from heron.engine.service import Heron

    path = tmp_path / "records.json"
    path.write_text(
        json.dumps(
            {
                "sel1._domainkey.example.org": [PUBLIC],
                "_dmarc.example.org": ["v=DMARC1; p=reject; adkim=s"],
            }
        )
    )
    heron = Heron(replace_settings(settings, dns_records=path))
    try:
        heron.report(signed(message()), reporter="bob@reader.test", unwrap=False)
        [investigation_id] = heron.process()
        with heron.store.session() as session:
            detail = views.investigation_detail(session, investigation_id)
    finally:
        heron.close()
    [message_entity] = [e for e in detail["entities"] if e["type"] == "message"]
    summaries = [f["summary"] for f in message_entity["findings"]]
    assert any("DMARC passes" in s and "strict" in s for s in summaries), summaries
    assert any("checked by heron against" in s for s in summaries)


def replace_settings(settings, **changes):
    return settings.model_copy(update=changes)


def test_spf_is_checked_from_a_documentation_address_when_no_public_one_is_there():
    source = records({"example.org": ["v=spf1 ip4:192.0.2.0/24 -all"]})
    verification, found = authentication(message(received_ip="192.0.2.25"), source)
    assert verification.spf is not None and verification.spf.result == "pass"
    assert "dmarc-aligned" in found


def test_a_subdomain_without_a_record_is_governed_by_its_parents():
    raw = signed(message(from_domain="news.example.org"), domain="example.org")
    source = records(
        {
            "sel1._domainkey.example.org": [PUBLIC],
            "_dmarc.example.org": ["v=DMARC1; p=reject; adkim=s; aspf=s"],
        }
    )
    verification, found = authentication(raw, source)
    assert verification.dmarc is not None and verification.dmarc.domain == "example.org"
    assert "_dmarc.news.example.org" in verification.unknown
    failure = found["dmarc-unaligned"]
    assert "strict alignment" in failure.summary and "p=reject" in failure.summary


def test_a_resolver_that_does_not_answer_is_asked_once_then_rested():
    import socket
    import time

    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    quiet.bind(("127.0.0.1", 0))  # takes queries, never answers
    try:
        resolver = ResolverRecords(f"127.0.0.1:{quiet.getsockname()[1]}", timeout=0.3)
        started = time.monotonic()
        assert resolver.lookup("example.org", "TXT") is None
        assert resolver.lookup("example.net", "TXT") is None
        assert time.monotonic() - started < 1.5  # the second was not asked
    finally:
        quiet.close()


def test_an_empty_records_setting_means_no_file(monkeypatch, tmp_path):
    from heron.config import load_settings

    monkeypatch.setenv("HERON_HOME", str(tmp_path))
    monkeypatch.setenv("HERON_DNS_RECORDS", "")
    assert load_settings().dns_records is None


def test_a_spoof_whose_envelope_domain_the_records_lack_still_fails_dmarc():
    raw = message(from_domain="example.org", envelope="bounce@attacker.test")
    source = records({"_dmarc.example.org": ["v=DMARC1; p=reject"]})
    verification, found = authentication(raw, source)
    assert verification.spf.result == "temperror"
    failure = found["dmarc-unaligned"]
    assert failure.severity is Severity.MEDIUM and "p=reject" in failure.summary


def test_a_signature_of_part_of_the_body_is_named():
    raw = message()
    headers = [b"from", b"to", b"subject"]
    signature = dkim.sign(
        raw, b"sel1", b"example.org", PRIVATE, include_headers=headers, length=True
    )
    appended = signature + raw + b"Pay the new account: NL00 EVIL 0000 0000 00\r\n"
    source = records({"sel1._domainkey.example.org": [PUBLIC]})
    verification, found = authentication(appended, source)
    assert verification.dkim[0].result == "pass"
    assert found["dkim-partial-body"].severity is Severity.LOW


def test_signatures_past_the_tenth_are_named_unchecked():
    bogus = b"".join(
        b"DKIM-Signature: v=1; a=rsa-sha256; d=other%d.test; s=s; h=from; bh=AA==; b=AA==\r\n"
        % n
        for n in range(12)
    )
    verification, found = authentication(bogus + message(), records({}))
    assert [c.result for c in verification.dkim].count("skipped") == 2
    # Nothing could be checked, so the message is not judged on these.
    assert set(found) == {"could-not-check"}


def test_an_arc_chain_longer_than_the_rfc_allows_is_not_verified():
    sets = b"".join(
        b"ARC-Seal: i=%d; a=rsa-sha256; cv=pass; d=relay.test; s=arc1; b=AA==\r\n" % n
        for n in range(1, 60)
    )
    verification, _ = authentication(sets + message(), records({}))
    assert (
        verification.arc.result == "fail" and "59 ARC sets" in verification.arc.reason
    )


def test_hostile_records_files_are_configuration_errors(tmp_path):
    path = tmp_path / "records.json"
    for text in ("[" * 100_000, '{"a.test": [' + "9" * 5000 + "]}"):
        path.write_text(text)
        with pytest.raises(ConfigError, match="not JSON"):
            RecordCache.from_file(path)
    path.write_text(json.dumps({"Example.ORG.": ["v=spf1 -all"], "example.org": ["x"]}))
    assert RecordCache.from_file(path).lookup("example.org", "TXT") == [
        "v=spf1 -all",
        "x",
    ]
