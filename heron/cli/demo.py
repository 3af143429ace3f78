"""``heron demo``: a sample organisation, some user reports, and the investigations."""

from __future__ import annotations

from typing import Any

from heron.cli import output
from heron.engine import views
from heron.engine.service import Heron
from heron.samples import org


def run_demo(heron: Heron, *, as_json: bool = False) -> dict[str, Any]:
    """Write the sample Maildirs and feed, ingest, report, investigate, print."""
    home = heron.settings.home
    maildirs = org.write_maildirs(home / "demo-org")
    intel = home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "demo-openphish.txt").write_text(org.INTEL_FEED, encoding="utf-8")
    heron.reload_intel()

    ingested = heron.ingest(maildirs.values())
    samples = {s.key: s for s in org.sample_messages()}
    reports = [
        ("alice@example.org", "payroll"),
        ("carol@example.org", "payroll"),
        ("dave@example.org", "invoice"),
        ("bob@example.org", "newsletter"),
    ]
    for reporter, key in reports:
        wrapped = org.user_report(reporter, samples[key].raw)
        heron.report(wrapped, source=f"demo report by {reporter}")
    touched = heron.process()

    with heron.store.session() as session:
        investigations = [
            views.investigation_detail(session, i) for i in sorted(touched)
        ]
        pending = views.list_actions(session, status="pending")
    result = {
        "home": str(home),
        "copies_ingested": ingested.copies,
        "investigations": investigations,
        "pending_actions": pending,
    }
    if as_json:
        output.json_line(result)
    else:
        _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    output.console.print(
        f"Sample organisation under {result['home']}: {len(org.MAILBOXES)} mailboxes, "
        f"{result['copies_ingested']} new copies ingested, 4 user reports filed."
    )
    for detail in result["investigations"]:
        output.investigation(detail)
    pending = result["pending_actions"]
    if pending:
        output.table(
            "Pending actions",
            ["id", "investigation", "type", "target", "copies"],
            [
                [
                    a["id"],
                    a["investigation_id"],
                    a["type"],
                    a["target"][:48],
                    a["copies"],
                ]
                for a in pending
            ],
        )
        first = pending[0]["id"]
        output.console.print(
            "Next: decisions are made by heron users. Add yourself, the first admin, "
            "with `heron users add NAME --role admin` and `export HERON_TOKEN=` the "
            "token it prints, "
            f'then approve one with `heron actions approve {first} --comment "confirmed '
            f'phish"`, undo it with `heron actions undo {first}`, or reject with '
            "`heron actions reject ID`. `heron serve` offers the same over the REST API."
        )
