"""The analyzer contract and its registry.

An analyzer declares its name, the entity types it accepts and the lookups it needs,
and is a pure function from an ``AnalyzerContext`` to an ``AnalyzerResult``. It reads
only what it is handed; it never opens files, sockets or the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from heron.analyzers.lexicon import DEFAULT_HOST_LISTS, HostLists
from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.verdicts import StepStatus
from heron.mail.facts import MessageFacts


class IntelLookup(Protocol):
    """What analyzers need of threat intel: indicators by kind and value."""

    def lookup(self, kind: str, value: str) -> Sequence[object]: ...

    def lookup_ip(self, ip: str) -> Sequence[object]: ...


class ListMatch(Protocol):
    """One allow or block list entry that matched."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def list(self) -> str: ...


class OrgListLookup(Protocol):
    """What analyzers need of the organisation's allow and block list."""

    def match_sender(self, address: str) -> ListMatch | None: ...

    def match_url(self, url: str) -> ListMatch | None: ...

    def match_hash(self, sha256: str) -> ListMatch | None: ...

    def match_ip(self, ip: str) -> ListMatch | None: ...


class RuleMatchView(Protocol):
    """One YARA rule that matched."""

    @property
    def rule(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def description(self) -> str: ...


class RuleMatcher(Protocol):
    """What analyzers need of YARA: the rules matching a buffer."""

    def match(self, data: bytes) -> Sequence[RuleMatchView]: ...


@dataclass(frozen=True)
class Lookups:
    """Everything outside the message an analyzer may consult."""

    intel: IntelLookup | None = None
    intel_size: int = 0
    org_lists: OrgListLookup | None = None
    trusted_authserv_ids: tuple[str, ...] = ()
    trusted_arc_sealers: tuple[str, ...] = ()
    org_domains: tuple[str, ...] = ()
    partner_domains: tuple[str, ...] = ()
    vip_names: tuple[str, ...] = ()
    yara: RuleMatcher | None = None
    host_lists: HostLists = DEFAULT_HOST_LISTS


@dataclass(frozen=True)
class AnalyzerContext:
    """The message under investigation, its entity, and the lookups."""

    message: MessageFacts
    entity: EntityRef
    lookups: Lookups


@dataclass(frozen=True)
class AnalyzerResult:
    """What one analyzer run gave.

    ``entities`` are entities it found, each with the entity it was found in, so the
    investigation can grow its graph.
    """

    status: StepStatus
    summary: str
    findings: tuple[Finding, ...] = ()
    entities: tuple[tuple[EntityRef, EntityRef], ...] = ()

    @classmethod
    def not_applicable(cls, why: str) -> AnalyzerResult:
        return cls(StepStatus.NOT_APPLICABLE, why)

    @classmethod
    def from_findings(
        cls, findings: list[Finding], summary: str, *, clean_summary: str = ""
    ) -> AnalyzerResult:
        """Completed when something worse than informational was seen; else nothing found."""
        bad = [f for f in findings if f.severity.rank > 0]
        status = StepStatus.COMPLETED if bad else StepStatus.NOTHING_FOUND
        return cls(
            status, summary if bad else (clean_summary or summary), tuple(findings)
        )


AnalyzerFunction = Callable[[AnalyzerContext], AnalyzerResult]


@dataclass(frozen=True)
class Analyzer:
    """A registered analyzer: its name, what it accepts and needs, and its function."""

    name: str
    accepts: tuple[EntityType, ...]
    needs: tuple[str, ...]
    description: str
    run: AnalyzerFunction = field(repr=False)


REGISTRY: dict[str, Analyzer] = {}


def analyzer(
    name: str,
    *,
    accepts: tuple[EntityType, ...],
    needs: tuple[str, ...] = (),
    description: str,
) -> Callable[[AnalyzerFunction], AnalyzerFunction]:
    """Register the decorated function as analyzer ``name``."""

    def register(function: AnalyzerFunction) -> AnalyzerFunction:
        if name in REGISTRY:
            raise ValueError(f"analyzer {name!r} is registered twice")
        REGISTRY[name] = Analyzer(name, accepts, needs, description, function)
        return function

    return register


CONDITIONS: dict[str, Callable[[MessageFacts], bool]] = {
    "always": lambda facts: True,
    "has_urls": lambda facts: bool(facts.every_url()),
    "has_attachments": lambda facts: bool(facts.every_attachment()),
}
