"""Alerts from audit records: Microsoft's policy names and severities, aggregation,
and the compromised-user investigation with its recommendations."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from heron.engine import views
from heron.engine.service import Heron
from heron.errors import ActionError
from heron.store import models as m
from tests.factories import staff
from tests.ingest.test_audit import FORWARD, RULE, panther_logs


@pytest.fixture
def heron(settings):
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


def ingest(heron: Heron, tmp_path, records: list[dict], name: str = "a.jsonl") -> None:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    heron.ingest_audit([path])


def alerts(heron: Heron) -> list[dict]:
    with heron.store.session() as session:
        return views.list_alerts(session)


def actions(heron: Heron) -> list[dict]:
    with heron.store.session() as session:
        return views.list_actions(session)


def test_an_outside_forwarding_rule_opens_a_compromised_user_investigation(
    heron, tmp_path
):
    ingest(heron, tmp_path, [RULE])
    touched = heron.process()
    raised = {a["policy"]: a for a in alerts(heron)}
    assert raised["Suspicious email forwarding activity"]["severity"] == "high"
    assert raised["Creation of forwarding/redirect rule"]["severity"] == "informational"
    assert raised["Creation of forwarding/redirect rule"]["investigation_id"] is None
    (investigation_id,) = touched
    assert raised["Suspicious email forwarding activity"]["investigation_id"] == (
        investigation_id
    )
    with heron.store.session() as session:
        case = views.investigation_detail(session, investigation_id)
    assert case["playbook"] == "compromised-user" and case["verdict"] == "malicious"
    assert case["status"] == "pending action"
    proposed = {a["type"]: a for a in actions(heron)}
    turn_off = proposed["disable_forwarding"]
    assert turn_off["status"] == "pending" and turn_off["recommendation"] is True
    assert turn_off["target"] == "ann@example.org to collector@exfil.test"
    assert proposed["reset_credentials"]["recommendation"] is True


def test_a_forward_inside_the_organisation_is_only_informational(heron, tmp_path):
    inside = {
        **RULE,
        "Id": "rule-in",
        "Parameters": [{"Name": "ForwardTo", "Value": "desk@example.org"}],
    }
    ingest(heron, tmp_path, [inside])
    assert heron.process() == []
    assert [a["policy"] for a in alerts(heron)] == [
        "Creation of forwarding/redirect rule"
    ]


def test_the_same_policy_on_the_same_entities_aggregates_into_one_alert(
    heron, tmp_path
):
    repeats = [
        {**FORWARD, "Id": f"fwd-{n}", "CreationTime": f"2026-11-02T08:0{n}:00Z"}
        for n in range(3)
    ]
    ingest(heron, tmp_path, repeats)
    heron.process()
    (suspicious,) = [
        a
        for a in alerts(heron)
        if a["policy"] == "Suspicious email forwarding activity"
    ]
    assert suspicious["count"] == 3
    assert {"type": "mailbox", "value": "ann@example.org"} in suspicious["entities"]


def test_approving_a_recommendation_records_that_a_person_does_it(heron, tmp_path):
    ingest(heron, tmp_path, [RULE])
    heron.process()
    turn_off = next(a for a in actions(heron) if a["type"] == "disable_forwarding")
    done = heron.approve(turn_off["id"], by="approver")
    assert done.status == "completed"
    assert done.result["targets"][0]["status"] == "left to a person"
    with pytest.raises(ActionError, match="a person undoes it"):
        heron.undo(turn_off["id"], by="approver")


@pytest.mark.corpus
def test_the_corpus_forwarding_and_report_records_raise_their_alerts(
    heron, tmp_path, corpus
):
    folder = corpus / "audit" / "sekoia_o365_management_api"
    heron.ingest_audit(
        [
            folder / "inbox_rule.json",
            folder / "email_reported.json",
            folder / "security_compliance_alert_4.json",
        ]
    )
    for number, log in enumerate(panther_logs(corpus)):
        ingest(heron, tmp_path, [log], f"panther{number}.json")
    touched = heron.process()
    policies = [a["policy"] for a in alerts(heron)]
    assert "Email reported by user as malware or phish" in policies
    assert "Suspicious email forwarding activity" in policies
    assert "Creation of forwarding/redirect rule" in policies
    with heron.store.session() as session:
        playbooks = {session.get(m.Investigation, i).playbook for i in touched}
        pending = session.scalars(
            select(m.Action).where(
                m.Action.type == "disable_forwarding", m.Action.status == "pending"
            )
        ).all()
    assert playbooks == {"compromised-user"}
    assert pending and all(a.target.startswith(a.params["mailbox"]) for a in pending)


RESTRICTED = {
    "CreationTime": "2026-11-02T10:00:00Z",
    "Id": "alert-restricted-1",
    "Operation": "AlertTriggered",
    "Workload": "SecurityComplianceCenter",
    "UserId": "SecurityComplianceAlerts",
    "Name": "User restricted from sending email",
    "Severity": "High",
    "Data": json.dumps({"f3u": "ben@example.org", "op": "OutboundSpam"}),
}


def test_a_user_restricted_from_sending_is_a_compromised_user(heron, tmp_path):
    ingest(heron, tmp_path, [RESTRICTED])
    (investigation_id,) = heron.process()
    (alert,) = alerts(heron)
    assert alert["policy"] == "User restricted from sending email"
    assert alert["severity"] == "high"
    assert {"type": "mailbox", "value": "ben@example.org"} in alert["entities"]
    proposed = {a["type"]: a for a in actions(heron)}
    assert proposed["block_sender"]["target"] == "ben@example.org"
    assert proposed["block_sender"]["recommendation"] is True  # no mail server here
    assert proposed["reset_credentials"]["recommendation"] is True


def test_clicks_are_never_aggregated_and_a_click_through_alerts(heron, tmp_path):
    click = {
        "time": "2026-11-02T08:00:00Z",
        "category": "AdvancedHunting-UrlClickEvents",
        "properties": {
            "ReportId": "c1",
            "Url": "https://salary-update.test/s/1",
            "AccountUpn": "ann@example.org",
            "ActionType": "ClickAllowed",
            "IsClickedThrough": True,
            "Timestamp": "2026-11-02T08:00:00Z",
        },
    }
    again = {**click, "properties": {**click["properties"], "ReportId": "c2"}}
    ingest(heron, tmp_path, [click, again])
    heron.process()
    through = [
        a
        for a in alerts(heron)
        if a["policy"] == "A user clicked through to a potentially malicious URL"
    ]
    assert len(through) == 2 and all(a["count"] == 1 for a in through)
    assert all(a["severity"] == "high" for a in through)


def test_a_compromised_user_s_outbound_burst_and_new_recipients_are_evidence(
    heron, tmp_path
):
    from datetime import timedelta

    from heron.store.models import utcnow

    now = utcnow()

    def sent(n: int, when, recipient: str) -> dict:
        return {
            "Timestamp": when.isoformat(),
            "NetworkMessageId": f"out-{n}",
            "SenderFromAddress": "ben@example.org",
            "RecipientEmailAddress": recipient,
            "EmailDirection": "Outbound",
            "Subject": "Invoice",
        }

    earlier = [
        sent(n, now - timedelta(days=2 + n % 8), "partner@usual.test") for n in range(8)
    ]
    burst = [
        sent(100 + n, now - timedelta(minutes=n), f"target{n}@outside{n}.test")
        for n in range(12)
    ]
    ingest(heron, tmp_path, [*earlier, *burst, RESTRICTED])
    (investigation_id,) = heron.process()
    with heron.store.session() as session:
        case = views.investigation_detail(session, investigation_id)
    codes = {f["code"] for e in case["entities"] for f in e.get("findings", [])}
    assert {"volume-burst", "new-outside-recipients", "sending-alert"} <= codes
    log = next(e for e in case["log"] if e["step"] == "Read audit records")
    assert "12 message(s) sent in the last day" in log["summary"]


def test_a_click_in_the_audit_records_on_a_listed_url_raises_the_click_alert(
    heron, tmp_path
):
    intel = heron.settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text("https://salary-update.test/s/1\n")
    heron.reload_intel()
    click = {
        "CreationTime": "2026-11-02T08:00:00Z",
        "Id": "click-1",
        "Operation": "TIUrlClickData",
        "Workload": "ThreatIntelligence",
        "UserId": "ann@example.org",
        "Url": "https://salary-update.test/s/1",
        "UserIp": "198.51.100.9",
    }
    harmless = {**click, "Id": "click-2", "Url": "https://example.org/news"}
    path = tmp_path / "clicks.json"
    path.write_text(json.dumps([click, harmless]))
    summary = heron.ingest_audit([path])
    assert summary.click_alerts == 1
    heron.process()
    (raised,) = [
        a
        for a in alerts(heron)
        if a["policy"] == "A potentially malicious URL click was detected"
    ]
    assert {"type": "url", "value": "https://salary-update.test/s/1"} in raised[
        "entities"
    ]


def test_a_malware_zap_record_raises_the_file_removed_alert(heron, tmp_path):
    zap = {
        "time": "2026-11-02T08:00:00Z",
        "category": "AdvancedHunting-EmailPostDeliveryEvents",
        "properties": {
            "ReportId": "z1",
            "NetworkMessageId": "n1",
            "RecipientEmailAddress": "ann@example.org",
            "ActionType": "Malware ZAP",
            "Timestamp": "2026-11-02T08:00:00Z",
        },
    }
    spam = {
        **zap,
        "properties": {**zap["properties"], "ReportId": "z2", "ActionType": "Spam ZAP"},
    }
    ingest(heron, tmp_path, [zap, spam])
    heron.process()
    policies = [a["policy"] for a in alerts(heron)]
    assert policies == [
        "Email messages containing malicious file removed after delivery"
    ]


def test_the_compromised_user_s_sent_mail_in_colleagues_mailboxes_is_a_cluster(
    heron, tmp_path
):
    from email.message import EmailMessage
    from email.utils import format_datetime

    from heron.store.models import utcnow

    for n, colleague in enumerate(("cat", "dan", "eve")):
        root = tmp_path / "maildirs" / f"{colleague}@example.org"
        for sub in ("cur", "new", "tmp"):
            (root / sub).mkdir(parents=True)
        mail = EmailMessage()
        mail["From"] = "Ben <ben@example.org>"
        mail["To"] = f"{colleague}@example.org"
        mail["Subject"] = "Please review the attached invoice"
        mail["Message-ID"] = f"<sent{n}@example.org>"
        mail["Date"] = format_datetime(utcnow())
        mail.set_content("Review it here today: https://invoice-portal.test/x\n")
        (root / "cur" / f"{n}.host:2,S").write_bytes(mail.as_bytes())
    heron.ingest(sorted((tmp_path / "maildirs").iterdir()))
    ingest(heron, tmp_path, [RESTRICTED])
    (investigation_id,) = heron.process()
    with heron.store.session() as session:
        found = {c["key"]: c for c in views.clusters_of(session, investigation_id)}
        case = views.investigation_detail(session, investigation_id)
    assert found["sender"]["value"] == "ben@example.org"
    assert found["sender"]["copies"] == 3
    assert any(e["step"] == "Cluster the user's sent mail" for e in case["log"])
