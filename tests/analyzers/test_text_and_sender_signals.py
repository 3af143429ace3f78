"""What the text says and who the sender claims to be: each signal on a small message
written for it, and the ordinary message it must leave alone."""

from heron.analyzers import lexicon
from heron.domain.verdicts import Severity
from heron.mail.parse import parse_message
from tests.analyzers.test_analyzers import codes, run
from tests.factories import address, attachment, facts, url


def test_several_advance_fee_phrases_are_medium_and_one_is_nothing():
    scam = facts(
        text_body="Dear friend, this may come to you as a surprise. My late husband "
        "left US$4,500,000 and I solicit your assistance to claim the funds."
    )
    found = run("content", scam).findings
    fee = next(f for f in found if f.code == "advance-fee")
    assert fee.severity is Severity.MEDIUM
    assert "my late husband" in fee.details["phrases"]
    ordinary = facts(text_body="Dear friend, see you at the meeting on Monday.")
    assert "advance-fee" not in codes(run("content", ordinary))


def test_a_plea_to_answer_at_a_free_mailbox_is_medium():
    message = facts(
        from_=address("clerk@agency.test"),
        text_body="I have been trying to reach you. Email me for details: "
        "lady.m@gmail.com",
    )
    assert codes(run("content", message))["reply-elsewhere"] is Severity.MEDIUM


def test_a_list_footer_address_is_no_plea():
    message = facts(
        from_=address("someone@gmail.com"),
        text_body="To unsubscribe send an email to users-leave@lists.example.org",
    )
    assert "reply-elsewhere" not in codes(run("content", message))


def test_lookalike_letters_in_the_subject_are_found_but_accents_are_not():
    cyrillic = facts(subject="Your Am\u0430zon acc\u043eunt is on hold")
    found = next(
        f for f in run("content", cyrillic).findings if f.code == "disguised-word"
    )
    assert found.details["reads_as"] == "amazon"
    capital_i = facts(subject="Notification about your PayPaI account")
    assert "disguised-word" in codes(run("content", capital_i))
    accented = facts(
        subject="Réunion avec Müller à Zürich", from_=address("a@b.test", "Ærøskøbing")
    )
    assert "disguised-word" not in codes(run("content", accented))


def test_an_account_threat_is_medium_in_several_languages():
    for text in (
        "Your account has been temporarily suspended.",
        "Su cuenta ha sido restringida.",
        "Ihr Konto wurde gesperrt.",
        "お客様のアカウントは停止されました",
    ):
        assert codes(run("content", facts(text_body=text)))["account-threat"] is (
            Severity.MEDIUM
        ), text


def test_japanese_requests_to_update_payment_details_are_credential_requests():
    message = facts(text_body="お支払い方法を更新してください")
    assert "credential-request" in codes(run("content", message))


def test_spam_topics_weigh_more_when_the_message_dwells_on_them():
    once = codes(run("content", facts(text_body="Poker night on Friday?")))
    assert once["spam-topic"] is Severity.LOW
    dwelling = codes(
        run(
            "content",
            facts(subject="Casino bonus", text_body="150 free spins, jackpot"),
        )
    )
    assert dwelling["spam-topic"] is Severity.MEDIUM
    assert "spam-topic" not in codes(
        run("content", facts(text_body="Slots in the PCI bus"))
    )


def test_a_bitcoin_address_and_crypto_money_are_low():
    address_only = facts(text_body="Pay to 1EHbEvWFkR3oY93EKym1bweaWUW2PKe6v9 today")
    assert codes(run("content", address_only))["bitcoin-address"] is Severity.LOW
    hexadecimal = facts(text_body="checksum 1abcdef2345abcdef2345abcdef2345a")
    assert "bitcoin-address" not in codes(run("content", hexadecimal))
    money = facts(text_body="Username: WITHDRAW FUNDS 121582 USDT")
    assert "crypto" in codes(run("content", money))


def test_words_broken_by_dots_in_the_subject_are_hidden_characters():
    message = facts(subject="URGENTE: S.eu e.spaço de a.rmazenamento está cheio")
    assert "hidden-characters" in codes(run("content", message))
    initials = facts(subject="Minutes from J.Smith, e.g. the budget")
    assert "hidden-characters" not in codes(run("content", initials))


def test_attached_in_words_with_nothing_attached_is_low():
    claim = facts(text_body="Hola, adjunto justificante de transferencia.")
    assert codes(run("content", claim))["missing-attachment"] is Severity.LOW
    with_file = facts(
        text_body="Please find attached the invoice.",
        attachments=(attachment("invoice.pdf", b"%PDF-1.4", "application/pdf"),),
    )
    assert "missing-attachment" not in codes(run("content", with_file))


def test_lure_words_in_an_attachment_name_are_read():
    message = facts(
        text_body="",
        attachments=(attachment("o ganhador da lottery 2025.docx"),),
    )
    assert "lure" in codes(run("content", message))


def test_a_free_mailbox_calling_itself_a_company_is_low_and_with_an_invoice_medium():
    named = facts(from_=address("karma1994@gmail.com", "Parcel Tracking Team"))
    assert codes(run("sender", named))["freemail-organisation"] is Severity.LOW
    invoice = facts(
        from_=address("chxy@gmail.com", "Manuel Nelson"),
        subject="Requested invoice BGYS",
        attachments=(attachment("invoice.pdf"),),
    )
    assert codes(run("sender", invoice))["freemail-organisation"] is Severity.MEDIUM
    person = facts(from_=address("ann@gmail.com", "Ann Example"), subject="Lunch?")
    assert "freemail-organisation" not in codes(run("sender", person))


def test_from_domains_anyone_can_take_are_findings():
    hosted = facts(from_=address("noreply@tommy-c75c8.firebaseapp.com"))
    assert codes(run("sender", hosted))["sender-free-hosting"] is Severity.MEDIUM
    dynamic = facts(from_=address("a@notefix.from-oh.com"))
    assert codes(run("sender", dynamic))["sender-dynamic-dns"] is Severity.LOW
    tenant = facts(from_=address("pepe@o1su91b.onmicrosoft.com"))
    assert "sender-default-tenant" in codes(run("sender", tenant))
    server = facts(from_=address("cfdi@vps-e0fc7fe3.vps.ovh.net"))
    assert "sender-server-name" in codes(run("sender", server))


def test_a_brand_beside_an_invoice_in_the_subject_from_elsewhere_is_low():
    fake = facts(
        from_=address("team@bundavivi.test"),
        subject="Your Norton Invoice - Order Confirmation",
    )
    assert codes(run("sender", fake))["brand-in-subject"] is Severity.LOW
    real = facts(from_=address("billing@norton.com"), subject="Your Norton invoice")
    assert "brand-in-subject" not in codes(run("sender", real))


def test_re_without_a_thread_is_a_fake_reply():
    fake = facts(subject="RE: 2nd attempt for alice@example.org")
    assert codes(run("sender", fake))["fake-reply"] is Severity.LOW
    real = facts(subject="Re: minutes", headers=(("In-Reply-To", "<a@b.test>"),))
    assert "fake-reply" not in codes(run("sender", real))


def test_brands_written_in_japanese_split_apart_or_behind_a_list_are_named():
    for name, domain in (
        ("ヨドバシ・ドット・コム", "xfuxxbge.cn"),
        ("D/H/L-verzending", "duringfell.test"),
        ("ING via Osst-users", "lists.sourceforge.net"),
    ):
        message = facts(from_=address(f"notice@{domain}", name))
        assert "brand-impersonation" in codes(run("sender", message)), name


def test_a_department_name_from_outside_the_recipients_domain_is_impersonation():
    outside = facts(
        from_=address("hr@alsermarines.test", "HR Department"),
        to=(address("staff@example.org"),),
    )
    assert "brand-impersonation" in codes(run("sender", outside))
    inside = facts(
        from_=address("hr@example.org", "HR Department"),
        to=(address("staff@example.org"),),
    )
    assert "brand-impersonation" not in codes(run("sender", inside))


def test_a_name_split_from_its_address_by_a_comma_is_the_display_name():
    raw = (
        b"From: iCloud Stockage,<renew@sportpark.test>\r\nTo: a@example.org\r\n"
        b"Subject: storage\r\n\r\nbody\r\n"
    )
    message = parse_message(raw)
    assert message.from_ is not None
    assert message.from_.address == "renew@sportpark.test"
    assert message.from_.display_name == "iCloud Stockage"


def test_a_link_showing_the_readers_own_domain_is_medium_and_a_click_tracker_is_not():
    own_domain = facts(
        to=(address("staff@example.org"),),
        urls=(url("https://evil.test/login", "html", anchor_text="mail.example.org"),),
    )
    assert codes(run("links", own_domain))["anchor-mismatch"] is Severity.MEDIUM
    tracker = facts(
        from_=address("news@online.test"),
        urls=(
            url("http://clickthru.online.test/Click?q=ab12", "html", "www.buy.test"),
        ),
    )
    assert codes(run("links", tracker))["anchor-mismatch"] is Severity.INFORMATIONAL


def test_the_readers_address_in_a_link_to_the_senders_own_site_is_no_finding():
    own = facts(
        from_=address("support@avertinoo.test"),
        to=(address("alice@example.org"),),
        urls=(url("http://avertinoo.test/mailing.cgi?A=alice@example.org"),),
    )
    assert "recipient-in-link" not in codes(run("links", own))
    elsewhere = facts(
        from_=address("support@avertinoo.test"),
        to=(address("alice@example.org"),),
        urls=(url("https://kit.test/index.php?email=alice@example.org"),),
    )
    assert "recipient-in-link" in codes(run("links", elsewhere))


def test_symantec_click_time_links_are_unwrapped():
    from heron.domain.rewriters import unwrap

    target, name = unwrap(
        "https://clicktime.symantec.com/39e8TeB?u=http%3A%2F%2Fwww.pyramid.test%2F"
    )
    assert target == "http://www.pyramid.test/"
    assert "Symantec" in name


def test_reply_to_the_mailing_list_itself_is_no_mismatch():
    message = facts(
        from_=address("poster@pchome.test"),
        reply_to=(address("talk@lists.example.test"),),
        headers=(("List-Post", "<mailto:talk@lists.example.test>"),),
    )
    assert "reply-to-mismatch" not in codes(run("sender", message))


def test_a_delivery_report_is_not_urgent_for_saying_action_required():
    report = facts(
        text_body="Action Required: recipient unknown",
        headers=(("Content-Type", 'multipart/report; report-type="delivery-status"'),),
    )
    assert "urgency" not in codes(run("content", report))
    assert "urgency" in codes(run("content", facts(text_body="Action required now")))


def test_a_subject_read_in_the_wrong_charset_hides_nothing():
    subject = "[talk] \xb9d\xc3\xfb6\xa4\xeb17 \xd0\xad\xec\xbd \xc6\xad\xc6\xb1"
    assert lexicon.hidden_between_letters(subject) >= 2  # what the guard must ignore
    mojibake = facts(subject=subject)
    assert "hidden-characters" not in codes(run("content", mojibake))


def test_names_of_one_organisation_are_related_and_free_mailboxes_are_not():
    from heron.domain.names import related

    assert related("fool.com", "motleyfool.com")
    assert related("mail.bank.test", "bank.test")
    assert not related("mail.com", "gmail.com")
    replies = facts(
        from_=address("jane@gmail.com"), reply_to=(address("jane@mail.com"),)
    )
    assert "reply-to-mismatch" in codes(run("sender", replies))


def test_a_newsletters_personalised_link_is_informational():
    many = tuple(url(f"https://news.test/item/{n}") for n in range(30))
    message = facts(
        from_=address("letters@online.test"),
        to=(address("alice@example.org"),),
        urls=(*many, url("http://nl.other.test/login?email=alice@example.org")),
    )
    found = codes(run("links", message))
    assert found["recipient-in-link"] is Severity.INFORMATIONAL


def test_cheap_top_level_domains_of_the_sender_and_symbols_in_link_hosts():
    envelope = facts(envelope_sender="no-reply@setupkeys.xyz")
    assert "sender-cheap-tld" in codes(run("sender", envelope))
    emoji = facts(urls=(url("http://xn--ls8h.example.test/"),))
    assert codes(run("links", emoji))["symbol-host"] is Severity.MEDIUM
    bucket = facts(urls=(url("https://outook.s3.us-east-1.amazonaws.com/msn/c.html"),))
    assert "free-hosting" in codes(run("links", bucket))


def test_a_display_name_naming_a_site_under_any_public_suffix_is_a_mismatch():
    message = facts(from_=address("info@interests.sa.test", "Mijnwooncomfort.nl"))
    assert "display-name-domain-mismatch" in codes(run("sender", message))
    initials = facts(from_=address("js@example.org", "J.Smith"))
    assert "display-name-domain-mismatch" not in codes(run("sender", initials))


def test_a_blind_mailing_that_greets_an_address_in_the_subject_is_personalised():
    message = facts(to=(), subject="user@example.org, special offer for you")
    assert "address-in-subject" in codes(run("content", message))


def test_names_sold_like_top_level_domains_are_cheap():
    message = facts(urls=(url("http://4.webrentals.eu.com/re418.php?32=1o16"),))
    assert "cheap-tld" in codes(run("links", message))
    plain = facts(urls=(url("https://www.example.com/"),))
    assert "cheap-tld" not in codes(run("links", plain))


def test_fwd_without_anything_forwarded_is_a_fake_forward():
    empty = facts(subject="Fwd:", text_body="1EHbEvWFkR3oY93EKym1bweaWUW2PKe6v9")
    assert codes(run("sender", empty))["fake-forward"] is Severity.LOW
    real = facts(
        subject="Fwd: minutes",
        text_body="---------- Forwarded message ---------\nFrom: Bob <b@x.test>",
    )
    assert "fake-forward" not in codes(run("sender", real))


def test_a_form_name_field_carrying_a_link_is_form_abuse():
    abused = facts(text_body="Username: www.iygkhc.blogspot.test - 91 453 USD BITFINEX")
    assert "form-abuse" in codes(run("content", abused))
    ordinary = facts(text_body="Username: jsmith\nTo set your password, visit the page")
    assert "form-abuse" not in codes(run("content", ordinary))


def test_the_organisations_host_lists_extend_herons_own():
    from heron.analyzers import Lookups
    from heron.analyzers.lexicon import HostLists

    message = facts(
        urls=(
            url("https://pages.own-host.test/login"),
            url("https://drop.files.test/get/1"),
            url("https://s.ho.test/x"),
            url("https://wetransfer.com/downloads/1"),
        )
    )
    before = {f.entity.value: f.code for f in run("links", message).findings}
    assert before["https://wetransfer.com/downloads/1"] == "file-sharing"
    assert before["https://pages.own-host.test/login"] == "link-ok"
    lists = HostLists.extended(["ho.test"], ["own-host.test"], ["files.test"])
    after = run("links", message, Lookups(host_lists=lists)).findings
    codes_by_url: dict[str, set[str]] = {}
    for finding in after:
        codes_by_url.setdefault(finding.entity.value, set()).add(finding.code)
    assert "free-hosting" in codes_by_url["https://pages.own-host.test/login"]
    assert "file-sharing" in codes_by_url["https://drop.files.test/get/1"]
    assert "shortener" in codes_by_url["https://s.ho.test/x"]


def test_an_address_or_a_comma_before_the_angle_address_is_only_a_name():
    for header, name in (
        (b"service@paypal.com <attacker@evil-billing.test>", "service@paypal.com"),
        (b"PayPal, Inc. <service@evil-billing.test>", "PayPal, Inc."),
    ):
        raw = b"From: " + header + b"\r\nTo: a@example.org\r\nSubject: s\r\n\r\nb\r\n"
        message = parse_message(raw)
        assert message.from_ is not None
        assert message.from_.address.endswith("@evil-billing.test"), header
        assert message.from_.display_name == name


def test_a_lure_after_padding_is_still_read_and_the_skipped_middle_named():
    padding = "hello there friend. " * 20_000
    message = facts(
        text_body=padding + "Verify your account password now or lose access."
    )
    found = codes(run("content", message))
    assert "credential-request" in found
    assert found["text-partly-read"] is Severity.INFORMATIONAL
