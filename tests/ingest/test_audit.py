"""Reading Microsoft 365 audit records: every shape, forgiving drift, and the
shared corpus's records."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from heron.ingest.audit import decode_nested, parse_audit, read_audit

RULE = {
    "CreationTime": "2026-11-02T08:00:00",
    "Id": "rule-1",
    "Operation": "New-InboxRule",
    "Workload": "Exchange",
    "UserId": "Ann@Example.org",
    "ClientIP": "198.51.100.7:51000",
    "Parameters": [
        {"Name": "ForwardTo", "Value": "collector@exfil.test"},
        {"Name": "Name", "Value": "tidy"},
        {"Name": "DeleteMessage", "Value": "True"},
    ],
}
FORWARD = {
    "CreationTime": "2026-11-02T08:05:00Z",
    "Id": "fwd-1",
    "Operation": "Set-Mailbox",
    "Workload": "Exchange",
    "UserId": "ann@example.org",
    "Parameters": [
        {"Name": "Identity", "Value": "ann@example.org"},
        {"Name": "ForwardingSmtpAddress", "Value": "smtp:drop@exfil.test"},
        {"Name": "DeliverToMailboxAndForward", "Value": "False"},
    ],
}


def test_an_array_json_lines_and_one_object_read_the_same():
    as_array = parse_audit(json.dumps([RULE, FORWARD]))
    as_lines = parse_audit(json.dumps(RULE) + "\n" + json.dumps(FORWARD) + "\n")
    single = parse_audit(json.dumps(RULE))
    for batch in (as_array, as_lines):
        assert [r.kind for r in batch.records] == [
            "inbox_rule.changed",
            "mailbox.forwarding_set",
        ]
    assert [r.id for r in single.records] == ["rule-1"]
    rule = as_array.records[0]
    assert rule.user == "ann@example.org" and rule.fields["ip"] == "198.51.100.7"
    assert rule.fields["forward_to"] == ["collector@exfil.test"]
    assert rule.fields["delete"] is True and rule.fields["rule"] == "tidy"
    forward = as_array.records[1]
    assert forward.fields["forward_to"] == ["drop@exfil.test"]
    assert forward.fields["keeps_copy"] is False


def test_the_audit_search_csv_export_is_read_from_its_audit_data_column():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
    writer.writerow(["2026-11-02", "ann", "New-InboxRule", json.dumps(RULE)])
    writer.writerow(["2026-11-02", "ann", "Set-Mailbox", '{"broken": '])
    batch = parse_audit(out.getvalue(), "export.csv")
    assert [r.id for r in batch.records] == ["rule-1"]
    assert any("export.csv:3" in w and "not JSON" in w for w in batch.warnings)


def test_drift_is_forgiven_and_said():
    lines = [
        json.dumps(RULE),
        json.dumps(RULE),  # the same record twice
        json.dumps({**RULE, "Id": "rule-2", "NewField": {"kept": True}})[:-20],  # cut
        json.dumps(
            {
                **RULE,
                "Id": "rule-3",
                "Parameters": json.dumps(RULE["Parameters"]),  # a JSON string
                "Surprise": ["x"],
            }
        ),
        "5",
        json.dumps({"neither": "shape"}),
    ]
    batch = parse_audit("\n".join(lines), "drift.jsonl")
    assert [r.id for r in batch.records] == ["rule-1", "rule-3"]
    assert batch.duplicates == 1
    assert batch.records[1].fields["forward_to"] == ["collector@exfil.test"]
    assert batch.records[1].raw["Surprise"] == ["x"]  # unknown fields kept
    text = "\n".join(batch.warnings)
    assert "drift.jsonl:3: not JSON" in text
    assert "not a record" in text and "not understood" in text
    assert "time without a zone; read as UTC" in text


def test_nested_strings_are_decoded_json_or_python_literals():
    assert decode_nested({"a": '{"b": "[1, 2]"}'}) == {"a": {"b": [1, 2]}}
    assert decode_nested("[{'Name': 'RuleId', 'Value': '-1'}]") == [
        {"Name": "RuleId", "Value": "-1"}
    ]
    assert decode_nested("[not json]") == "[not json]"
    assert decode_nested(["{", "}"]) == ["{", "}"]


def test_defender_streaming_records_and_their_times():
    record = {
        "time": "2026-11-02T08:00:00.1234567Z",
        "category": "AdvancedHunting-UrlClickEvents",
        "properties": {
            "ReportId": "r1",
            "Url": "https://salary-update.test/s/1",
            "AccountUpn": "Ann@example.org",
            "ActionType": "ClickAllowed",
            "Timestamp": "2026-11-02T07:59:59.9999999Z",
            "UrlChain": '["https://salary-update.test/s/1"]',
        },
    }
    (click,) = parse_audit(json.dumps(record)).records
    assert click.kind == "url.clicked" and click.source == "defender:UrlClickEvents"
    assert click.user == "ann@example.org"
    assert click.occurred_at.isoformat() == "2026-11-02T07:59:59.999999+00:00"
    assert click.raw["properties"]["UrlChain"] == ["https://salary-update.test/s/1"]


def audit_files(corpus: Path) -> list[Path]:
    folder = corpus / "audit"
    return sorted(folder.glob("*.jsonl")) + sorted(folder.glob("sekoia_*/*.json"))


def panther_logs(corpus: Path) -> list[dict]:
    """The records inside another tool's rule tests (Tests[].Log)."""
    logs = []
    for path in sorted((corpus / "audit" / "panther_rule_tests").glob("*.yml")):
        for test in yaml.safe_load(path.read_text()).get("Tests", []):
            if isinstance(test.get("Log"), dict):
                logs.append(test["Log"])
    return logs


@pytest.mark.corpus
def test_every_corpus_audit_record_is_read_and_counted(corpus):
    counts: Counter[str] = Counter()
    warnings = []
    duplicates = 0
    for path in audit_files(corpus):
        batch = read_audit(path)
        counts.update(batch.counts)
        duplicates += batch.duplicates
        warnings += [
            w for w in batch.warnings if "read as UTC" not in w and "reuse" not in w
        ]
    logs = panther_logs(corpus)
    for number, log in enumerate(logs):  # rule tests reuse ids: one batch each
        batch = parse_audit(json.dumps(log), f"panther#{number}")
        counts.update(batch.counts)
        warnings += [w for w in batch.warnings if "read as UTC" not in w]
    assert warnings == []
    # 73 + 73 Management Activity records, 33 Defender, 2 message trace, the logs.
    # Records reusing an id with other content are kept; none repeats whole.
    assert duplicates == 0
    assert sum(counts.values()) == 181 + len(logs)
    for kind in (
        "inbox_rule.changed",
        "mailbox.forwarding_set",
        "message.reported_by_user",
        "url.clicked",
        "email.threat",
        "mailbox.items_accessed",
        "user.signed_in",
        "air.investigation",
    ):
        assert counts[kind] >= 1, kind


@pytest.mark.corpus
def test_the_corpus_forwarding_records_name_their_outside_targets(corpus):
    rule = read_audit(
        corpus / "audit" / "sekoia_o365_management_api" / "inbox_rule.json"
    ).records[0]
    assert rule.kind == "inbox_rule.changed"
    assert rule.fields["forward_to"] == ["bob@example.org"]
    assert rule.fields["redirect_to"] == ["joe@example.org"]
    assert rule.fields["delete"] is True
    panther = [
        record
        for log in panther_logs(corpus)
        for record in parse_audit(json.dumps(log)).records
    ]
    forwarding = [r for r in panther if r.kind == "mailbox.forwarding_set"]
    assert len(forwarding) >= 3 and all(r.fields["forward_to"] for r in forwarding)
    rules = [r for r in panther if r.kind == "inbox_rule.changed"]
    assert rules and any(
        r.fields["forward_to"] or r.fields["redirect_to"] for r in rules
    )
    reported = read_audit(
        corpus / "audit" / "sekoia_o365_management_api" / "email_reported.json"
    ).records[0]
    assert reported.kind == "message.reported_by_user"
    assert reported.user == "john.doe@example.com"


def test_hostile_records_are_warnings_never_a_stop():
    lines = [
        "[" * 100_000,
        json.dumps({**RULE, "Id": "t1", "CreationTime": "0001-01-01T00:00:00+01:00"}),
        json.dumps(
            {**RULE, "Id": "t2", "CreationTime": "/Date(99999999999999999999)/"}
        ),
        json.dumps({**RULE, "Id": "t3", "Extra": "{(1, 2): 'x'}"}),
        json.dumps({**RULE, "Id": "t4", "Parameters": {"ForwardTo": "a@exfil.test"}}),
        json.dumps(RULE),
    ]
    batch = parse_audit("\n".join(lines), "hostile.jsonl")
    assert [r.id for r in batch.records] == ["t3", "t4", "rule-1"]
    assert batch.records[0].raw["Extra"] == "{(1, 2): 'x'}"  # kept as text
    assert batch.records[1].fields["forward_to"] == ["a@exfil.test"]
    text = "\n".join(batch.warnings)
    assert "nested too deeply" in text and text.count("time out of range") == 2


def test_a_huge_csv_cell_binary_input_and_a_cut_array_are_handled():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["AuditData"])
    writer.writerow([json.dumps({**RULE, "Padding": "x" * 300_000})])
    assert [r.id for r in parse_audit(out.getvalue()).records] == ["rule-1"]
    assert parse_audit("\x00\xff\xfe binary", "random.bin").warnings
    cut = "[\n" + json.dumps(RULE) + ",\n" + json.dumps(FORWARD) + ',\n{"Id": '
    assert [r.id for r in parse_audit(cut, "cut.json").records] == ["rule-1", "fwd-1"]


def test_a_microsoft_alert_names_its_user_not_the_service_account():
    alert = {
        "CreationTime": "2026-11-02T10:00:00Z",
        "Id": "a1",
        "Operation": "AlertEntityGenerated",
        "Workload": "SecurityComplianceCenter",
        "UserId": "SecurityComplianceAlerts",
        "Name": "User restricted from sending email",
        "AlertEntityId": "Jdoe@Example.org",
        "AlertId": "alert-9",
    }
    (record,) = parse_audit(json.dumps(alert)).records
    assert record.user == "jdoe@example.org"
    assert record.fields["alert_id"] == "alert-9"
