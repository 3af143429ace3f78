"""Printing: JSON lines for machines, Rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def json_line(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    view = Table(title=title, show_lines=False)
    for column in columns:
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(*("" if v is None else str(v) for v in row))
    console.print(view)


VERDICT_STYLE = {
    "malicious": "bold red",
    "suspicious": "yellow",
    "clean": "green",
    "unknown": "dim",
}


def verdict(value: str) -> str:
    return f"[{VERDICT_STYLE.get(value, '')}]{value}[/]"


def investigation(detail: dict[str, Any]) -> None:
    """A readable account of one investigation."""
    console.rule(f"Investigation {detail['id']}: {detail['name']}")
    console.print(
        f"status [bold]{detail['status']}[/], verdict {verdict(detail['verdict'])}"
    )
    for entity in detail["entities"]:
        bad = [f for f in entity["findings"] if f["severity"] != "informational"]
        if entity["verdict"] in ("malicious", "suspicious") or bad:
            console.print(
                f"  {entity['type']} {entity['value'][:80]}: {verdict(entity['verdict'])}"
            )
            for finding in bad:
                console.print(
                    f"    - [{finding['severity']}] {finding['analyzer']}: {finding['summary']}"
                )
    if detail["actions"]:
        table(
            "Actions",
            ["id", "type", "target", "status", "decided by"],
            [
                [a["id"], a["type"], a["target"][:64], a["status"], a["decided_by"]]
                for a in detail["actions"]
            ],
        )
    table(
        "Log",
        ["step", "status", "summary"],
        [[e["step"], e["status"], e["summary"][:120]] for e in detail["log"]],
    )
    if detail["warnings"]:
        console.print(f"[yellow]{len(detail['warnings'])} warning(s)[/]")
        for warning in detail["warnings"][:20]:
            console.print(
                f"  {warning['source']} {warning['where']}: {warning['code']}: {warning['message']}"
            )
