"""schemathesis against the OpenAPI document: no request makes heron answer 5xx.

Each operation is called with generated data as an admin (who may reach every
route's own validation and lookups) and, for a quarter of the calls, as a reader.
CI runs the short profile (HERON_TEST_FUZZ_EXAMPLES, default 15 per operation); the deep
run is ``HERON_TEST_FUZZ_EXAMPLES=500 python -m pytest tests/api/test_schema_fuzz.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from heron.api.app import create_app
from heron.engine.service import Heron
from heron.samples import org
from tests.factories import staff

EXAMPLES = int(os.environ.get("HERON_TEST_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def api_schema(settings_sqlite) -> Iterator[object]:
    heron = Heron(settings_sqlite)
    maildirs = org.write_maildirs(heron.settings.home / "org")
    (heron.settings.home / "intel").mkdir(parents=True, exist_ok=True)
    (heron.settings.home / "intel" / "feed.txt").write_text(org.INTEL_FEED)
    heron.ingest(maildirs.values())
    # An investigation with actions, so that generated ids name real rows too.
    payroll = next(s.raw for s in org.sample_messages() if s.key == "payroll")
    heron.report(org.user_report("alice@example.org", payroll))
    heron.process()
    tokens = staff(heron)
    app = create_app(heron)
    app.state.fuzz_tokens = tokens
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema
    heron.close()


@pytest.fixture
def settings_sqlite(tmp_path, monkeypatch):
    from heron.config import load_settings

    for name in list(os.environ):
        if name.startswith("HERON_") and not name.startswith("HERON_TEST_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HERON_HOME", str(home))
    return load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'heron.db'}",
        org_domains=["example.org"],
        workers=2,
    )


@schemathesis.serializer("message/rfc822")
def _mail(_context: object, value: object) -> bytes:
    """Generated mail bodies as bytes, whatever schemathesis made of the schema."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_heron_fail(case):
    tokens = case.operation.schema.app.state.fuzz_tokens
    who = "reader" if hash(repr(case.path_parameters)) % 4 == 0 else "admin"
    response = case.call(headers={"Authorization": f"Bearer {tokens[who]}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
