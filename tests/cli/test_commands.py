"""The command line, driven as a user drives it."""

from __future__ import annotations

import getpass
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heron.cli.main import app
from heron.samples import org

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith("HERON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HERON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HERON_OPERATOR", "cli-tester")
    # The command line acts as the heron user this login maps to.
    login = getpass.getuser()
    monkeypatch.setenv("HERON_LOCAL_USERS", json.dumps({login: "cli-tester"}))
    added = runner.invoke(app, ["users", "add", "cli-tester", "--role", "admin"])
    assert added.exit_code == 0, added.output
    return tmp_path / "home"


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output
    )
    return result


def test_demo_builds_the_organisation_and_proposes_actions(home: Path):
    result = invoke("demo", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    verdicts = sorted(i["verdict"] for i in summary["investigations"])
    assert verdicts.count("malicious") >= 1 and "clean" in verdicts
    assert any(a["type"] == "soft_delete" for a in summary["pending_actions"])
    assert (home / "demo-org" / "alice@example.org" / "cur").is_dir()


def test_investigate_json_prints_one_line_per_file_with_the_promised_fields(
    home: Path, tmp_path: Path
):
    phish = tmp_path / "phish.eml"
    phish.write_bytes(next(s.raw for s in org.sample_messages() if s.key == "payroll"))
    broken = tmp_path / "broken.eml"
    broken.write_bytes(
        b"Subject: =?bogus?Q?x?=\nContent-Type: multipart/mixed\n\nno boundary\n"
    )
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    result = invoke("investigate", "--json", str(phish), str(broken), str(empty))
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    fields = {
        "source",
        "investigation_id",
        "status",
        "verdict",
        "investigation_verdict",
        "alerts",
        "entities",
        "actions",
        "log",
        "warnings",
    }
    assert all(fields <= set(line) for line in lines)
    by_name = {Path(line["source"]).name: line for line in lines}
    assert by_name["phish.eml"]["verdict"] in ("malicious", "suspicious")
    reasons = by_name["phish.eml"]["reasons"]
    assert reasons and all(r["points"] > 0 and r["summary"] for r in reasons)
    assert reasons == sorted(reasons, key=lambda r: -r["points"])
    assert by_name["broken.eml"]["warnings"]
    assert (
        by_name["empty.eml"]["status"] == "failed" and by_name["empty.eml"]["warnings"]
    )
    step = by_name["phish.eml"]["log"][0]
    assert {"step", "status", "started_at", "ended_at", "summary"} <= set(step)


def test_report_unwraps_the_original_and_records_the_reporter(
    home: Path, tmp_path: Path
):
    original = next(s.raw for s in org.sample_messages() if s.key == "payroll")
    wrapper = tmp_path / "report.eml"
    wrapper.write_bytes(org.user_report("carol@example.org", original))
    result = invoke("report", str(wrapper), "--json")
    line = json.loads(result.stdout)
    assert line["reporter"] == "carol@example.org"
    assert line["alerts"][0]["policy"] == "Email reported by user as malware or phish"
    assert any(
        e["type"] == "url" and "payroll-example.test" in e["value"]
        for e in line["entities"]
    )


def test_approve_then_undo_through_the_command_line(home: Path):
    summary = json.loads(invoke("demo", "--json").stdout)
    action = next(a for a in summary["pending_actions"] if a["type"] == "soft_delete")
    approved = json.loads(
        invoke(
            "actions", "approve", str(action["id"]), "--comment", "phish", "--json"
        ).stdout
    )
    assert approved["status"] == "completed" and approved["decided_by"] == "cli-tester"
    assert approved["comment"] == "phish"
    undone = json.loads(invoke("actions", "undo", str(action["id"]), "--json").stdout)
    assert undone["status"] == "undone"


def test_deciding_an_unknown_action_is_a_clear_error(home: Path):
    result = invoke("actions", "approve", "999")
    assert result.exit_code == 1
    assert "no action 999" in result.output


def test_a_bad_setting_stops_start_up_naming_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HERON_ACTION_EXPIRY_DAYS", "-1")
    result = invoke("investigations", "list")
    assert result.exit_code == 2
    assert "HERON_ACTION_EXPIRY_DAYS" in result.output


def test_block_list_entries_are_validated(home: Path):
    assert invoke("lists", "add", "block", "domain", "Evil.Test").exit_code == 0
    assert invoke("lists", "add", "block", "url", "not a url").exit_code == 2
    shown = json.loads(invoke("lists", "show", "--json").stdout)
    assert shown == [
        {
            "list": "block",
            "kind": "domain",
            "value": "evil.test",
            "source": "added by cli-tester",
        }
    ]


def test_ingest_needs_a_mailbox_for_loose_files(home: Path, tmp_path: Path):
    message = EmailMessage()
    message["From"] = "a@b.test"
    message.set_content("hi")
    path = tmp_path / "loose.eml"
    path.write_bytes(bytes(message))
    assert "no mailbox" in invoke("ingest", str(path)).output
    assert (
        "stored 1 new copy"
        in invoke("ingest", str(path), "--mailbox", "bob@example.org").output
    )


def test_text_from_mail_is_printed_as_written_never_as_formatting(
    home: Path, tmp_path: Path
):
    message = EmailMessage()
    message["From"] = "[bold]Boss[/bold] <boss@evil.test>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Invoice [/x] due [link=https://evil.test]now[/link]"
    message.set_content("pay")
    path = tmp_path / "markup.eml"
    path.write_bytes(bytes(message))
    assert invoke("investigate", str(path)).exit_code == 0
    listed = invoke("investigations", "list")
    assert listed.exit_code == 0 and "[/x]" in listed.stdout
    shown = invoke("investigations", "show", "1")
    assert shown.exit_code == 0 and "[/x]" in shown.stdout


def test_an_unknown_log_level_is_a_usage_error_not_a_traceback(home: Path):
    result = runner.invoke(app, ["--log-level", "bogus", "settings"])
    assert result.exit_code == 2
    assert "--log-level" in result.output and "bogus" in result.output
    assert "Traceback" not in result.output


def test_a_missing_path_keeps_its_line_and_fails_the_command(
    home: Path, tmp_path: Path
):
    phish = tmp_path / "phish.eml"
    phish.write_bytes(next(s.raw for s in org.sample_messages() if s.key == "payroll"))
    missing = tmp_path / "nowhere.eml"
    result = invoke("investigate", "--json", str(phish), str(missing))
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    [gone] = [line for line in lines if line["source"] == str(missing)]
    assert gone["status"] == "failed" and gone["sha256"] is None
    assert gone["warnings"] == ["read-error: no such file or folder"]


def test_the_investigation_list_says_when_it_shows_only_the_newest(
    home: Path, tmp_path: Path
):
    for index in range(3):
        mail = tmp_path / f"m{index}.eml"
        mail.write_bytes(
            f"From: a{index}@sender.test\nSubject: note {index}\n\nhello\n".encode()
        )
        invoke("investigate", str(mail))
    result = invoke("investigations", "list", "--limit", "2")
    assert "newest 2 of 3" in result.stdout


def test_intel_show_counts_indicators_per_feed(home: Path):
    intel = home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "urls.txt").write_text("https://a.evil.test/x\nhttps://b.evil.test/y\n")
    (intel / "hashes.txt").write_text("d41d8cd98f00b204e9800998ecf8427e\n")
    result = invoke("intel", "show", "--json")
    view = json.loads(result.stdout)
    assert view["feeds"] == [
        {"feed": "hashes.txt", "indicators": 1},
        {"feed": "urls.txt", "indicators": 2},
    ]
    assert view["indicators"] == 3


def test_settings_names_a_records_file_that_cannot_be_read(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HERON_DNS_RECORDS", str(tmp_path / "absent.json"))
    result = runner.invoke(app, ["settings"])
    assert result.exit_code == 2
    assert "HERON_DNS_RECORDS" in result.output


def test_an_unknown_action_status_is_a_usage_error_naming_the_choices(home: Path):
    result = runner.invoke(app, ["actions", "list", "--status", "bogus"])
    assert result.exit_code == 2
    assert "pending" in result.output
