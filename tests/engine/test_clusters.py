"""Clusters and investigations that grow, on a Maildir organisation with a morphing
campaign: every copy is found, counted per copy and per location, judged, proposed
for remediation once per cluster, run again with its difference, and later reports
join the investigation that already holds their campaign."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from heron.config import Settings
from heron.engine import views
from heron.engine.service import Heron
from heron.samples.org import user_report
from heron.store import models as m
from tests.factories import staff

LISTED = "https://salary-update.test/s/0"
CAMPAIGN_IP = "185.220.101.7"


def campaign(n: int, name: str, *, when: datetime | None = None) -> bytes:
    """Variant ``n`` of one campaign: its sender, subject, link and greeting change."""
    when = when or datetime(2026, 11, 3, 9, n % 60, tzinfo=UTC)
    message = EmailMessage()
    message["Received"] = (
        f"from relay{n}.salary-update{n % 3}.test (relay [{CAMPAIGN_IP}]) by "
        f"mx.example.org; {format_datetime(when)}"
    )
    message["From"] = f"Payroll Team <payroll@salary-update{n % 3}.test>"
    message["To"] = f"{name}@example.org"
    message["Subject"] = f"Action required: salary statement {4400 + n}"
    message["Message-ID"] = f"<campaign{n}@salary-update.test>"
    message["Date"] = format_datetime(when)
    message.set_content(
        f"Dear {name.title()},\n\nyour salary statement for November is ready. Sign "
        f"in at https://salary-update.test/s/{n} before Friday to confirm your bank "
        "details, otherwise the payment will be held until the next pay run.\n\n"
        "Kind regards,\nPayroll Team\n"
    )
    return message.as_bytes()


def letter(sender: str, to: str, subject: str, text: str, *, ip: str = "") -> bytes:
    message = EmailMessage()
    if ip:
        message["Received"] = (
            f"from mail.sender.test (mail [{ip}]) by mx.example.org; "
            "Mon, 02 Nov 2026 08:00:00 +0000"
        )
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, subject, text)))}@sender.test>"
    message["Date"] = "Mon, 02 Nov 2026 08:00:00 +0000"
    message.set_content(text)
    return message.as_bytes()


class Organisation:
    """Maildirs under one folder, written the way a delivery agent writes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def deliver(self, mailbox: str, raw: bytes, folder: str = "") -> Path:
        self.count += 1
        base = self.root / mailbox
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        target = base / folder / "cur" if folder else base / "cur"
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{1700000000 + self.count}.M{self.count}.mx:2,S"
        path.write_bytes(raw)
        return path

    def move(self, path: Path, mailbox: str, folder: str) -> Path:
        target = self.root / mailbox / folder / "cur"
        target.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(path, target / path.name))

    def ingest(self, heron: Heron) -> None:
        summary = heron.ingest(sorted(self.root.iterdir()))
        assert summary.errors == []


PEOPLE = ("ann", "ben", "cleo", "dan", "eve", "finn")


@pytest.fixture
def heron(settings: Settings):
    intel = settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "feed.txt").write_text(f"{LISTED}\n")
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


@pytest.fixture
def organisation(heron: Heron, tmp_path: Path) -> Organisation:
    """Six people; the campaign's variants reach five of them, one copy already in
    the trash; a partner's mail reaches everyone."""
    place = Organisation(tmp_path / "maildirs")
    for n, name in enumerate(PEOPLE[:5]):
        place.deliver(f"{name}@example.org", campaign(n, name))
    place.deliver("finn@example.org", campaign(5, "finn"), folder=".Trash")
    for name in PEOPLE:
        place.deliver(
            f"{name}@example.org",
            letter(
                "Maria <maria@partner.test>",
                f"{name}@example.org",
                "Minutes of Tuesday's meeting",
                "Hello all, the minutes are below. Next meeting on the 12th in "
                "room 4. Please send corrections by Friday. Maria",
            ),
        )
    place.ingest(heron)
    return place


def reported(heron: Heron, reporter: str, raw: bytes) -> int:
    heron.report(user_report(reporter, raw))
    touched = heron.process()
    assert touched
    return touched[-1]


def clusters_by_key(heron: Heron, investigation_id: int) -> dict[str, dict]:
    with heron.store.session() as session:
        return {c["key"]: c for c in views.clusters_of(session, investigation_id)}


def pending_deletes(heron: Heron, investigation_id: int) -> list[m.Action]:
    with heron.store.session() as session:
        rows = session.scalars(
            select(m.Action).where(
                m.Action.investigation_id == investigation_id,
                m.Action.type == "soft_delete",
                m.Action.status == "pending",
            )
        ).all()
        session.expunge_all()
        return list(rows)


def test_a_reported_variant_leads_to_every_copy_of_the_campaign(heron, organisation):
    investigation_id = reported(heron, "ann@example.org", campaign(0, "ann"))
    found = clusters_by_key(heron, investigation_id)
    assert {"url", "message", "body", "subject", "sending_ip"} <= set(found)
    body = found["body"]
    # Every variant, counted per copy, the one in the trash included.
    assert body["copies"] == 6 and body["messages"] == 6
    assert body["by_location"] == {"deleted": 1, "inbox": 5}
    assert body["verdict"] == "malicious"
    assert found["message"]["copies"] == 1
    assert found["url"]["kind"] == "indicator" and found["url"]["copies"] == 1
    # The subject key ignores the changing number; the partner's mail is in none.
    assert found["subject"]["copies"] == 6
    assert found["sending_ip"]["value"] == CAMPAIGN_IP
    with heron.store.session() as session:
        verdicts = dict(
            session.execute(select(m.Message.subject, m.Message.verdict)).all()
        )
    assert verdicts["Action required: salary statement 4403"] == "malicious"
    assert verdicts["Minutes of Tuesday's meeting"] == "unknown"


def test_only_malicious_clusters_get_one_soft_delete_each(heron, organisation):
    investigation_id = reported(heron, "ann@example.org", campaign(0, "ann"))
    found = clusters_by_key(heron, investigation_id)
    malicious = {c["id"] for c in found.values() if c["verdict"] == "malicious"}
    actions = pending_deletes(heron, investigation_id)
    assert sorted(a.params["cluster_id"] for a in actions) == sorted(malicious)
    [body] = [a for a in actions if a.params["cluster_id"] == found["body"]["id"]]
    # Five copies still in mailboxes; the one already in the trash is prevented.
    assert len(body.params["copies"]) == 5 and len(body.params["prevented"]) == 1
    assert body.target_type == "cluster"


def test_security_and_simulation_mailboxes_stay_out_of_clusters(
    settings, organisation, tmp_path
):
    limited = settings.model_copy(
        update={
            "security_mailboxes": ["ben@example.org"],
            "phish_sim_mailboxes": ["cleo@example.org"],
        }
    )
    instance = Heron(limited)
    try:
        investigation_id = reported(instance, "ann@example.org", campaign(0, "ann"))
        body = clusters_by_key(instance, investigation_id)["body"]
        assert body["copies"] == 4
        with instance.store.session() as session:
            members = set(
                session.scalars(
                    select(m.Copy.mailbox)
                    .join(m.ClusterMember, m.ClusterMember.copy_id == m.Copy.id)
                    .join(m.Cluster, m.Cluster.id == m.ClusterMember.cluster_id)
                    .where(m.Cluster.investigation_id == investigation_id)
                )
            )
        assert not members & {"ben@example.org", "cleo@example.org"}
    finally:
        instance.close()


def test_a_cluster_run_again_shows_what_changed(heron, organisation):
    investigation_id = reported(heron, "ann@example.org", campaign(0, "ann"))
    body = clusters_by_key(heron, investigation_id)["body"]
    organisation.deliver("gus@example.org", campaign(6, "gus"))
    organisation.ingest(heron)
    again = heron.rerun_cluster(body["id"])
    assert again["copies"] == 7 and again["runs"] == 2
    assert again["last_diff"]["added"] == 1 and again["last_diff"]["removed"] == 0
    with heron.store.session() as session:
        assert session.scalar(
            select(func.count())
            .select_from(m.LogEntry)
            .where(
                m.LogEntry.investigation_id == investigation_id,
                m.LogEntry.step == "Run cluster again",
            )
        )


def test_a_soft_delete_runs_its_cluster_again_before_it_executes(heron, organisation):
    investigation_id = reported(heron, "ann@example.org", campaign(0, "ann"))
    body_id = clusters_by_key(heron, investigation_id)["body"]["id"]
    [action] = [
        a
        for a in pending_deletes(heron, investigation_id)
        if a.params["cluster_id"] == body_id
    ]
    # After the proposal: Ben deletes his copy himself, and a new copy arrives.
    ben = next((organisation.root / "ben@example.org" / "cur").iterdir())
    for path in (organisation.root / "ben@example.org" / "cur").iterdir():
        if b"salary statement" in path.read_bytes():
            ben = path
    organisation.move(ben, "ben@example.org", ".Trash")
    organisation.deliver("gus@example.org", campaign(6, "gus"))
    organisation.ingest(heron)
    done = heron.approve(action.id, by="approver")
    statuses = Counter(t["status"] for t in done.result["targets"])
    assert statuses == {"done": 5, "already gone": 1}
    assert done.params["before_execution"] == {
        "gone": 1,
        "added": 1,
        "cluster_verdict": "malicious",
    }
    inbox = organisation.root / "gus@example.org" / "cur"
    assert not any(b"salary statement" in p.read_bytes() for p in inbox.iterdir())


def test_a_report_of_another_variant_joins_the_investigation(heron, organisation):
    first = reported(heron, "ann@example.org", campaign(0, "ann"))
    before = clusters_by_key(heron, first)
    second = reported(heron, "cleo@example.org", campaign(2, "cleo"))
    assert second == first
    with heron.store.session() as session:
        detail = views.investigation_detail(session, first)
    [merge] = [e for e in detail["log"] if e["step"] == "Alert merged"]
    assert "cluster" in merge["summary"]
    assert len(detail["alerts"]) == 2
    after = clusters_by_key(heron, first)
    assert set(after) == set(before)
    assert after["body"]["runs"] == 2


def test_sharing_only_a_recipient_joins_nothing(heron, organisation):
    first = reported(heron, "ann@example.org", campaign(0, "ann"))
    other = letter(
        "Quinn <quinn@ticket-desk.test>",
        "ann@example.org",
        "Your ticket 77 was updated",
        "Hello Ann, your ticket about the broken chair was updated. The desk team",
    )
    assert reported(heron, "ann@example.org", other) != first


def test_a_message_carrying_a_judged_url_joins_by_that_indicator(heron, organisation):
    first = reported(heron, "ann@example.org", campaign(0, "ann"))
    carrier = letter(
        "HR <hr@benefits-portal.test>",
        "dan@example.org",
        "Benefits enrolment",
        f"Enrol before the deadline at {LISTED} to keep your benefits this year.",
    )
    assert reported(heron, "dan@example.org", carrier) == first
    with heron.store.session() as session:
        detail = views.investigation_detail(session, first)
    [merge] = [e for e in detail["log"] if e["step"] == "Alert merged"]
    assert "url" in merge["summary"] and "malicious" in merge["summary"]


def test_a_cluster_mostly_malicious_makes_its_message_malicious(heron, tmp_path):
    """Back to the original: a message nothing else condemns is malicious when the
    sending ip that brought it brought mostly malicious mail."""
    place = Organisation(tmp_path / "ipmail")
    relay = "45.134.26.9"
    bad = []
    for n, name in enumerate(("ann", "ben", "cleo")):
        raw = letter(
            f"Notice <n{n}@notice-{n}.test>",
            f"{name}@example.org",
            f"Notice {n}",
            f"Different words each time, number {n}, for {name}, about the parcel.",
            ip=relay,
        )
        place.deliver(f"{name}@example.org", raw)
        bad.append(f"Notice {n}")
    quiet = letter(
        "Office <office@quiet-firm.test>",
        "dan@example.org",
        "Lunch on Thursday",
        "Shall we meet for lunch on Thursday at noon? The usual place.",
        ip=relay,
    )
    place.deliver("dan@example.org", quiet)
    place.ingest(heron)
    with heron.store.session() as session:
        for row in session.scalars(select(m.Message).where(m.Message.subject.in_(bad))):
            row.verdict = "malicious"
    investigation_id = reported(heron, "dan@example.org", quiet)
    found = clusters_by_key(heron, investigation_id)
    assert found["sending_ip"]["verdict"] == "malicious"
    assert found["sending_ip"]["reason"].startswith(
        "3 of 3 copies besides the investigated message's known malicious"
    )
    with heron.store.session() as session:
        detail = views.investigation_detail(session, investigation_id)
    assert detail["verdict"] == "malicious"
    assert any(r["code"] == "in-malicious-cluster" for r in detail["reasons"])


def test_a_burst_of_copies_is_a_volume_anomaly(heron, tmp_path):
    place = Organisation(tmp_path / "burst")
    day = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    for n in range(12):
        place.deliver(
            f"user{n}@example.org",
            campaign(n, f"user{n}", when=day + timedelta(minutes=n)),
        )
    place.ingest(heron)
    investigation_id = reported(heron, "user0@example.org", campaign(0, "user0"))
    body = clusters_by_key(heron, investigation_id)["body"]
    assert body["volume"]["last_day"] == 12 and body["volume"]["anomaly"]
    with heron.store.session() as session:
        codes = set(
            session.scalars(
                select(m.FindingRecord.code).where(
                    m.FindingRecord.investigation_id == investigation_id
                )
            )
        )
    assert "volume-anomaly" in codes


def test_a_storm_of_200_reports_ends_as_one_investigation(heron, tmp_path):
    place = Organisation(tmp_path / "storm")
    people = [f"p{n:03d}" for n in range(200)]
    copies = {}
    for n, name in enumerate(people):
        raw = campaign(n % 5, "colleague")  # five variants, forty copies each
        copies[name] = raw
        place.deliver(f"{name}@example.org", raw)
    place.ingest(heron)
    for name in people:
        heron.report(user_report(f"{name}@example.org", copies[name]))
    touched = heron.process()
    assert len(set(touched)) == 1
    [investigation_id] = set(touched)
    with heron.store.session() as session:
        assert session.scalar(select(func.count()).select_from(m.Investigation)) == 1
        alerts = session.scalar(
            select(func.sum(m.Alert.count)).where(
                m.Alert.investigation_id == investigation_id
            )
        )
        assert alerts == 200
        found = session.scalars(
            select(m.Cluster).where(m.Cluster.investigation_id == investigation_id)
        ).all()
        keys = Counter((c.kind, c.key) for c in found)
        # One set: one cluster per kind of fact, besides one per malicious url.
        assert all(n == 1 for (kind, _), n in keys.items() if kind == "similarity")
        malicious = {c.id for c in found if c.verdict == "malicious"}
        body = next(c for c in found if c.key == "body")
        assert body.copies == 200
    actions = pending_deletes(heron, investigation_id)
    per_cluster = Counter(a.params["cluster_id"] for a in actions)
    assert set(per_cluster) == malicious and set(per_cluster.values()) == {1}


def test_the_command_line_lists_and_reruns_clusters(heron, organisation, monkeypatch):
    from heron.cli.main import app
    from tests.cli.test_commands import runner

    investigation_id = reported(heron, "ann@example.org", campaign(0, "ann"))
    monkeypatch.setenv("HERON_HOME", str(heron.settings.home))
    if heron.settings.database_url:
        monkeypatch.setenv("HERON_DATABASE_URL", heron.settings.database_url)
    listed = runner.invoke(app, ["clusters", "list", str(investigation_id), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output.strip().splitlines()[-1])["clusters"]
    body = next(c for c in rows if c["key"] == "body")
    assert body["copies"] == 6 and body["by_location"] == {"deleted": 1, "inbox": 5}
    again = runner.invoke(app, ["clusters", "rerun", str(body["id"]), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.strip().splitlines()[-1])["runs"] == 2
    for command in (["clusters", "list", "999"], ["clusters", "rerun", "999"]):
        missing = runner.invoke(app, command)
        assert missing.exit_code != 0 and "no " in missing.output
    shown = runner.invoke(app, ["investigations", "show", str(investigation_id)])
    assert shown.exit_code == 0 and "Clusters" in shown.output


def test_the_empty_file_s_hash_makes_no_indicator_cluster():
    from types import SimpleNamespace

    from heron.domain.entities import EntityRef, EntityType
    from heron.engine.clusters import EMPTY_SHA256, INDICATOR, specs_for

    message = SimpleNamespace(
        sha256="a" * 64, fingerprint="", from_address="", from_domain="",
        sending_ip="", subject_key="", first_seen_at=None,
    )  # fmt: skip
    judged = [
        EntityRef(EntityType.FILE, EMPTY_SHA256),
        EntityRef(EntityType.FILE, "b" * 64),
    ]
    try:
        specs = specs_for(message, [message.sha256], judged, set(), ())
    except AttributeError as exc:  # a field the function reads that the stand-in lacks
        raise AssertionError(f"the stand-in message lacks {exc}") from None
    files = [s.value for s in specs if s.kind == INDICATOR and s.key == "file"]
    assert files == ["b" * 64]
