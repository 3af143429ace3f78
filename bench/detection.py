"""Detection on the shared corpus: how much phish heron flags, and how much ham.

    python bench/detection.py [--corpus ../shared/corpus] [--keep-verdicts | --both]

Copies ``corpus/eml`` flat under neutral names with ``shared/tools/neutral_corpus.py``
(labels in ``labels.json``), runs ``heron investigate --json`` over the copy in a fresh
HERON_HOME, and prints, per label, how many messages got each verdict and the share
judged malicious or suspicious. ``--keep-verdicts`` keeps other filters' verdict headers
in the copy; without it they are stripped, which measures heron on its own evidence;
``--both`` runs both. Exits non-zero when a file produced no line or a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(corpus: Path, keep_verdicts: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        flat = Path(scratch) / "flat"
        tool = corpus.parent / "tools" / "neutral_corpus.py"
        command = [sys.executable, str(tool), str(corpus / "eml"), str(flat)]
        subprocess.run(
            command + (["--keep-verdicts"] if keep_verdicts else []), check=True
        )
        labels = json.loads((flat / "labels.json").read_text())
        files = sorted(str(flat / name) for name in labels)
        env = {**os.environ, "HERON_HOME": str(Path(scratch) / "home")}
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "heron.cli.main", "investigate", "--json", *files],
            capture_output=True,
            text=True,
            env=env,
        )
        elapsed = time.perf_counter() - started
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    by_label: dict[str, Counter[str]] = {}
    for line in lines:
        label = labels[Path(line["source"]).name]
        by_label.setdefault(label, Counter())[line["verdict"]] += 1
    report: dict[str, object] = {
        "keep_verdicts": keep_verdicts,
        "files": len(files),
        "lines": len(lines),
        "exit_status": run.returncode,
        "traceback": "Traceback" in run.stderr,
        "seconds": round(elapsed, 1),
        "seconds_per_message": round(elapsed / max(len(files), 1), 4),
    }
    for label, counts in sorted(by_label.items()):
        total = sum(counts.values())
        flagged = counts["malicious"] + counts["suspicious"]
        report[label] = {
            "total": total,
            "flagged": flagged,
            "flagged_share": round(flagged / total, 3),
            **dict(counts),
        }
    report["warned_malformed"] = sum(
        1
        for line in lines
        if labels[Path(line["source"]).name] == "malformed" and line["warnings"]
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "corpus"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--keep-verdicts", action="store_true")
    mode.add_argument("--both", action="store_true")
    args = parser.parse_args()
    modes = [True, False] if args.both else [args.keep_verdicts]
    failed = False
    for keep in modes:
        report = measure(args.corpus, keep)
        print(json.dumps(report, indent=2))
        failed |= report["lines"] != report["files"] or bool(report["traceback"])
        failed |= report["exit_status"] != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
