"""Evidence found inside files reaches verdicts: links from QR codes and documents
are checked against intel like any other link."""

from __future__ import annotations

import pytest

from heron.config import Settings
from heron.engine import views
from heron.engine.service import Heron
from tests.factories import staff
from tests.samples_files import mail_with, qr_png, zip_of


@pytest.fixture
def heron(settings: Settings):
    intel = settings.home / "intel"
    intel.mkdir(parents=True, exist_ok=True)
    (intel / "openphish.txt").write_text("https://qr-login.evil.test/m365\n")
    instance = Heron(settings)
    staff(instance)
    yield instance
    instance.close()


def investigate(heron: Heron, raw: bytes) -> dict:
    heron.report(raw, reporter="alice@example.org", unwrap=False)
    [investigation_id] = heron.process()
    with heron.store.session() as session:
        return views.investigation_detail(session, investigation_id)


def test_a_qr_code_pointing_to_a_listed_url_makes_the_message_malicious(heron):
    raw = mail_with(
        [],
        text="Scan the code to keep your mailbox.",
        html='<p>Scan the code to keep your mailbox.</p><img src="cid:code">',
        inline=[("code", qr_png("https://qr-login.evil.test/m365"), "image/png")],
    )
    detail = investigate(heron, raw)
    assert detail["verdict"] == "malicious"
    [link] = [e for e in detail["entities"] if e["type"] == "url"]
    assert link["value"] == "https://qr-login.evil.test/m365"
    assert link["verdict"] == "malicious"
    assert any(r["analyzer"] == "url-reputation" for r in detail["reasons"])


def test_files_inside_an_archive_are_entities_of_the_investigation(heron):
    archive = zip_of({"readme.txt": b"see https://inside.example.test/page"})
    detail = investigate(heron, mail_with([("bundle.zip", archive, "application/zip")]))
    files = {e["value"] for e in detail["entities"] if e["type"] == "file"}
    assert len(files) == 2
    urls = {e["value"] for e in detail["entities"] if e["type"] == "url"}
    assert "https://inside.example.test/page" in urls


def test_a_safe_links_wrapped_listed_url_is_judged_by_its_target(heron):
    wrapped = (
        "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fqr-login"
        ".evil.test%2Fm365&data=05%7C02%7Calice%40example.org&reserved=0"
    )
    raw = mail_with(
        [], html=f'<p>Your mailbox is full: <a href="{wrapped}">fix it</a></p>'
    )
    detail = investigate(heron, raw)
    assert detail["verdict"] == "malicious"
    [link] = [e for e in detail["entities"] if e["type"] == "url"]
    assert link["value"] == "https://qr-login.evil.test/m365"
    assert any("Microsoft Safe Links" in f["summary"] for f in link["findings"])
