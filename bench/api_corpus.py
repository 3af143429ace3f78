"""The main job through the API on the shared corpus.

Reports the first 60 phish and 40 ham messages over HTTP as an analyst, uploads 20
audit-record files, decides up to 40 pending actions as an approver (60 % approved), reads
every part of one malicious investigation, then reads the activity feed the way the
Management Activity API's documentation says a collector does. Prints what came
back: statuses, verdicts, decisions, records per RecordType, ApprovedBy, whether each
investigation's last record matches its status, and the audit chain.

    python bench/api_corpus.py [CORPUS]    # default ../shared/corpus

It uses a fresh temporary HERON_HOME and needs no server: the API runs in-process.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from heron.api.app import create_app
from heron.config import load_settings
from heron.engine.scheduler import Scheduler
from heron.engine.service import Heron

corpus = Path(
    sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[2] / "shared/corpus"
)
if not corpus.is_dir():
    sys.exit(f"no corpus at {corpus}")
home = Path(tempfile.mkdtemp(prefix="heron-api-corpus-")) / "home"
os.environ["HERON_HOME"] = str(home)
heron = Heron(
    load_settings(
        home=home, org_domains=["example.com"], intel_paths=[corpus / "intel"]
    )
)
admin = heron.add_user("admin", "admin", purge=False, by=None).token


def H(t):
    return {"Authorization": f"Bearer {t}"}


c = TestClient(create_app(heron))
tok = {
    r: c.post("/api/v1/users", headers=H(admin), json={"name": r, "role": r}).json()[
        "token"
    ]
    for r in ("reader", "analyst", "approver")
}
files = (
    sorted((corpus / "eml/phish").rglob("*"))[:60]
    + sorted((corpus / "eml/ham").rglob("*"))[:40]
)
files = [f for f in files if f.is_file()]
times, statuses = [], {}
for f in files:
    t = time.monotonic()
    r = c.post(
        "/api/v1/reports",
        params={"reporter": "user1@example.com"},
        content=f.read_bytes(),
        headers={**H(tok["analyst"]), "Content-Type": "message/rfc822"},
    )
    times.append(time.monotonic() - t)
    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
print(
    "reports:",
    len(files),
    "http statuses",
    statuses,
    f"median s {statistics.median(times):.2f}",
)
for f in sorted((corpus / "audit/sekoia_o365_management_api").glob("*.json"))[:20]:
    r = c.post(
        "/api/v1/audit-records",
        params={"format": "json"},
        content=f.read_bytes(),
        headers=H(tok["analyst"]),
    )
    statuses[("audit", r.status_code)] = statuses.get(("audit", r.status_code), 0) + 1
print("audit uploads:", {k: v for k, v in statuses.items() if isinstance(k, tuple)})
invs = c.get(
    "/api/v1/investigations", params={"limit": 1000}, headers=H(tok["reader"])
).json()
by = {}
for i in invs:
    by[(i["status"], i["verdict"])] = by.get((i["status"], i["verdict"]), 0) + 1
print("investigations:", len(invs), by)
pending = c.get(
    "/api/v1/actions", params={"status": "pending"}, headers=H(tok["reader"])
).json()
print("pending actions:", len(pending))
random.seed(1)
decided = {"approve": 0, "reject": 0}
codes = {}
for a in pending[:40]:
    verb = "approve" if random.random() < 0.6 else "reject"
    r = c.post(
        f"/api/v1/actions/{a['id']}/{verb}",
        headers=H(tok["approver"]),
        json={"comment": "corpus run"},
    )
    codes[r.status_code] = codes.get(r.status_code, 0) + 1
    decided[verb] += 1
    if r.status_code != 200:
        print("  ", verb, a["id"], r.status_code, r.text[:200])
print("decisions:", decided, "codes", codes)
refused = c.post(
    f"/api/v1/actions/{pending[-1]['id']}/approve", headers=H(tok["reader"]), json={}
)
print("reader approve:", refused.status_code)
# exports on the first malicious investigation
mal = next(i for i in invs if i["verdict"] == "malicious")
for part in ("graph", "log.csv", "actions.csv", "stix", "entities"):
    r = c.get(f"/api/v1/investigations/{mal['id']}/{part}", headers=H(tok["reader"]))
    print(f"  {part}: {r.status_code} {len(r.content)} bytes")
# collector
root = f"/api/v1.0/{heron.feed.tenant}/activity/feed"
c.post(
    f"{root}/subscriptions/start",
    params={"contentType": "Audit.General"},
    headers=H(tok["reader"]),
)
now = datetime.now(UTC)
url, params, recs, pages = (
    f"{root}/subscriptions/content",
    {
        "contentType": "Audit.General",
        "startTime": (now - timedelta(hours=2)).isoformat(),
        "endTime": (now + timedelta(minutes=1)).isoformat(),
    },
    [],
    0,
)
while url:
    r = c.get(url, params=params, headers=H(tok["reader"]))
    pages += 1
    assert r.status_code == 200, r.text
    for b in r.json():
        recs += c.get(b["contentUri"], headers=H(tok["reader"])).json()
    url, params = r.headers.get("NextPageUri"), None
types = {}
for x in recs:
    types[x["RecordType"]] = types.get(x["RecordType"], 0) + 1
approved = {
    (a["ID"], a["ApprovedBy"]) for x in recs for a in x["Actions"] if a["ApprovedBy"]
}
print(
    "feed:",
    len(recs),
    "records on",
    pages,
    "page(s); by RecordType",
    types,
    "; actions with ApprovedBy",
    len(approved),
    set(b for _, b in approved),
)
last = {}
for x in recs:
    last[x["InvestigationId"]] = x["Status"]
current = {
    str(i["id"]): i["status"]
    for i in c.get(
        "/api/v1/investigations", params={"limit": 1000}, headers=H(tok["reader"])
    ).json()
}
mismatch = [k for k, v in current.items() if last.get(k, "").lower() != v]
print(
    "last feed status matches current for",
    len(current) - len(mismatch),
    "of",
    len(current),
)
print(
    "audit verify:",
    c.get("/api/v1/audit/verify", headers=H(tok["reader"])).json()["intact"],
)
print("jobs:", [(o.name, o.outcome) for o in Scheduler(heron).tick()])
heron.close()
