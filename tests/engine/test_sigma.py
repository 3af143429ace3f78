"""Sigma rules as custom alert policies, evaluated against audit records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heron.config import load_settings
from heron.engine import sigma, views
from heron.engine.service import Heron
from tests.ingest.test_audit import RULE

INBOX_RULE = """
title: Inbox rule that hides mail
id: 11111111-2222-3333-4444-555555555555
status: test
level: medium
logsource:
    service: audit
    product: m365
detection:
    selection:
        Operation:
            - 'New-InboxRule'
            - 'Set-InboxRule'
        Parameters|contains:
            - 'DeleteMessage'
            - 'MoveToFolder'
    filter:
        ResultStatus: 'False'
    condition: selection and not filter
"""


def policy(text: str, tmp_path: Path) -> sigma.SigmaPolicy:
    path = tmp_path / "rule.yml"
    path.write_text(text)
    (made,), skipped = sigma.load([path])
    assert skipped == []
    return made


def test_a_rule_fires_on_a_matching_record_and_not_on_a_near_miss(tmp_path):
    rule = policy(INBOX_RULE, tmp_path)
    assert rule.policy.name == "Inbox rule that hides mail"
    assert rule.policy.severity == "medium"
    assert rule.matches(RULE)  # New-InboxRule with DeleteMessage
    only_forward = {
        **RULE,
        "Parameters": [{"Name": "ForwardTo", "Value": "x@exfil.test"}],
    }
    assert not rule.matches(only_forward)
    assert not rule.matches({**RULE, "Operation": "Get-InboxRule"})
    assert not rule.matches({**RULE, "ResultStatus": "False"})  # the filter


def test_mapped_field_names_and_case(tmp_path):
    rule = policy(
        INBOX_RULE.replace(
            "        Operation:\n            - 'New-InboxRule'\n            - 'Set-InboxRule'\n",
            "        eventName|startswith: 'new-inbox'\n        eventSource: exchange\n",
        ),
        tmp_path,
    )
    assert rule.matches(RULE)
    assert not rule.matches({**RULE, "Workload": "SharePoint"})


def test_rules_heron_cannot_evaluate_are_listed_with_the_reason(tmp_path):
    windows = tmp_path / "windows.yml"
    windows.write_text(INBOX_RULE.replace("product: m365", "product: windows"))
    counted = tmp_path / "count.yml"
    counted.write_text(
        INBOX_RULE.replace("selection and not filter", "selection | count() > 5")
    )
    broken = tmp_path / "broken.yml"
    broken.write_text("title: [unclosed\n")
    rules, skipped = sigma.load([tmp_path])
    assert rules == []
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "not Microsoft 365" in reasons["windows.yml"]
    assert reasons["count.yml"] and reasons["broken.yml"]


@pytest.mark.corpus
def test_every_m365_rule_of_the_corpus_is_evaluated_or_listed(corpus):
    files = [
        p
        for p in sorted((corpus / "sigma").glob("*.yml"))
        if "product: m365" in p.read_text()
    ]
    assert len(files) == 21
    rules, skipped = sigma.load(files)
    assert len(rules) + len(skipped) == 21
    assert len(rules) >= 15
    assert all(s.reason for s in skipped)


@pytest.mark.corpus
def test_a_corpus_rule_raises_its_alert_from_an_ingested_record(
    settings, tmp_path, corpus, monkeypatch
):
    rule = (
        corpus / "sigma" / "rules-threat-hunting__cloud__m365__audit__"
        "microsoft365_susp_inbox_rule_creation_or_update_activity.yml"
    )
    heron = Heron(load_settings(**{**settings.model_dump(), "sigma_paths": [rule]}))
    try:
        records = tmp_path / "records.jsonl"
        records.write_text(json.dumps(RULE) + "\n")
        summary = heron.ingest_audit([records])
        assert summary.sigma_matches == 1
        touched = heron.process()
        with heron.store.session() as session:
            raised = {a["policy"]: a for a in views.list_alerts(session)}
        (title,) = [name for name in raised if "Inbox Rule" in name]
        assert raised[title]["investigation_id"] in touched
    finally:
        heron.close()


def test_a_backtracking_pattern_ends_and_status_maps_from_result_status(tmp_path):
    rule = policy(
        INBOX_RULE.replace(
            "        Operation:\n            - 'New-InboxRule'\n            - 'Set-InboxRule'\n",
            "        UserId|re: '^(a+)+$'\n",
        ),
        tmp_path,
    )
    hostile = {**RULE, "UserId": "a" * 40 + "!"}
    assert not rule.matches(hostile)  # ends: the pattern runs out of time
    status = policy(
        """
title: Restricted
level: high
logsource: {product: m365, service: threat_management}
detection:
    selection: {eventName: 'User restricted from sending email', status: success}
    condition: selection
""",
        tmp_path,
    )
    alert = {
        "Workload": "SecurityComplianceCenter",
        "Operation": "AlertTriggered",
        "Name": "User restricted from sending email",
        "Status": "Active",
        "ResultStatus": "Succeeded",
    }
    assert status.matches(alert)


def test_a_rule_naming_an_unknown_playbook_or_nested_too_deeply_is_listed(tmp_path):
    (tmp_path / "a.yml").write_text(INBOX_RULE + "heron_playbook: nowhere\n")
    (tmp_path / "b.yml").write_text(
        INBOX_RULE.replace("selection and not filter", "not " * 400 + "selection")
    )
    rules, skipped = sigma.load([tmp_path])
    assert rules == []
    reasons = " ".join(s.reason for s in skipped)
    assert "playbook heron does not have" in reasons
