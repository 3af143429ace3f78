"""Sieve forwarding analysis, the Postfix access map, and reading credentials."""

from __future__ import annotations

import os

import pytest

from heron.config import PostfixSettings, load_settings
from heron.connectors import sieve
from heron.connectors.postfix import PostfixConnector
from heron.connectors.secrets import read_secret
from heron.errors import ConfigError, ConnectorError

ORG = frozenset({"example.org"})
SCRIPT = """require ["fileinto", "copy"];
# my rules
if header :contains "subject" "invoice" {
    redirect :copy "me@home.test";
}
redirect "team@sales.example.org";
redirect "drop@evil.test";
fileinto "Archive";
"""


def test_sieve_forwards_are_found_and_only_outside_ones_turned_off():
    rules = sieve.forwards("ann@example.org", "main", SCRIPT, ORG, active=True)
    assert [r.targets[0] for r in rules] == [
        "me@home.test",
        "team@sales.example.org",
        "drop@evil.test",
    ]
    assert [bool(r.external) for r in rules] == [True, False, True]
    assert rules[0].keeps_copy and not rules[2].keeps_copy
    text, changed = sieve.without_external_forwards("main", SCRIPT, ORG)
    assert changed == 2
    assert "home.test" not in text and "evil.test" not in text
    assert 'redirect "team@sales.example.org";' in text
    assert "keep;" in text and 'fileinto "Archive";' in text
    assert sieve.without_external_forwards("main", text, ORG) == (text, 0)


def test_a_sieve_target_heron_cannot_read_counts_as_outside():
    assert sieve.is_external("${target}", ORG)
    assert sieve.is_external("nobody", ORG)
    assert not sieve.is_external("a@EXAMPLE.org", ORG)


def test_a_script_sievelib_cannot_parse_still_shows_its_redirects():
    # Dovecot knows the subaddress extension's :detail; sievelib's parser does not.
    script = (
        'require ["subaddress"];\n'
        'if address :detail "to" "x" { redirect "drop@evil.test"; }\n'
        'redirect :copy "desk@example.org";\n'
    )
    rules = sieve.forwards("a@example.org", "odd", script, ORG, active=True)
    assert [(r.targets, bool(r.external)) for r in rules] == [
        (("drop@evil.test",), True),
        (("desk@example.org",), False),
    ]
    assert "found by its shape" in rules[0].description
    assert sieve.has_external_forwards("odd", script, ORG)
    with pytest.raises(ConnectorError, match="cannot be read"):
        sieve.without_external_forwards("odd", script, ORG)


def test_routing_hops_in_a_local_part_count_as_outside():
    assert sieve.is_external("evil%evil.test@example.org", ORG)
    assert sieve.is_external("evil.test!evil@example.org", ORG)


def test_a_multi_line_redirect_target_is_read():
    script = "redirect text:\ndesk@example.org\n.\n;\n"
    (rule,) = sieve.forwards("a@example.org", "t", script, ORG, active=True)
    assert rule.targets == ("desk@example.org",) and not rule.external


def test_postfix_map_lines_are_heron_s_own_and_undo_leaves_others(tmp_path):
    access = tmp_path / "sender_access"
    access.write_text("spam.test REJECT set by hand\n")
    connector = PostfixConnector(
        PostfixSettings(
            type="postfix", name="mx", access_map=access, postmap="true", reload=False
        )
    )
    assert connector.block("sender", "Bad@Evil.test", "action 3").status.value == "done"
    assert connector.block("sender", "bad@evil.test", "again").status.value == (
        "already in destination"
    )
    assert "bad@evil.test REJECT heron: action 3" in access.read_text()
    assert connector.unblock("sender", "bad@evil.test").status.value == "done"
    assert connector.unblock("domain", "spam.test").status.value == "not found"
    assert access.read_text() == "spam.test REJECT set by hand\n"
    with pytest.raises(ConnectorError, match="not a sender"):
        connector.block("sender", "a b@evil.test\nOK", "x")


def test_a_failing_postmap_is_reported_and_the_map_left_as_it_was(tmp_path):
    connector = PostfixConnector(
        PostfixSettings(
            type="postfix",
            name="mx",
            access_map=tmp_path / "map",
            postmap="false",
            reload=False,
        )
    )
    (tmp_path / "map").write_text("old.test REJECT by hand\n")
    with pytest.raises(ConnectorError, match="exited 1"):
        connector.block("domain", "evil.test", "x")
    assert (tmp_path / "map").read_text() == "old.test REJECT by hand\n"
    with pytest.raises(ConnectorError, match="not a sender"):
        connector.block("sender", "a\x00b@evil.test", "x")


def test_secrets_come_from_the_environment_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SECRET", " s3cret\n")
    assert read_secret("lab", "LAB_SECRET", None) == "s3cret"
    with pytest.raises(ConfigError, match="NOT_SET_HERE is not set"):
        read_secret("lab", "NOT_SET_HERE", None)
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    os.chmod(secret, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret("lab", "", secret)
    os.chmod(secret, 0o600)
    assert read_secret("lab", "", secret) == "from-file"
    with pytest.raises(ConfigError, match="password_env or password_file"):
        read_secret("lab", "", None)


def test_plaintext_imap_needs_an_explicit_allowance(tmp_path, monkeypatch):
    monkeypatch.setenv("HERON_HOME", str(tmp_path))
    plain = {
        "type": "dovecot",
        "name": "lab",
        "master_user": "admin",
        "imap_tls": "none",
        "password_env": "X",
    }
    with pytest.raises(ConfigError, match="allow_plaintext"):
        load_settings(connectors=[plain])
    assert load_settings(connectors=[{**plain, "imap_tls": "starttls"}]).connectors
    with pytest.raises(ConfigError, match="used twice"):
        load_settings(connectors=[{**plain, "imap_tls": "starttls"}] * 2)
