from sqlalchemy import select

from heron.engine.service import Heron
from heron.store import models as m


def intel_events(heron: Heron) -> list[dict]:
    with heron.store.session() as session:
        rows = session.scalars(
            select(m.EventRecord).where(m.EventRecord.type == "intel.changed")
        )
        return [row.payload for row in rows]


def test_a_changed_feed_records_one_intel_changed_event(settings):
    heron = Heron(settings)
    feeds = settings.home / "intel"
    feeds.mkdir(parents=True, exist_ok=True)
    (feeds / "list.txt").write_text("https://evil.test/a\n")
    heron.reload_intel()
    heron.reload_intel()
    assert [e["indicators"] for e in intel_events(heron)] == [1]
    (feeds / "more.txt").write_text("https://evil.test/b\nhttps://evil.test/c\n")
    heron.reload_intel()
    assert [e["indicators"] for e in intel_events(heron)] == [1, 3]
    heron.close()
