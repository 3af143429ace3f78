"""Random sequences of API calls (report, investigate, approve, reject, undo,
propose, automate, expire) by people of every role never leave an action executed
without an approval record by a person allowed to approve it, or by automation
under a rule an admin turned on."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from heron.api.app import create_app
from heron.config import load_settings
from heron.engine.scheduler import Scheduler
from heron.engine.service import Heron
from heron.samples import org
from heron.store import models as m
from heron.store import trail
from heron.store.models import utcnow
from tests.factories import STAFF, staff

PEOPLE = sorted(STAFF)
SAMPLES = {s.key: s.raw for s in org.sample_messages()}
STEPS = int(os.environ.get("HERON_TEST_PROPERTY_STEPS", "12"))
EXAMPLES = int(os.environ.get("HERON_TEST_PROPERTY_EXAMPLES", "8"))
EXECUTED = ("running", "completed", "partial", "failed", "undone")


class ApprovalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="heron-property-"))
        home = self.folder / "home"
        self.heron = Heron(
            load_settings(
                home=home,
                database_url=f"sqlite:///{home / 'heron.db'}",
                org_domains=["example.org"],
                workers=1,
                two_person_rule=True,
            )
        )
        maildirs = org.write_maildirs(home / "org")
        (home / "intel").mkdir(parents=True, exist_ok=True)
        (home / "intel" / "feed.txt").write_text(org.INTEL_FEED)
        self.heron.ingest(maildirs.values())
        self.tokens = staff(self.heron)
        self.client = TestClient(create_app(self.heron))

    def teardown(self) -> None:
        self.client.close()
        self.heron.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def call(
        self,
        who: str,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> int:
        response = self.client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {self.tokens[who]}", **(headers or {})},
            **kwargs,  # type: ignore[arg-type]
        )
        assert response.status_code < 500, response.text
        return response.status_code

    def action_ids(self) -> list[int]:
        with self.heron.store.session() as session:
            return list(session.scalars(select(m.Action.id).order_by(m.Action.id)))

    # -- what people do ------------------------------------------------------------

    @rule(
        who=st.sampled_from(PEOPLE),
        key=st.sampled_from(sorted(SAMPLES)),
        reporter=st.sampled_from(["alice@example.org", "bob@example.org"]),
    )
    def report(self, who: str, key: str, reporter: str) -> None:
        self.call(
            who,
            "POST",
            "/api/v1/reports",
            params={"reporter": reporter},
            content=org.user_report(reporter, SAMPLES[key]),
            headers={"Content-Type": "message/rfc822"},
        )

    @rule(
        who=st.sampled_from(PEOPLE),
        recipient=st.sampled_from(["bob@example.org", "carol@example.org"]),
    )
    def investigate(self, who: str, recipient: str) -> None:
        self.call(who, "POST", "/api/v1/investigations", json={"recipient": recipient})

    @precondition(lambda self: self.action_ids())
    @rule(
        who=st.sampled_from(PEOPLE),
        pick=st.integers(0, 50),
        verb=st.sampled_from(["approve", "reject", "undo"]),
    )
    def decide(self, who: str, pick: int, verb: str) -> None:
        ids = self.action_ids()
        action_id = ids[pick % len(ids)]
        self.call(who, "POST", f"/api/v1/actions/{action_id}/{verb}", json={})

    @precondition(lambda self: self.action_ids())
    @rule(who=st.sampled_from(PEOPLE), pick=st.integers(0, 50))
    def propose_hard_delete(self, who: str, pick: int) -> None:
        with self.heron.store.session() as session:
            soft = list(
                session.scalars(select(m.Action).where(m.Action.type == "soft_delete"))
            )
            chosen = [(a.id, a.investigation_id) for a in soft]
        if not chosen:
            return
        action_id, investigation_id = chosen[pick % len(chosen)]
        self.call(
            who,
            "POST",
            f"/api/v1/investigations/{investigation_id}/actions",
            json={"type": "hard_delete", "after": action_id},
        )

    @precondition(lambda self: self.action_ids())
    @rule(
        who=st.sampled_from(PEOPLE),
        pick=st.integers(0, 50),
        verb=st.sampled_from(["approve", "reject"]),
    )
    def decide_all_of_a_type(self, who: str, pick: int, verb: str) -> None:
        with self.heron.store.session() as session:
            rows = [
                (a.investigation_id, a.type) for a in session.scalars(select(m.Action))
            ]
        investigation_id, kind = rows[pick % len(rows)]
        self.call(
            who,
            "POST",
            f"/api/v1/investigations/{investigation_id}/actions/{verb}",
            json={"type": kind},
        )

    @rule(
        who=st.sampled_from(PEOPLE),
        kind=st.sampled_from(["soft_delete", "block_sender", "hard_delete"]),
        level=st.sampled_from(["off", "automatic"]),
        max_copies=st.one_of(st.none(), st.integers(1, 5)),
    )
    def automation(
        self, who: str, kind: str, level: str, max_copies: int | None
    ) -> None:
        self.call(
            who,
            "PUT",
            f"/api/v1/automation/{kind}",
            json={"level": level, "max_copies": max_copies},
        )

    @precondition(lambda self: self.action_ids())
    @rule()
    def expire(self) -> None:
        with self.heron.store.session() as session:
            for action in session.scalars(
                select(m.Action).where(m.Action.status == "pending")
            ):
                action.expires_at = utcnow() - timedelta(minutes=1)
                break
        Scheduler(self.heron).run("expire", force=True)

    # -- what must always hold ------------------------------------------------------

    @invariant()
    def no_action_ran_without_an_allowed_approval(self) -> None:
        with self.heron.store.session() as session:
            roles = {u.name: (u.role, u.purge) for u in session.scalars(select(m.User))}
            records = trail.records(session, limit=100_000)
            actions = list(session.scalars(select(m.Action)))
        approvals: dict[str, list[dict]] = {}
        for record in records:
            if record["verb"] == "action.approved":
                approvals.setdefault(record["object_id"], []).append(record)
        event(
            "an action ran"
            if any(a.status in EXECUTED for a in actions)
            else "no action ran"
        )
        for action in actions:
            ran = action.status in EXECUTED or action.executed_at is not None
            found = approvals.get(str(action.id), [])
            assert len(found) <= 1, f"action {action.id} approved twice"
            if not ran:
                continue
            assert found, f"action {action.id} ({action.status}) ran with no approval"
            approval = found[0]
            actor = approval["actor"]
            if actor.startswith("automation:"):
                rule_ = approval["detail"]["rule"]
                assert rule_["level"] == "automatic"
                assert rule_["action_type"] == action.type != "hard_delete"
                continue
            role, purge = roles[actor]
            assert role in ("approver", "admin"), (
                f"{actor} ({role}) approved {action.id}"
            )
            if action.type == "hard_delete":
                assert purge, f"{actor} approved a hard delete without the permission"
            assert actor != action.proposed_by, (
                "the proposer approved (two-person rule)"
            )

    @invariant()
    def the_trail_is_intact(self) -> None:
        with self.heron.store.session() as session:
            result = trail.verify(session)
        assert result.intact, json.dumps(result.problems)


ApprovalMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
test_no_action_runs_without_an_approval = ApprovalMachine.TestCase
