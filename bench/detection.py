"""Detection on labelled mail: how much phish heron flags, and how much ham.

    python bench/detection.py [LABELLED_DIR] [--only keep|strip] [--no-spamassassin]
                              [--intel PATH ...]

LABELLED_DIR holds one folder per label (phish/, ham/, and optionally malformed/);
the default is ``../shared/corpus/eml``. The folder is copied twice with
``../shared/tools/neutral_corpus.py``: once keeping other filters' verdict headers
(``--keep-verdicts``) and once without them and without the mail provider's transport
stamps. For each copy, ``heron investigate --json`` runs over every file in a fresh
HERON_HOME (with no threat intel unless ``--intel`` names feed files or folders, which
heron then loads as ``HERON_INTEL_PATHS``) and the script prints:

* recall on phish and the false-positive rate on ham (flagged = malicious or
  suspicious), and the confusion table of label by verdict;
* each analyzer's contribution: on how many phish and ham its findings counted
  towards the verdict, and on how many flagged messages it was decisive (without its
  points the message would not have been flagged). Counted from each message's
  reasons, which keep the eight findings worth most, so an analyzer whose finding
  ranked ninth on a message is not counted there;
* when ``spamassassin`` is installed, its figures on the same files with local tests
  only (``spamassassin -L``), side by side.

The last line is one JSON object with every figure. Exits non-zero when a file got no
line, heron failed, or a traceback appeared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "eml"
FLAGGED = ("malicious", "suspicious")
VERDICTS = ("malicious", "suspicious", "clean", "unknown")
SUSPICIOUS_POINTS = 2  # heron's default threshold, for the "decisive" count


def neutral_copy(source: Path, dest: Path, keep_verdicts: bool) -> dict[str, str]:
    tool = REPO.parent / "shared" / "tools" / "neutral_corpus.py"
    if not tool.exists():
        tool = source.parent.parent / "tools" / "neutral_corpus.py"
    command = [sys.executable, str(tool), str(source), str(dest)]
    subprocess.run(
        command + (["--keep-verdicts"] if keep_verdicts else []),
        check=True,
        capture_output=True,
    )
    return json.loads((dest / "labels.json").read_text())


def run_heron(
    files: list[str], home: Path, intel: list[Path]
) -> tuple[list[dict], int, bool, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    env["HERON_HOME"] = str(home)
    if intel:
        env["HERON_INTEL_PATHS"] = ",".join(str(p.resolve()) for p in intel)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "heron.cli.main", "investigate", "--json", *files],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return lines, run.returncode, "Traceback" in run.stderr, elapsed


def contributions(lines: list[dict], labels: dict[str, str]) -> dict[str, dict]:
    """Per analyzer: messages its findings counted on, by label, and the flagged
    messages it decided (its points took the message over the threshold)."""
    table: dict[str, Counter[str]] = {}
    for line in lines:
        label = labels[Path(line["source"]).name]
        points: Counter[str] = Counter()
        for reason in line.get("reasons", []):
            points[reason["analyzer"]] += int(reason["points"])
        total = sum(points.values())
        for analyzer, own in points.items():
            if own <= 0:
                continue
            counts = table.setdefault(analyzer, Counter())
            counts[label] += 1
            flagged = line["verdict"] in FLAGGED
            if flagged and total - own < SUSPICIOUS_POINTS:
                counts[f"decisive_{label}"] += 1
    return {name: dict(counts) for name, counts in sorted(table.items())}


def spamassassin(files: list[str], labels: dict[str, str]) -> dict[str, object] | None:
    tool = shutil.which("spamassassin")
    if tool is None:
        return None
    flagged: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for file in files:
        label = labels[Path(file).name]
        totals[label] += 1
        with open(file, "rb") as handle:
            done = subprocess.run(
                [tool, "-L", "-e"], stdin=handle, capture_output=True, timeout=120
            )
        flagged[label] += int(done.returncode != 0)
    return {
        label: {
            "total": totals[label],
            "flagged": flagged[label],
            "flagged_share": round(flagged[label] / totals[label], 3),
        }
        for label in sorted(totals)
    }


def measure(
    source: Path, keep_verdicts: bool, with_spamassassin: bool, intel: list[Path]
) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        flat = Path(scratch) / "flat"
        labels = neutral_copy(source, flat, keep_verdicts)
        files = sorted(str(flat / name) for name in labels)
        lines, status, traceback, elapsed = run_heron(
            files, Path(scratch) / "home", intel
        )
        sa = spamassassin(files, labels) if with_spamassassin else None
    confusion: dict[str, Counter[str]] = {}
    for line in lines:
        confusion.setdefault(labels[Path(line["source"]).name], Counter())[
            line["verdict"]
        ] += 1
    report: dict[str, object] = {
        "copy": "verdict headers kept" if keep_verdicts else "verdict headers stripped",
        "keep_verdicts": keep_verdicts,
        "files": len(files),
        "lines": len(lines),
        "exit_status": status,
        "traceback": traceback,
        "seconds": round(elapsed, 1),
        "seconds_per_message": round(elapsed / max(len(files), 1), 4),
        "confusion": {label: dict(c) for label, c in sorted(confusion.items())},
        "contributions": contributions(lines, labels),
        "spamassassin": sa,
        "intel": [str(p) for p in intel],
        "warned_malformed": _warned(lines, labels, "malformed"),
        "warned_ham": _warned(lines, labels, "ham"),
    }
    for label, counts in sorted(confusion.items()):
        total = sum(counts.values())
        flagged = sum(counts[v] for v in FLAGGED)
        report[label] = {
            "total": total,
            "flagged": flagged,
            "flagged_share": round(flagged / total, 3),
            **dict(counts),
        }
    return report


def _warned(lines: list[dict], labels: dict[str, str], label: str) -> int:
    return sum(
        1
        for line in lines
        if labels[Path(line["source"]).name] == label and line["warnings"]
    )


def show(report: dict) -> None:
    intel = f", intel {', '.join(report['intel'])}" if report["intel"] else ", no intel"
    print(f"== {report['copy']}: {report['files']} files, {report['seconds']} s{intel}")
    for label in ("phish", "ham", "malformed"):
        if label in report:
            row = report[label]
            what = "recall" if label == "phish" else "flagged"
            print(
                f"  {label:9} {what} {row['flagged']}/{row['total']} "
                f"({100 * row['flagged_share']:.1f} %)"
            )
    print(
        f"  files with warnings: malformed {report['warned_malformed']}, "
        f"ham {report['warned_ham']}"
    )
    print("  confusion (label: " + ", ".join(VERDICTS) + ")")
    for label, counts in report["confusion"].items():
        print(f"    {label:9} " + "  ".join(f"{counts.get(v, 0):4}" for v in VERDICTS))
    print("  analyzer contributions (counted on phish / ham; decisive phish / ham)")
    for name, counts in report["contributions"].items():
        print(
            f"    {name:16} {counts.get('phish', 0):4} / {counts.get('ham', 0):<4}"
            f"  {counts.get('decisive_phish', 0):4} / {counts.get('decisive_ham', 0)}"
        )
    sa = report["spamassassin"]
    if sa:
        print(
            "  spamassassin -L: "
            + ", ".join(f"{k} {v['flagged']}/{v['total']}" for k, v in sa.items())
        )
    elif sa is None:
        print("  spamassassin: skipped or not installed, no comparison")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labelled", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", choices=("keep", "strip"))
    parser.add_argument("--no-spamassassin", action="store_true")
    parser.add_argument(
        "--intel",
        type=Path,
        action="append",
        default=[],
        help="threat-intel feed file or folder for heron to load (repeatable)",
    )
    args = parser.parse_args()
    modes = {"keep": [True], "strip": [False], None: [True, False]}[args.only]
    reports = [
        measure(args.labelled, keep, not args.no_spamassassin, args.intel)
        for keep in modes
    ]
    for report in reports:
        show(report)
    summary = {
        ("kept" if r["keep_verdicts"] else "stripped"): {
            "phish_recall": r.get("phish", {}).get("flagged_share"),
            "ham_false_positive_rate": r.get("ham", {}).get("flagged_share"),
            "malformed_with_warnings": r["warned_malformed"],
            "ham_with_warnings": r["warned_ham"],
            "intel": r["intel"],
            "seconds_per_message": r["seconds_per_message"],
            "confusion": r["confusion"],
            "contributions": r["contributions"],
            "spamassassin": r["spamassassin"],
        }
        for r in reports
    }
    print(json.dumps(summary, sort_keys=True))
    failed = any(
        r["lines"] != r["files"] or r["traceback"] or r["exit_status"] != 0
        for r in reports
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
