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
from tests.maillab import DOMAIN, MASTER, MASTER_PASSWORD, Dovecot, Postfix, require_lab

PHISH_URL = "https://payroll-check.test/confirm"
GROUPS = {
    "loop": ["ann", "ben", "cat"],
    "forward": ["fay"],
    "delegation": ["dan", "eve"],
    "block": ["gil"],
    "purge": ["hal", "ian"],
    "crash": [f"bulk{n:02d}" for n in range(1, 51)],
    "poll": ["ida"],
}


def addresses(group: str) -> list[str]:
    return [f"{name}@{DOMAIN}" for name in GROUPS[group]]


class Lab:
    def __init__(self, root: Path) -> None:
        users = sorted(a for group in GROUPS for a in addresses(group))
        self.root = root
        self.dovecot = Dovecot(root / "dovecot", users)
        self.postfix = Postfix(root / "postfix", self.dovecot.lmtp_port, users)

    def start(self) -> None:
        self.dovecot.start()
        try:
            self.postfix.start()
        except BaseException:
            self.dovecot.stop()
            raise

    def stop(self) -> None:
        self.postfix.stop()
        self.dovecot.stop()

    def connectors(self, group: str) -> list[dict[str, object]]:
        return [
            {
                "type": "dovecot",
                "name": "lab",
                "host": "127.0.0.1",
                "imap_port": self.dovecot.imap_port,
                "imap_tls": "none",
                "sieve_port": self.dovecot.sieve_port,
                "sieve_tls": "none",
                "allow_plaintext": True,
                "master_user": MASTER,
                "password_env": "HERON_SECRET_LAB",
                "users": addresses(group),
                "timeout": 30,
            },
            {
                "type": "postfix",
                "name": "mx",
                "access_map": str(self.postfix.access_map),
                "config_dir": str(self.postfix.etc),
            },
        ]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_lab()
    place = Lab(tmp_path_factory.mktemp("maillab"))
    place.start()
    yield place
    place.stop()


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
        purge_approvers=["purger"],
        workers=2,
    )


@pytest.fixture
def heron_for(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    made: list[Heron] = []

    def make(group: str) -> Heron:
        instance = Heron(lab_settings(lab, group, tmp_path / "home", monkeypatch))
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()
