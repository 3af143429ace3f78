"""An investigation's indicators as a STIX 2.1 bundle (the stix2 library builds and
checks every object).

Each url, domain, file, ip and sender the investigation judged malicious or
suspicious becomes an Indicator with a STIX pattern; a Report names them all, and
an Identity names heron's organisation as their creator. The indicator's
description carries the verdict's reasons.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import uuid
from typing import Any

import stix2
from sqlalchemy import select
from sqlalchemy.orm import Session

from heron.engine.activity import Feed
from heron.engine.clusters import EMPTY_SHA256
from heron.store import models as m

log = logging.getLogger(__name__)

JUDGED = ("malicious", "suspicious")
MAX_INDICATORS = 5000


def _literal(value: str) -> str:
    """A STIX pattern string literal: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _id(kind: str, *parts: object) -> str:
    """A stable STIX id: the same investigation gives the same bundle."""
    seed = ":".join(str(p) for p in ("heron", *parts))
    return f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def _pattern(kind: str, value: str) -> str | None:
    if kind == "url":
        return f"[url:value = {_literal(value)}]"
    if kind == "domain":
        return f"[domain-name:value = {_literal(value)}]"
    if kind == "file":
        return f"[file:hashes.'SHA-256' = {_literal(value)}]"
    if kind == "sender":
        return f"[email-message:from_ref.value = {_literal(value)}]"
    if kind == "ip":
        try:
            version = ipaddress.ip_address(value).version
        except ValueError:
            return None
        return f"[ipv{version}-addr:value = {_literal(value)}]"
    return None


def bundle(
    session: Session, feed: Feed, investigation: m.Investigation
) -> dict[str, Any]:
    """The bundle as JSON-ready data."""
    creator = stix2.Identity(
        id=_id("identity", feed.tenant),
        name="heron",
        identity_class="organization",
    )
    rows = session.scalars(
        select(m.InvestigationEntity)
        .where(
            m.InvestigationEntity.investigation_id == investigation.id,
            m.InvestigationEntity.verdict.in_(JUDGED),
        )
        .order_by(m.InvestigationEntity.id)
        .limit(MAX_INDICATORS)
    ).all()
    indicators = []
    for row in rows:
        pattern = _pattern(row.type, row.value)
        if pattern is None or row.value == EMPTY_SHA256:
            continue
        reasons = "; ".join(
            str(r.get("summary", ""))
            for r in (row.reasons or [])
            if isinstance(r, dict)
        )
        try:
            indicator = stix2.Indicator(
                id=_id("indicator", investigation.id, row.type, row.value),
                created_by_ref=creator.id,
                name=f"{row.type} {row.value[:200]}",
                description=f"{row.verdict}: {reasons}"[:4000],
                pattern=pattern,
                pattern_type="stix",
                valid_from=row.added_at,
                indicator_types=[
                    "malicious-activity"
                    if row.verdict == "malicious"
                    else "anomalous-activity"
                ],
                labels=[row.verdict],
                allow_custom=False,
            )
        except (stix2.exceptions.STIXError, ValueError) as exc:
            log.warning("investigation %s: %s %s left out of STIX: %s",
                        investigation.id, row.type, row.value[:80], exc)  # fmt: skip
            continue
        indicators.append(indicator)
    objects: list[Any] = [creator, *indicators]
    if indicators:
        objects.append(
            stix2.Report(
                id=_id("report", investigation.id),
                created_by_ref=creator.id,
                name=f"heron investigation {investigation.id}: {investigation.name[:200]}",
                description=f"verdict {investigation.verdict}, status "
                f"{investigation.status}; {feed.deeplink(investigation.id)}",
                published=investigation.updated_at,
                report_types=["threat-report"],
                object_refs=[i.id for i in indicators],
            )
        )
    made = stix2.Bundle(objects=objects, allow_custom=False)
    return json.loads(made.serialize())  # type: ignore[no-any-return]
