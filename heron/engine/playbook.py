"""Running a playbook's steps over the messages of an investigation.

Analyzers are pure and run on the task runner; this module times them, catches their
failures (a failing step is logged as failed, never a crash) and hands results back
for the engine to persist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from heron.analyzers import REGISTRY, AnalyzerContext, AnalyzerResult, Lookups
from heron.analyzers.base import CONDITIONS
from heron.domain.entities import EntityRef
from heron.domain.playbooks import Playbook, PlaybookStep
from heron.domain.verdicts import StepStatus
from heron.engine.runner import TaskRunner
from heron.mail.facts import MessageFacts
from heron.store.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepRun:
    """One step over one message: the result and when it ran."""

    step: PlaybookStep
    message: EntityRef
    result: AnalyzerResult
    started_at: datetime
    ended_at: datetime


def run_steps(
    playbook: Playbook,
    messages: list[tuple[EntityRef, MessageFacts]],
    lookups: Lookups,
    runner: TaskRunner | None = None,
) -> list[StepRun]:
    """Every step of ``playbook`` over every message, in playbook order.

    With a runner the steps run on it; without one they run here, one after another.
    A caller that is itself a runner task runs them here: a task waiting on tasks of
    its own pool can starve it.
    """
    work = [
        (step, entity, facts) for entity, facts in messages for step in playbook.steps
    ]
    if runner is None:
        return [_run_one(step, entity, facts, lookups) for step, entity, facts in work]
    futures = [
        runner.submit(_run_one, step, entity, facts, lookups)
        for step, entity, facts in work
    ]
    return [future.result() for future in futures]


def _run_one(
    step: PlaybookStep, entity: EntityRef, facts: MessageFacts, lookups: Lookups
) -> StepRun:
    started = utcnow()
    condition = CONDITIONS.get(step.when)
    analyzer = REGISTRY.get(step.analyzer)
    if condition is None or analyzer is None:
        missing = "condition" if condition is None else "analyzer"
        value = step.when if condition is None else step.analyzer
        result = AnalyzerResult(StepStatus.FAILED, f"unknown {missing} {value!r}")
    elif not condition(facts):
        result = AnalyzerResult.not_applicable(f"condition {step.when} does not hold")
    else:
        result = _guarded(step, AnalyzerContext(facts, entity, lookups))
    return StepRun(step, entity, result, started, utcnow())


def _guarded(step: PlaybookStep, context: AnalyzerContext) -> AnalyzerResult:
    try:
        return REGISTRY[step.analyzer].run(context)
    except Exception as exc:  # an analyzer bug must not stop the investigation
        log.exception("analyzer %s failed on %s", step.analyzer, context.entity)
        return AnalyzerResult(StepStatus.FAILED, f"{type(exc).__name__}: {exc}")
