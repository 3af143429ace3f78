"""Clusters at the size of a real organisation: ingest rate and investigation latency.

    python bench/cluster.py --sizes 10000,100000,1000000 [--database-url URL]
                            [--keep DIR] [--investigations 20] [--seed 7]

For each size (delivered copies) the script builds a synthetic organisation as
Maildirs: one mailbox per 50 copies; everyday traffic drawn from varied templates
(newsletters, meeting notes, supplier invoices, shipping notices, HR and IT notices,
colleagues' questions) with 1 to 6 recipients per message, 3 on average, spread over
the last 30 days; and phishing campaigns, each with its own lure, sending ip and
sender domains, whose copies change their subject number, sender, link and greeting
from one recipient to the next, some already in the trash or junk. heron ingests the
Maildirs through its own ingest path (``Heron.ingest``, one process, on SQLite in a
fresh HERON_HOME unless ``--database-url`` names a PostgreSQL database, which must be
empty), then a user of each of ``--investigations`` campaigns reports their copy,
and the time from the report to the end of its investigation (analysis, verdicts,
clusters with their members and counts, proposed actions) is measured.

``--keep DIR`` builds each organisation under DIR and keeps it; a later run with the
same DIR, size and seed reuses it (and the ingest figures measured when it was
built) instead of building it again. The reports of a measured run are undone
before the next run reuses the organisation.

The last line is one JSON object: the database, and per size the copies, messages
and mailboxes, ingest_copies_per_s, ingest_messages_per_s, investigate_median_s and
investigate_p95_s, and the ratio of each size's median latency to the smallest
size's, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ORG = "example.org"
COPIES_PER_MAILBOX = 50
DAYS = 30

FIRST = [
    "Ann",
    "Ben",
    "Cleo",
    "Dan",
    "Eve",
    "Finn",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Oli",
    "Pia",
    "Quin",
    "Rui",
    "Sam",
    "Tia",
    "Uma",
    "Vic",
    "Wen",
    "Xia",
    "Yuri",
    "Zoe",
    "Ada",
    "Bo",
    "Cy",
    "Di",
]
LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Moore",
    "Taylor",
    "Thomas",
    "White",
    "Harris",
    "Martin",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
]
WORDS = [
    "budget",
    "review",
    "project",
    "timeline",
    "client",
    "proposal",
    "draft",
    "agenda",
    "slides",
    "report",
    "quarter",
    "forecast",
    "contract",
    "renewal",
    "supplier",
    "delivery",
    "schedule",
    "meeting",
    "office",
    "training",
    "policy",
    "update",
    "release",
    "testing",
    "feedback",
    "invoice",
    "payment",
    "order",
    "account",
    "travel",
    "booking",
    "workshop",
    "roadmap",
    "hiring",
    "onboarding",
    "security",
    "backup",
    "network",
]


@dataclass
class Template:
    """One kind of everyday mail: who sends it, its subject and its body."""

    kind: str
    subject: str
    body: str
    html: bool = False


TEMPLATES = [
    Template(
        "newsletter",
        "{brand} weekly: {w1} and {w2} news #{n}",
        "Hello {first},\n\nThis week at {brand}: our {w1} team shares what changed "
        "in {w2}, and three tips on {w3}. Read more at https://{domain}/news/{n}.\n\n"
        "You receive this because you subscribed. Unsubscribe at "
        "https://{domain}/u/{token}.\n",
        html=True,
    ),
    Template(
        "meeting",
        "Notes from the {w1} meeting on {day}",
        "Hi all,\n\nthe notes from today's {w1} meeting: we agreed on the {w2} "
        "timeline, {first} takes the {w3} follow-up, and the next meeting is on the "
        "{n}th. Shared folder: https://intranet.{org}/docs/{token}\n\nThanks,\n"
        "{sender_first}\n",
    ),
    Template(
        "invoice",
        "Invoice {n} from {brand}",
        "Dear customer,\n\nplease find invoice {n} for the {w1} services of last "
        "month. The amount of {amount} EUR is due within 30 days. Details at "
        "https://billing.{domain}/invoice/{n}.\n\nRegards,\n{brand} accounts\n",
    ),
    Template(
        "shipping",
        "Your order {n} has shipped",
        "Good news {first}! Your order {n} ({w1} kit) left our warehouse today and "
        "should arrive within {small} days. Track it at https://track.{domain}/{token}"
        "\n",
        html=True,
    ),
    Template(
        "hr",
        "Reminder: {w1} training before the {n}th",
        "Dear colleagues,\n\nas announced, the {w1} training is mandatory for every "
        "team this quarter. Book a session on the learning portal "
        "https://learn.{org}/course/{small} before the {n}th.\n\nPeople team\n",
    ),
    Template(
        "question",
        "Quick question about the {w1} {w2}",
        "Hi {first},\n\ndo you have the latest version of the {w1} {w2}? I want to "
        "check the {w3} numbers before Thursday.\n\nCheers,\n{sender_first}\n",
    ),
    Template(
        "it",
        "Planned maintenance of the {w1} service on {day}",
        "Hello,\n\nthe {w1} service will be unavailable on {day} from 20:00 to "
        "22:00 for a {w2} update. No action is needed. Status page: "
        "https://status.{org}/\n\nIT operations\n",
    ),
    Template(
        "vendor",
        "{brand}: your {w1} subscription renews soon",
        "Hello {first},\n\nyour {brand} {w1} plan renews on the {n}th. Review your "
        "plan at https://{domain}/account/{token} if you want to change it.\n\n"
        "The {brand} team\n",
        html=True,
    ),
]

LURES = [
    "your mailbox has reached its storage limit and new messages are being held",
    "a payment to your account could not be completed and needs confirmation",
    "your password expires today and must be renewed to keep access",
    "a document was shared with you that needs your signature before noon",
    "your salary statement is ready and your bank details must be confirmed",
    "unusual sign-in activity was detected and your account will be suspended",
    "a parcel addressed to you is waiting and customs fees are unpaid",
    "your tax refund has been approved and needs your card details",
    "the voicemail you missed is attached to this secure message",
    "your invoice is overdue and legal action starts tomorrow",
]
PRESSURE = [
    "Act within 24 hours to avoid losing access.",
    "Failure to verify will result in permanent suspension.",
    "This is your final notice.",
    "Sign in now to keep your account active.",
    "Confirm immediately, otherwise the request is cancelled.",
    "Do not ignore this message.",
]
SIGNERS = [
    "Microsoft 365 Team",
    "IT Service Desk",
    "Payroll Department",
    "DocuSign Notifications",
    "DHL Express",
    "Security Alerts",
]


def rng_ip(rng: random.Random) -> str:
    """A public-looking address (not one of the documentation ranges)."""
    parts = (rng.randint(23, 212), rng.randint(0, 255), rng.randint(0, 255))
    return ".".join(map(str, parts)) + f".{rng.randint(2, 250)}"


def raw_message(
    *,
    sender: str,
    display: str,
    to: list[str],
    subject: str,
    body: str,
    when: datetime,
    ip: str,
    message_id: str,
    html: bool = False,
) -> bytes:
    host = sender.split("@")[1]
    headers = [
        f"Return-Path: <{sender}>",
        f"Received: from mail.{host} (mail.{host} [{ip}]) by mx.{ORG} with ESMTPS; "
        f"{format_datetime(when)}",
        f"From: {display} <{sender}>",
        f"To: {', '.join(to)}",
        f"Subject: {subject}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
    ]
    if not html:
        headers.append('Content-Type: text/plain; charset="utf-8"')
        return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()
    boundary = f"b{message_id.split('@')[0]}"
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    parts = [
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "",
        body,
        f"--{boundary}",
        'Content-Type: text/html; charset="utf-8"',
        "",
        f"<html><body>{paragraphs}</body></html>",
        f"--{boundary}--",
        "",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(parts)).encode()


@dataclass
class Built:
    copies: int
    messages: int
    mailboxes: int
    campaigns: list[list[tuple[str, Path]]]  # per campaign: (mailbox, file) copies


def build_organisation(root: Path, copies: int, campaigns: int, seed: int) -> Built:
    """Write the Maildirs of an organisation with about ``copies`` copies."""
    rng = random.Random(seed)
    mailboxes = [
        f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}{i}@{ORG}"
        for i in range(max(50, copies // COPIES_PER_MAILBOX))
    ]
    for mailbox in mailboxes:
        for sub in ("cur", "new", "tmp"):
            (root / mailbox / sub).mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    brands = [
        (f"{w.title()}{n}", f"{w}{n}-mail.test", rng_ip(rng))
        for n, w in enumerate(rng.sample(WORDS, 20) * 10)
    ]
    counter = 0
    written = 0
    messages = 0

    def deliver(mailbox: str, raw: bytes, folder: str = "") -> Path:
        nonlocal counter
        counter += 1
        base = root / mailbox / folder if folder else root / mailbox
        directory = base / "cur"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{1_700_000_000 + counter}.M{counter}P1.mx:2,S"
        path.write_bytes(raw)
        return path

    # Campaigns take about a tenth of the copies at the smallest size, less above.
    per_campaign = max(10, min(300, copies // (10 * max(campaigns, 1))))
    campaign_copies: list[list[tuple[str, Path]]] = []
    for c in range(campaigns):
        lure = LURES[c % len(LURES)]
        pressure = rng.sample(PRESSURE, 2)
        signer = SIGNERS[c % len(SIGNERS)]
        ip = rng_ip(rng)
        domains = [f"secure-{c}-{rng.choice(WORDS)}{k}.test" for k in range(3)]
        link_host = f"login-{c}.{rng.choice(WORDS)}-verify.test"
        # Campaigns sharing a lure differ in their subject's tag and in the words
        # around the lure, as two kits would.
        tag = f"{rng.choice(WORDS)} {c}"
        started = now - timedelta(hours=rng.uniform(2, 40))
        held: list[tuple[str, Path]] = []
        for k, mailbox in enumerate(
            rng.sample(mailboxes, min(per_campaign, len(mailboxes)))
        ):
            first = mailbox.split(".")[0].title()
            number = rng.randint(1000, 9999)
            body = (
                f"Dear {first},\n\nwe are writing because {lure}. "
                f"{pressure[0]} Open https://{link_host}/{rng.randint(10**6, 10**7)}"
                f"?u={first.lower()} and follow the steps. {pressure[1]}\n\n"
                f"Reference {number}.\n{signer}\n"
            )
            raw = raw_message(
                sender=f"no-reply@{domains[k % 3]}",
                display=signer,
                to=[mailbox],
                subject=f"{lure.split(' and ')[0].capitalize()} ({tag}) [{number}]",
                body=body,
                when=started + timedelta(minutes=k),
                ip=ip,
                message_id=f"c{c}.{k}.{number}@{domains[k % 3]}",
            )
            folder = rng.choices(["", ".Trash", ".Junk"], weights=[90, 6, 4])[0]
            held.append((mailbox, deliver(mailbox, raw, folder)))
            written += 1
            messages += 1
        campaign_copies.append(held)
    serial = 0
    while written < copies:
        template = rng.choice(TEMPLATES)
        count = min(copies - written, max(1, min(6, round(rng.gauss(3, 1.3)))))
        to = rng.sample(mailboxes, count)
        if template.kind in ("meeting", "hr", "it", "question"):
            local = rng.choice(mailboxes)
            sender, display, ip = local, local.split("@")[0].title(), "10.0.0.25"
            domain = ORG
        else:
            brand, domain, ip = rng.choice(brands)
            sender, display = f"news@{domain}", brand
        serial += 1
        fields = {
            "first": to[0].split(".")[0].title(),
            "sender_first": display.split(".")[0],
            "brand": display,
            "domain": domain,
            "org": ORG,
            "w1": rng.choice(WORDS),
            "w2": rng.choice(WORDS),
            "w3": rng.choice(WORDS),
            "n": rng.randint(2, 28),
            "small": rng.randint(1, 9),
            "amount": rng.randint(50, 9000),
            "token": f"{serial:x}{rng.getrandbits(32):08x}",
            "day": (now - timedelta(days=rng.randint(0, DAYS))).strftime("%d %B"),
        }
        raw = raw_message(
            sender=sender,
            display=display,
            to=to,
            subject=template.subject.format(**fields),
            body=template.body.format(**fields),
            when=now - timedelta(seconds=rng.randint(3600 * 48, 86400 * DAYS)),
            ip=ip,
            message_id=f"m{serial}.{fields['token']}@{domain}",
            html=template.html,
        )
        for mailbox in to:
            deliver(mailbox, raw)
        written += count
        messages += 1
    return Built(written, messages, len(mailboxes), campaign_copies)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run_size(copies: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    from heron.config import load_settings
    from heron.engine.service import Heron
    from heron.samples.org import user_report
    from heron.store import models as m

    place = workdir / f"org-{copies}-seed{args.seed}"
    marker = place / "built.json"
    home = place / "home"
    campaigns = max(args.investigations, 24)
    reused = marker.exists() and not args.database_url
    if reused:
        saved = json.loads(marker.read_text())
        built = Built(
            saved["copies"],
            saved["messages"],
            saved["mailboxes"],
            [[(mb, Path(p)) for mb, p in c] for c in saved["campaigns"]],
        )
        ingest_seconds = saved["ingest_seconds"]
        print(f"[{copies}] reusing the organisation under {place}", file=sys.stderr)
    else:
        if place.exists():
            shutil.rmtree(place)
        started = time.perf_counter()
        built = build_organisation(place / "maildirs", copies, campaigns, args.seed)
        print(
            f"[{copies}] wrote {built.copies} copies of {built.messages} messages "
            f"in {built.mailboxes} mailboxes in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    settings = load_settings(
        home=home,
        database_url=args.database_url or "",
        operator="bench",
        workers=1,
    )
    heron = Heron(settings)
    try:
        if not reused:
            started = time.perf_counter()
            summary = heron.ingest(sorted((place / "maildirs").iterdir()))
            ingest_seconds = time.perf_counter() - started
            if summary.errors:
                raise SystemExit(f"ingest errors: {summary.errors[:5]}")
            if not args.database_url:
                marker.write_text(
                    json.dumps(
                        {
                            "copies": built.copies,
                            "messages": built.messages,
                            "mailboxes": built.mailboxes,
                            "ingest_seconds": ingest_seconds,
                            "campaigns": [
                                [[mb, str(p)] for mb, p in c] for c in built.campaigns
                            ],
                        }
                    )
                )
        print(
            f"[{copies}] ingested in {ingest_seconds:.0f} s "
            f"({built.copies / ingest_seconds:.0f} copies/s)",
            file=sys.stderr,
        )
        rng = random.Random(args.seed + copies)
        latencies, verdicts, cluster_counts = [], [], []
        first_investigation = None
        for held in built.campaigns[: args.investigations]:
            reporter, path = rng.choice(held)
            report = user_report(reporter, path.read_bytes())
            started = time.perf_counter()
            heron.report(report, reporter=reporter, source=str(path))
            touched = heron.process()
            latencies.append(time.perf_counter() - started)
            if first_investigation is None and touched:
                first_investigation = min(touched)
            with heron.store.session() as session:
                for investigation_id in touched:
                    row = session.get(m.Investigation, investigation_id)
                    verdicts.append(row.verdict)
                    cluster_counts.append(
                        session.query(m.Cluster)
                        .filter(m.Cluster.investigation_id == investigation_id)
                        .count()
                    )
        print(
            f"[{copies}] {len(latencies)} investigations: median "
            f"{statistics.median(latencies):.3f} s, p95 {percentile(latencies, 0.95):.3f} s; "
            f"verdicts {sorted(verdicts)}; clusters per investigation {cluster_counts}; "
            f"latencies {[round(x, 2) for x in latencies]}",
            file=sys.stderr,
        )
    finally:
        heron.close()
    if reused or args.keep:
        _undo_reports(home, first_investigation, args.database_url)
    return {
        "copies": built.copies,
        "messages": built.messages,
        "mailboxes": built.mailboxes,
        "ingest_copies_per_s": round(built.copies / ingest_seconds, 1),
        "ingest_messages_per_s": round(built.messages / ingest_seconds, 1),
        "investigate_median_s": round(statistics.median(latencies), 4),
        "investigate_p95_s": round(percentile(latencies, 0.95), 4),
        "investigations": len(latencies),
        "reused": reused,
    }


def _undo_reports(home: Path, first: int | None, database_url: str) -> None:
    """Put a kept organisation back as it was built: drop what the measured reports
    added (their investigations and everything hanging from them), and the message
    verdicts they wrote into the index."""
    if first is None or database_url:
        return
    import sqlite3

    connection = sqlite3.connect(home / "heron.db")
    with connection:
        for table in (
            "cluster_members WHERE cluster_id IN (SELECT id FROM clusters WHERE "
            "investigation_id >= ?)",
            "clusters WHERE investigation_id >= ?",
            "actions WHERE investigation_id >= ?",
            "findings WHERE investigation_id >= ?",
            "investigation_entities WHERE investigation_id >= ?",
            "investigation_log WHERE investigation_id >= ?",
            "warnings WHERE investigation_id >= ?",
            "alerts WHERE investigation_id >= ?",
            "investigations WHERE id >= ?",
        ):
            connection.execute(f"DELETE FROM {table}", (first,))
        connection.execute("DELETE FROM reports")
        connection.execute("DELETE FROM events WHERE type IN ('message.reported')")
        connection.execute(
            "UPDATE messages SET verdict = 'unknown', threats = '[]', "
            "verdict_source = ''"
        )
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000", help="copies, comma-separated"
    )
    parser.add_argument(
        "--database-url", default="", help="an empty PostgreSQL database"
    )
    parser.add_argument("--keep", type=Path, help="build under DIR and keep (reuse)")
    parser.add_argument("--investigations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.investigations < 1:
        parser.error("--investigations must be at least 1")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for name in list(os.environ):
        if name.startswith("HERON_"):
            del os.environ[name]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="heron-cluster-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for size in sizes:
            sized = argparse.Namespace(**vars(args))
            if args.database_url:
                sized.database_url = _bench_schema(args.database_url, size)
            results.append(run_size(size, sized, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    base = results[0]["investigate_median_s"] if results else 0
    for result in results:
        result["median_ratio_to_smallest"] = (
            round(float(result["investigate_median_s"]) / float(base), 3)
            if base
            else None
        )
    print(
        json.dumps(
            {
                "database": "postgresql" if args.database_url else "sqlite",
                "sizes": results,
            }
        )
    )


def _bench_schema(url: str, copies: int) -> str:
    """A URL whose tables live in a schema of this benchmark's own, emptied first:
    the database's other schemas are left alone."""
    from sqlalchemy import create_engine, text

    schema = f"heron_bench_{copies}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


if __name__ == "__main__":
    main()
