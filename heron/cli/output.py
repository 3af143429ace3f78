"""Printing: JSON lines for machines, Rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Markup is off: subjects, names and urls come from hostile mail, and text such as
# "[/x]" or "[link=...]" must print as written, never as formatting.
console = Console(markup=False, highlight=False)
errors = Console(stderr=True, markup=False, highlight=False)


def styled(*parts: tuple[str, str] | str | Text) -> Text:
    """Text from plain strings, Text and (text, style) pairs; nothing is parsed as markup."""
    text = Text()
    for part in parts:
        if isinstance(part, Text):
            text.append_text(part)
        elif isinstance(part, tuple):
            text.append(part[0], style=part[1])
        else:
            text.append(part)
    return text


def error(label: str, message: str) -> None:
    errors.print(styled((label, "red"), " ", message))


def warn(message: str) -> None:
    errors.print(styled(("warning:", "yellow"), " ", message))


def json_line(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    view = Table(title=title, show_lines=False)
    for column in columns:
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(
            *(
                v if isinstance(v, Text) else Text("" if v is None else str(v))
                for v in row
            )
        )
    console.print(view)


VERDICT_STYLE = {
    "malicious": "bold red",
    "suspicious": "yellow",
    "clean": "green",
    "unknown": "dim",
}


def verdict(value: str) -> Text:
    return Text(value, style=VERDICT_STYLE.get(value, ""))


def clusters(rows: list[dict[str, Any]]) -> None:
    table(
        "Clusters",
        [
            "id",
            "kind",
            "key",
            "value",
            "verdict",
            "why",
            "copies",
            "messages",
            "by location",
            "last run",
        ],
        [
            [
                c["id"],
                c["kind"],
                c["key"],
                c["value"][:80],
                c["verdict"],
                c["reason"],
                f"{c['copies']} ({c['malicious_copies']} known malicious)"
                + (" [cut]" if c["truncated"] else ""),
                c["messages"],
                ", ".join(f"{k} {v}" for k, v in c["by_location"].items()),
                f"run {c['last_diff'].get('run', 1)}: +{c['last_diff'].get('added', 0)}"
                f" -{c['last_diff'].get('removed', 0)}",
            ]
            for c in rows
        ],
    )


def investigation(detail: dict[str, Any]) -> None:
    """A readable account of one investigation."""
    console.rule(Text(f"Investigation {detail['id']}: {detail['name']}"))
    console.print(
        styled(
            "status ",
            (detail["status"], "bold"),
            ", verdict ",
            verdict(detail["verdict"]),
        )
    )
    for alert in detail.get("alerts", []):
        console.print(
            Text(
                f"alert {alert['id']}: {alert['name']} "
                f"({alert['severity']}, {alert['category']}) at {alert['created_at']}"
            )
        )
    reporters = [e["value"] for e in detail["entities"] if e["role"] == "reporter"]
    if reporters:
        console.print(Text(f"reported by: {', '.join(sorted(reporters))}"))
    holders = {c["mailbox"] for c in detail.get("copies", [])} or {
        e["value"] for e in detail["entities"] if e["role"] == "recipient"
    }
    if holders:
        console.print(Text(f"copies in: {', '.join(sorted(holders))}"))
    if detail.get("reasons"):
        console.print(Text("because:"))
        for reason in detail["reasons"]:
            console.print(
                Text(
                    f"  - [{reason['points']} pt] {reason['analyzer']}: {reason['summary']}"
                )
            )
    for entity in detail["entities"]:
        bad = [f for f in entity["findings"] if f["severity"] != "informational"]
        if entity["verdict"] in ("malicious", "suspicious") or bad:
            console.print(
                styled(f"  {entity['type']} {entity['value'][:100]}: "),
                verdict(entity["verdict"]),
            )
            for finding in bad:
                console.print(
                    Text(
                        f"    - {finding['severity']} {finding['analyzer']}: {finding['summary']}"
                    )
                )
    if detail.get("clusters"):
        clusters(detail["clusters"])
    if detail["actions"]:
        table(
            "Actions",
            ["id", "type", "target", "status", "decided by"],
            [
                [a["id"], a["type"], a["target"], a["status"], a["decided_by"]]
                for a in detail["actions"]
            ],
        )
    table(
        "Log",
        ["step", "status", "summary"],
        [[e["step"], e["status"], e["summary"]] for e in detail["log"]],
    )
    if detail["warnings"]:
        console.print(styled((f"{len(detail['warnings'])} warning(s)", "yellow")))
        for warning in detail["warnings"][:20]:
            console.print(
                Text(
                    f"  {warning['source']} {warning['where']}: "
                    f"{warning['code']}: {warning['message']}"
                )
            )
