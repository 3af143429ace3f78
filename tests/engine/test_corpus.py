"""The main job over the whole shared corpus: every file gets its line, nothing
crashes, defects show as warnings, and detection meets its targets on the neutral
copy without other filters' verdicts (at least 95 % of phish flagged, at most 2 % of
ham)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus_location import require_corpus
from tests.mail.test_corpus import CLEAN_MALFORMED

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def neutral_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict, list[dict], str, int]:
    corpus = require_corpus()
    scratch = tmp_path_factory.mktemp("corpus")
    flat = scratch / "flat"
    tool = corpus.parent / "tools" / "neutral_corpus.py"
    subprocess.run(
        [sys.executable, str(tool), str(corpus / "eml"), str(flat)],
        check=True,
    )
    labels = json.loads((flat / "labels.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    env["HERON_HOME"] = str(scratch / "home")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "heron.cli.main",
            "investigate",
            "--json",
            *(str(flat / name) for name in sorted(labels)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return labels, lines, run.stderr, run.returncode


def test_every_corpus_file_gets_one_line_and_nothing_crashes(neutral_run):
    labels, lines, stderr, status = neutral_run
    assert status == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert sorted(Path(line["source"]).name for line in lines) == sorted(labels)


def test_defects_of_malformed_files_show_as_warnings(neutral_run):
    labels, lines, _, _ = neutral_run
    originals = _original_names(require_corpus() / "eml" / "malformed")
    silent = [
        originals.get(Path(line["source"]).name, line["source"])
        for line in lines
        if labels[Path(line["source"]).name] == "malformed" and not line["warnings"]
    ]
    assert sorted(set(silent) - set(CLEAN_MALFORMED)) == []


# The targets: phish flagged malicious or suspicious, and ham flagged, on the copy
# neutral_corpus.py makes without --keep-verdicts (bench/detection.py measures both).
PHISH_RECALL = 0.95
HAM_FLAGGED = 0.02


def test_detection_meets_its_targets(neutral_run):
    labels, lines, _, _ = neutral_run
    flagged: dict[str, list[bool]] = {}
    for line in lines:
        label = labels[Path(line["source"]).name]
        flagged.setdefault(label, []).append(
            line["verdict"] in ("malicious", "suspicious")
        )
    phish, ham = flagged["phish"], flagged["ham"]
    assert sum(phish) / len(phish) >= PHISH_RECALL, f"{sum(phish)}/{len(phish)} phish"
    assert sum(ham) / len(ham) <= HAM_FLAGGED, f"{sum(ham)}/{len(ham)} ham"


def _original_names(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        hashlib.sha256(p.read_bytes()).hexdigest()[:20]
        + (".msg" if p.suffix == ".msg" else ".eml"): p.name
        for p in folder.iterdir()
    }
