"""The organisation's allow/block list: entries, precedence and the list file."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron.errors import ConfigError
from heron.intel.lists import ListEntry, OrgLists, read_list_file

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _lists(*lines: str) -> OrgLists:
    entries = []
    for line in lines:
        list_name, kind, value = line.split()
        entries.append(ListEntry(kind, value, list_name))
    return OrgLists(entries)


def _list_of(entry: ListEntry | None) -> str | None:
    return entry.list if entry else None


def test_entry_values_are_normalised() -> None:
    assert ListEntry("sender", "CEO@Example.ORG", "allow").value == "ceo@example.org"
    assert ListEntry("domain", "Evil.Test.", "block").value == "evil.test"
    assert ListEntry("ip", "192.0.2.9/24", "block").value == "192.0.2.0/24"


@pytest.mark.parametrize(
    ("kind", "value", "list_name"),
    [
        ("sender", "no-at-sign", "allow"),
        ("domain", "not a domain", "block"),
        ("sha256", "abc", "block"),
        ("ip", "999.1.1.1", "block"),
        ("colour", "red", "block"),
        ("domain", "evil.test", "maybe"),
    ],
)
def test_entry_with_bad_kind_list_or_value_raises_value_error(
    kind: str, value: str, list_name: str
) -> None:
    with pytest.raises(ValueError):
        ListEntry(kind, value, list_name)


def test_sender_entry_beats_its_domain() -> None:
    lists = _lists("block domain example.org", "allow sender ceo@example.org")

    assert lists.match_sender("CEO@example.org") == ListEntry(
        "sender", "ceo@example.org", "allow"
    )
    assert _list_of(lists.match_sender("intern@example.org")) == "block"


def test_sender_matches_a_parent_domain_entry() -> None:
    lists = _lists("block domain evil.test")

    found = lists.match_sender("x@mail.eu.evil.test")

    assert found is not None and found.value == "evil.test"


def test_nearer_domain_beats_parent_domain() -> None:
    lists = _lists("block domain example.org", "allow domain mail.example.org")

    assert _list_of(lists.match_domain("a.mail.example.org")) == "allow"


def test_block_wins_at_equal_specificity() -> None:
    lists = _lists("allow domain example.org", "block domain example.org")

    assert _list_of(lists.match_domain("example.org")) == "block"


def test_url_exact_entry_beats_its_host() -> None:
    lists = _lists("block domain files.test", "allow url https://files.test/ok")

    assert _list_of(lists.match_url("HTTPS://Files.test/ok#x")) == "allow"
    assert _list_of(lists.match_url("https://cdn.files.test/bad")) == "block"


def test_url_with_ip_host_matches_ip_entries() -> None:
    lists = _lists("block ip 192.0.2.0/24")

    assert lists.match_url("http://192.0.2.8/x") is not None


def test_ip_matches_narrowest_network() -> None:
    lists = _lists("block ip 10.0.0.0/8", "allow ip 10.1.0.0/16")

    assert _list_of(lists.match_ip("10.1.2.3")) == "allow"
    assert _list_of(lists.match_ip("10.2.0.1")) == "block"
    assert lists.match_ip("not-an-ip") is None


def test_hash_matches_in_any_case() -> None:
    lists = _lists(f"block sha256 {SHA}")

    assert lists.match_hash(SHA.upper()) is not None
    assert lists.match_hash("0" * 64) is None


def test_decide_lets_a_blocked_url_win_over_an_allowed_sender() -> None:
    lists = _lists("allow sender partner@example.org", "block domain evil.test")

    found = lists.decide(sender="partner@example.org", urls=["http://evil.test/login"])

    assert found == ListEntry("domain", "evil.test", "block")


def test_decide_returns_allow_when_nothing_is_blocked_and_none_when_unlisted() -> None:
    lists = _lists("allow sender partner@example.org")

    assert lists.decide(sender="partner@example.org", ips=["192.0.2.1"]) is not None
    assert lists.decide(sender="else@example.net", sha256s=[SHA]) is None


def test_list_file_reads_entries_and_warns_on_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "org.list"
    path.write_text(
        "# organisation list\n"
        "block domain evil.test\n"
        "allow sender ceo@example.org   # the boss\n"
        "\n"
        "block domain\n"
        "permit domain good.test\n"
        "block ip 999.0.0.1\n"
    )

    entries, warnings = read_list_file(path)

    assert entries == [
        ListEntry("domain", "evil.test", "block"),
        ListEntry("sender", "ceo@example.org", "allow"),
    ]
    assert [w.where for w in warnings] == ["line 5", "line 6", "line 7"]
    assert all(w.feed == "org.list" for w in warnings)


def test_unreadable_list_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.list"):
        read_list_file(tmp_path / "missing.list")
