"""Custom alert policies written as Sigma rules, evaluated against audit events.

pySigma reads each rule and parses its condition into a tree of AND, OR, NOT and
field-equals-value tests, with the rule's modifiers already applied to the values
(``contains`` becomes a wildcard string, ``re`` a regular expression). heron walks
that tree over each stored audit record. Sigma's Microsoft 365 field names map
onto the record like this:
- ``eventSource`` is the record's Workload;
- ``eventName`` is the alert's name for Security & Compliance alerts, else the
  Operation;
- ``status`` is ``success`` or ``failure``, from ResultStatus;
- any other field is the record's own field (case aside). Failing that, it is a
  Name/Value pair of its Parameters, OperationProperties, ExtendedProperties or
  ModifiedProperties.

A field holding Name/Value pairs (``Parameters``) matches when any name or value
does.

A rule heron cannot evaluate is listed with the reason, never silently dropped:
- a rule for another product than m365 or azure;
- an aggregation or correlation;
- a value type heron does not match (placeholders, field references, queries).

Each rule becomes a policy named by its title, with its level as severity. The
playbook it starts is its ``heron_playbook`` field; the default is
``compromised-user`` when the record names a mailbox.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex
import yaml
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)

from heron.domain.playbooks import PLAYBOOKS
from heron.domain.policies import AlertPolicy

log = logging.getLogger(__name__)

# The records heron reads are Microsoft 365's; Azure AD's sign-in and audit logs
# are other records, which no rule over them would ever match here.
PRODUCTS = ("m365",)
# A pattern that has not matched in this long is taken as no match (a rule's
# regular expression may backtrack without end).
MATCH_SECONDS = 0.05
MAX_VALUE = 64 * 1024
SEVERITIES = {
    "informational": "informational",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "high",
}
MAX_RULE = 256 * 1024
_PAIRS = (
    "Parameters",
    "OperationProperties",
    "ExtendedProperties",
    "ModifiedProperties",
)


class Unevaluable(Exception):
    """A construct of a rule heron does not evaluate."""


@dataclass(frozen=True)
class SigmaPolicy:
    """One evaluable rule as an alert policy."""

    policy: AlertPolicy
    rule_id: str
    path: str
    tree: Any

    def matches(self, record: dict[str, Any]) -> bool:
        return _holds(self.tree, record)


@dataclass(frozen=True)
class Skipped:
    """A rule that was read and cannot be evaluated, and why."""

    path: str
    title: str
    reason: str


def load(paths: list[Path]) -> tuple[list[SigmaPolicy], list[Skipped]]:
    """Every rule in the files and folders named; those heron cannot evaluate
    come back with the reason."""
    policies: list[SigmaPolicy] = []
    skipped: list[Skipped] = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            skipped.append(Skipped(str(path), "", f"cannot be read: {exc}"))
            continue
        if len(text) > MAX_RULE:
            skipped.append(Skipped(str(path), "", f"larger than {MAX_RULE} bytes"))
            continue
        made = _policy(path, text)
        if isinstance(made, Skipped):
            skipped.append(made)
        else:
            policies.append(made)
    return policies, skipped


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yml", ".yaml") and p.is_file()
            )
        elif path.is_file():
            yield path


def _policy(path: Path, text: str) -> SigmaPolicy | Skipped:
    try:
        rule = SigmaRule.from_yaml(text)
    except (SigmaError, yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        return Skipped(str(path), "", f"not a Sigma rule pySigma reads: {exc}")
    title = str(rule.title or path.stem)
    product = (rule.logsource.product or "").lower()
    if product not in PRODUCTS:
        return Skipped(
            str(path), title, f"for product {product or 'none'}, not Microsoft 365"
        )
    try:
        conditions = rule.detection.parsed_condition
        if len(conditions) != 1:
            raise Unevaluable(f"{len(conditions)} conditions")
        tree = conditions[0].parsed
        _check(tree)
    except Unevaluable as exc:
        return Skipped(str(path), title, f"cannot be evaluated: {exc}")
    except RecursionError:
        return Skipped(str(path), title, "its condition is nested too deeply")
    except (SigmaError, ValueError, TypeError, AttributeError) as exc:
        return Skipped(str(path), title, f"its condition cannot be parsed: {exc}")
    level = str(rule.level.name if rule.level else "medium").lower()
    custom = rule.custom_attributes or {}
    playbook = str(custom.get("heron_playbook", "compromised-user"))
    if playbook and playbook not in PLAYBOOKS:
        return Skipped(
            str(path), title, f"names a playbook heron does not have: {playbook[:80]}"
        )
    return SigmaPolicy(
        AlertPolicy(
            name=title,
            severity=SEVERITIES.get(level, "medium"),
            category="Sigma",
            event_type="sigma",
            playbook=playbook,
            description=str(rule.description or "")[:500],
        ),
        str(rule.id or path.stem),
        str(path),
        tree,
    )


def _check(node: Any) -> None:
    """Refuse, with the reason, any construct ``_holds`` does not evaluate."""
    if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
        for arg in node.args:
            _check(arg)
    elif isinstance(
        node, (ConditionFieldEqualsValueExpression, ConditionValueExpression)
    ):
        if not isinstance(
            node.value,
            (
                SigmaString,
                SigmaNumber,
                SigmaBool,
                SigmaNull,
                SigmaRegularExpression,
                SigmaCIDRExpression,
                SigmaCompareExpression,
                SigmaExists,
            ),
        ):
            raise Unevaluable(f"values of type {type(node.value).__name__}")
        if isinstance(node.value, SigmaString) and node.value.contains_placeholder():
            raise Unevaluable("placeholders")
    else:
        raise Unevaluable(f"{type(node).__name__} in its condition")


def _holds(node: Any, record: dict[str, Any]) -> bool:
    if isinstance(node, ConditionAND):
        return all(_holds(a, record) for a in node.args)
    if isinstance(node, ConditionOR):
        return any(_holds(a, record) for a in node.args)
    if isinstance(node, ConditionNOT):
        return not _holds(node.args[0], record)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        found = field_values(record, node.field)
        if isinstance(node.value, SigmaNull):
            return not found or all(v is None or v == "" for v in found)
        if isinstance(node.value, SigmaExists):
            return bool(found) == node.value.exists
        return any(_equals(node.value, v) for v in found)
    if isinstance(node, ConditionValueExpression):  # a keyword anywhere
        return any(_equals(node.value, v) for v in _leaves(record))
    return False


def field_values(record: dict[str, Any], name: str) -> list[Any]:
    """The record's values for a Sigma field name (see the module's mapping)."""
    key = name.lower()
    if key == "eventsource":
        return [record.get("Workload")] if "Workload" in record else []
    if key == "eventname":
        if record.get("Workload") == "SecurityComplianceCenter" and record.get("Name"):
            return [record["Name"]]
        return [record.get("Operation")] if "Operation" in record else []
    if key == "status" and (
        "ResultStatus" in record or "status" not in {k.lower() for k in record}
    ):
        status = str(record.get("ResultStatus", "")).lower()
        if not status:
            return []
        ok = status in ("succeeded", "success", "true", "partiallysucceeded")
        return ["success" if ok else "failure"]
    for field_name, value in record.items():
        if field_name.lower() == key:
            return list(_leaves(value)) if isinstance(value, (list, dict)) else [value]
    for pairs in _PAIRS:
        for item in record.get(pairs) or []:
            if isinstance(item, dict) and str(item.get("Name", "")).lower() == key:
                return [item.get("Value")]
    return []


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _equals(expected: Any, value: Any) -> bool:
    if value is None:
        return False
    text = str(value)[:MAX_VALUE]
    try:
        if isinstance(expected, SigmaString):
            return bool(_regex(expected).fullmatch(text, timeout=MATCH_SECONDS))
        if isinstance(expected, SigmaRegularExpression):
            flags = (
                regex.IGNORECASE
                if "i" in {f.name.lower()[:1] for f in expected.flags}
                else 0
            )
            return bool(
                regex.search(str(expected.regexp), text, flags, timeout=MATCH_SECONDS)
            )
    except TimeoutError:
        log.warning("a sigma pattern ran out of time on a value; taken as no match")
        return False
    except regex.error:
        return False
    if isinstance(expected, SigmaNumber):
        try:
            return float(value) == float(expected.number)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, SigmaBool):
        return str(value).lower() == str(expected.boolean).lower()
    if isinstance(expected, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(_without_port(str(value))) in expected.network
        except ValueError:
            return False
    if isinstance(expected, SigmaCompareExpression):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        limit = float(expected.number.number)
        op = expected.op
        return {
            SigmaCompareExpression.CompareOperators.LT: number < limit,
            SigmaCompareExpression.CompareOperators.LTE: number <= limit,
            SigmaCompareExpression.CompareOperators.GT: number > limit,
            SigmaCompareExpression.CompareOperators.GTE: number >= limit,
        }.get(op, False)
    return False


_REGEX_CACHE: dict[str, Any] = {}


def _regex(value: SigmaString) -> Any:
    """The string as a case-insensitive pattern (Sigma strings are)."""
    text = str(value.to_regex().regexp)
    pattern = _REGEX_CACHE.get(text)
    if pattern is None:
        pattern = regex.compile(text, regex.IGNORECASE | regex.DOTALL)
        _REGEX_CACHE[text] = pattern
    return pattern


def _without_port(text: str) -> str:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text
