"""load_feeds: many files and directories into one index, bad feeds as warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

from heron.intel.feeds import load_feeds

DATA = Path(__file__).resolve().parents[1] / "data" / "intel"


def _feed_dir(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def test_directory_feeds_load_in_name_order(tmp_path: Path) -> None:
    folder = _feed_dir(tmp_path, "urlhaus.csv", "drop.txt", "hashes.txt")

    index = load_feeds([folder])

    assert index.feeds == ["drop.txt", "hashes.txt", "urlhaus.csv"]
    assert len(index) == 7


def test_a_bad_feed_becomes_a_warning_and_the_others_still_load(
    tmp_path: Path,
) -> None:
    folder = _feed_dir(tmp_path, "feodo.html", "prose.txt", "domains.txt")

    index = load_feeds([folder])

    assert index.feeds == ["domains.txt"]
    assert index.lookup("domain", "evil.example.test")
    file_warnings = [w for w in index.warnings if w.where == "file"]
    assert [w.feed for w in file_warnings] == ["feodo.html", "prose.txt"]


def test_line_warnings_of_loaded_feeds_reach_the_index() -> None:
    index = load_feeds([DATA / "hashes.txt"])

    assert [(w.feed, w.where) for w in index.warnings] == [("hashes.txt", "line 6")]


def test_hidden_files_in_a_directory_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".state").write_text("not a feed")
    _feed_dir(tmp_path, "drop.txt")

    assert load_feeds([tmp_path]).warnings == []


def test_missing_path_becomes_a_warning(tmp_path: Path) -> None:
    index = load_feeds([tmp_path / "gone.csv"])

    assert index.feeds == []
    assert "gone.csv" in index.warnings[0].message
