"""YARA rules: heron's own ruleset and the folders the organisation configures.

Each ``.yar`` or ``.yara`` file is compiled on its own, so one broken file becomes a
warning and the others still load. Rules are matched against bytes with a timeout;
a rule's meta may give ``severity`` (low, medium, high; medium when absent) and
``description``, which the yara analyzer uses for its finding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BUILT_IN = Path(__file__).with_name("rules")
RULE_SUFFIXES = (".yar", ".yara")
MATCH_SECONDS = 5


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched: its name, the file it came from, severity, description."""

    rule: str
    source: str
    severity: str
    description: str


class YaraRules:
    """Compiled rule files, matched together against one buffer at a time."""

    def __init__(self, compiled: list[tuple[str, Any]], warnings: list[str]) -> None:
        self._compiled = compiled
        self.warnings = warnings

    @property
    def sources(self) -> list[str]:
        return [source for source, _ in self._compiled]

    def __len__(self) -> int:
        return len(self._compiled)

    def match(self, data: bytes) -> list[RuleMatch]:
        """The rules that match ``data``; a rule file that times out or fails is
        skipped for this buffer."""
        found = []
        for source, rules in self._compiled:
            try:
                matches = rules.match(data=data, timeout=MATCH_SECONDS)
            except Exception as error:  # yara.TimeoutError, yara.Error
                log.info("yara rules %s not matched: %s", source, error)
                continue
            for match in matches:
                meta = match.meta or {}
                severity = str(meta.get("severity", "medium")).lower()
                found.append(
                    RuleMatch(
                        match.rule,
                        source,
                        severity if severity in ("low", "medium", "high") else "medium",
                        str(meta.get("description", "")) or f"rule {match.rule}",
                    )
                )
        return found


def load_rules(paths: Iterable[Path]) -> YaraRules:
    """Compile the built-in rules and every rule file under ``paths``."""
    import yara

    compiled: list[tuple[str, Any]] = []
    warnings: list[str] = []
    for path in _rule_files([BUILT_IN, *paths], warnings):
        try:
            compiled.append((path.name, yara.compile(filepath=str(path))))
        except yara.Error as error:
            warnings.append(f"{path}: not compiled: {error}")
    for warning in warnings:
        log.warning("yara: %s", warning)
    return YaraRules(compiled, warnings)


def _rule_files(paths: list[Path], warnings: list[str]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in RULE_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            warnings.append(f"{path}: no such file or folder")
    return files
