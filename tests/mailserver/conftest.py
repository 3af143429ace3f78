"""The mail lab: one Dovecot and one Postfix for the whole run, and a heron whose
connectors reach them. Each test uses mailboxes of its own, so tests do not see
each other's mail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.config import Settings, load_settings
from heron.engine.service import Heron
from tests.factories import staff
from tests.maillab import DOMAIN, MASTER_PASSWORD, Lab

PHISH_URL = "https://payroll-check.test/confirm"


def lab_settings(
    lab: Lab, group: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for name in list(os.environ):
        if name.startswith("HERON_") and name != "HERON_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HERON_HOME", str(home))
    monkeypatch.setenv("HERON_SECRET_LAB", MASTER_PASSWORD)
    (home / "intel").mkdir(parents=True, exist_ok=True)
    (home / "intel" / "feed.txt").write_text(PHISH_URL + "\n")
    return load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'heron.db'}",
        operator="tester",
        org_domains=[DOMAIN],
        connectors=lab.connectors(group),
        workers=2,
    )


@pytest.fixture
def heron_for(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    made: list[Heron] = []

    def make(group: str) -> Heron:
        instance = Heron(lab_settings(lab, group, tmp_path / "home", monkeypatch))
        staff(instance)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()
