"""The shared corpus of real mail: phish, ham and malformed messages.

Every file must parse without an exception; every malformed file must give at
least one warning unless it is listed below with the reason it parses cleanly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from heron.errors import MailParseError
from heron.mail.facts import MessageFacts
from heron.mail.parse import parse_message

pytestmark = pytest.mark.corpus

# Malformed-corpus files that heron reads without a warning, and why that is right.
CLEAN_MALFORMED = {
    # Legal structures that other parsers once got wrong:
    "flanker__dashed-boundaries.eml": "boundaries full of dashes are legal",
    "flanker__message-external-body.eml": "message/external-body is kept as a part",
    "flanker__torture-part.eml": "deep but well-formed MIME torture test",
    "james-mime4j__mimetools-testmsgs__double-bound.eml": "repeated boundary lines "
    "yield empty parts, which is legal",
    "james-mime4j__testmsgs__multipartdigestnestedemptyparts.eml": "empty digest "
    "parts are legal",
    "rspamd__alternative-nested-rfc822.eml": "rfc822 inside alternative is legal",
    "rspamd__sa_full_boundary.eml": "boundary text repeated in a body is legal",
    "mail__mime_emails__raw_email_with_illegal_boundary.eml": "the boundary is "
    "unquoted but holds only legal characters",
    "mail__mime_emails__raw_email_encoded_stack_level_too_deep.eml": "crashed a Ruby "
    "decoder; valid quoted-printable words",
    "mail__mime_emails__raw_email_with_mimepart_without_content_type.eml": "a part "
    "without Content-Type is text/plain by RFC 2045",
    "mail__mime_emails__two_from_in_message.eml": "the second From is in the body",
    "mail-parser__mail_malformed_2.eml": "delivery report whose odd parts are legal",
    # Content that is unusual but not a defect:
    "flanker__bounce__broken-mime.eml": "bounce text quoting MIME headers in a body",
    "james-mime4j__mimetools-testmsgs__multi-2evil.eml": "hostile filenames are "
    "judged by analyzers, not the parser",
    "james-mime4j__mimetools-testmsgs__uu-junk.eml": "uuencoded text inside a plain "
    "part is just text",
    "mail__error_emails__cant_parse_from.eml": "a From that the original library "
    "could not read is valid",
    "mail__error_emails__content_transfer_encoding_x_uuencode.eml": "x-uuencode is "
    "decoded",
    "mail__error_emails__encoding_madness.eml": "8-bit headers that are valid UTF-8 "
    "(RFC 6532)",
    "mail__error_emails__new_line_in_to_header.eml": "folded To header is legal",
    "mail__error_emails__weird_to_header.eml": "empty list element in To is legal",
    "rspamd__empty-plain-text.eml": "an empty body is legal",
    "rspamd__empty_part.eml": "an empty part is legal",
    "rspamd__mid_eai_utf8.eml": "UTF-8 Message-ID is legal under RFC 6532",
    "spamassassin__nice__crlf-endings.eml": "CRLF line endings are the standard",
    "spamassassin__nice__mime2.eml": "a single audio part is legal",
    "spamassassin__nice__no_body.eml": "a message with no body is legal",
    "spamassassin__spam__badctype2.eml": "HTML-looking text in text/html is legal",
    "spamassassin__spam__badmime.eml": "spam whose MIME is in fact well formed",
    "spamassassin__spam__utf16.eml": "UTF-16 bodies are decoded",
    "flanker__no-ctype.eml": "no Content-Type means text/plain by RFC 2045",
}


# Files that are not mail at all: parse_message refuses them with MailParseError,
# which the command line reports as a failed line with the reason as its warning.
NOT_MAIL = {
    "james-mime4j__testmsgs__malformedHeader-noheader.eml": "no header line at all",
}


def corpus_files(corpus_dir: Path, kind: str) -> list[Path]:
    return sorted(p for p in (corpus_dir / "eml" / kind).iterdir() if p.is_file())


def parse(path: Path) -> MessageFacts:
    return parse_message(path.read_bytes())


@pytest.mark.parametrize("kind", ["phish", "ham", "malformed"])
def test_every_corpus_file_parses(corpus_dir: Path, kind: str) -> None:
    for path in corpus_files(corpus_dir, kind):
        if path.name in NOT_MAIL:
            with pytest.raises(MailParseError):
                parse(path)
            continue
        assert isinstance(parse(path), MessageFacts), path.name


def test_malformed_files_warn_or_are_explained(corpus_dir: Path) -> None:
    silent = [
        path.name
        for path in corpus_files(corpus_dir, "malformed")
        if path.name not in NOT_MAIL and not parse(path).all_warnings()
    ]
    assert sorted(set(silent) - set(CLEAN_MALFORMED)) == []


def test_allow_list_names_only_files_that_exist_and_parse_cleanly(
    corpus_dir: Path,
) -> None:
    folder = corpus_dir / "eml" / "malformed"
    for name in CLEAN_MALFORMED:
        assert (folder / name).is_file(), name
        assert parse(folder / name).all_warnings() == [], name


def test_ham_msg_files_give_subject_and_sender(corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "eml" / "ham").glob("*.msg"))
    assert len(files) == 3
    for path in files:
        facts = parse(path)
        assert facts.format == "msg" and facts.subject, path.name
        assert facts.from_ is not None and "@" in facts.from_.address, path.name


def test_known_phish_gives_urls(corpus_dir: Path) -> None:
    phish = corpus_files(corpus_dir, "phish")
    with_urls = [path for path in phish if parse(path).urls]
    assert len(with_urls) > len(phish) // 2
