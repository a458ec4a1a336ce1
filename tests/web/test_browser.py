"""Browser tests: Debian's chromium driven by Playwright (never ``playwright install``), 1280x800.

Log in, open the journal after a replay, open a product, read a page without its stylesheet, edit the
status map (an invalid row shows its error, a valid one saves and is journaled) and retry a failed
outbox job, both on the real Bitrix24 side (the outbox table, the invoice sync validating against a
fake portal's stages; see ``tests.web.b24_world``). Each test saves a screenshot into
``CML_SCREENSHOT_DIR`` (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, async_playwright
from sqlalchemy import select

from b24_bridge.invoices import store
from b24_bridge.invoices.web import INVOICE_SYNC
from exchange_server.outbox.tables import OutboxRow
from tests.web.b24_world import Site, b24_site, park_a_job
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, Live

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PRODUCT_ID = "a1b2c3d4-0000-4000-8000-000000000101"


@pytest.fixture(scope="session")
def chromium_present() -> bool:
    return CHROMIUM.is_file()


@pytest.fixture
async def browser(chromium_present: bool) -> AsyncIterator[Browser]:
    if not chromium_present:
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium missing under CI (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CML_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def site(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Site]:
    """The server on SQLite after a replay, its outbox and invoice sync on a fake portal."""
    db = tmp_path / "cml.db"
    shutil.copyfile(sqlite_template, db)
    async with b24_site(tmp_path, f"sqlite+aiosqlite:///{db}") as site:
        yield site


async def _signed_in(browser: Browser, live: Live, target: str) -> Page:
    page = await browser.new_page(viewport=VIEWPORT)
    await page.goto(live.base + target)
    assert "/admin/login" in page.url
    await page.get_by_label("User").fill(ADMIN)
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(live.base + target)
    return page


async def test_log_in_and_open_the_journal_after_a_replay(browser: Browser, site: Site, shots: Path) -> None:
    live = site.live
    page = await browser.new_page(viewport=VIEWPORT)
    await page.goto(live.base + "/admin/journal")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_label("User").fill(ADMIN)
    await page.get_by_role("button", name="Sign in").click()
    assert await page.get_by_role("alert").inner_text() == "Wrong user or password."
    await page.close()

    page = await _signed_in(browser, live, "/admin/journal")
    assert await page.get_by_role("heading", level=1).inner_text() == "Exchange journal"
    rows = page.locator("tbody tr").filter(has_text="offers.xml")
    await rows.first.get_by_role("link").click()
    await page.wait_for_url(f"{live.base}/admin/journal/*")
    assert "catalog exchange" in await page.get_by_role("heading", level=1).inner_text()
    files = page.locator("section.package table").first
    assert await files.locator("tr", has_text="import.xml").count() == 1
    assert await files.get_by_role("link", name="Download").count() == 2
    await page.screenshot(path=str(shots / "journal-session.png"), full_page=False)


async def test_open_a_product_from_the_catalog(browser: Browser, site: Site, shots: Path) -> None:
    page = await _signed_in(browser, site.live, "/admin/catalog")
    await page.get_by_label("Name, article or Ид").fill("runner")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Кроссовки Runner").click()
    await page.wait_for_url(f"{site.live.base}/admin/catalog/{PRODUCT_ID}")
    offers = page.locator("table").first
    headers = await offers.locator("thead th").all_inner_texts()
    assert any(h.startswith("Stock:") for h in headers), headers
    assert await offers.locator("tbody tr").count() >= 1
    await page.screenshot(path=str(shots / "product.png"))


async def test_pages_read_without_styles(browser: Browser, site: Site, shots: Path) -> None:
    async def no_css(route: Route) -> None:
        await route.abort()

    page = await _signed_in(browser, site.live, "/admin/")
    styled = "getComputedStyle(document.querySelector('header.top')).display"
    assert await page.evaluate(styled) == "flex"
    await page.route("**/*.css", no_css)
    await page.reload()
    assert await page.evaluate(styled) == "block"  # the stylesheet did not load
    for heading in ("Last exchanges: Catalog (goods, offers, prices, stock)", "Last errors"):
        assert await page.get_by_role("heading", name=heading).is_visible()
    await page.screenshot(path=str(shots / "dashboard-unstyled.png"))


async def test_edit_the_status_map(browser: Browser, site: Site, shots: Path) -> None:
    sync = site.app[INVOICE_SYNC]
    before = sync.status_map.rows
    assert [r.stage for r in before] == ["DT31_5:N", "DT31_5:S", "DT31_5:P", "DT31_5:D"]
    page = await _signed_in(browser, site.live, "/admin/status-map")
    await page.get_by_label("Delete row 4").check()  # the portal's failure stage loses its row ...
    await page.get_by_label("Bitrix24 stage, new row").fill("DT31_5:X")  # ... and a stage it lacks
    await page.get_by_label("Status code, new row").fill("X")
    await page.get_by_label("Status name, new row").fill("Потерян")
    await page.get_by_role("button", name="Save the map").click()
    bad_row = page.locator("tr.invalid")
    assert await bad_row.count() == 1
    assert "unknown stage 'DT31_5:X'; the portal has DT31_5:D, DT31_5:N" in await bad_row.inner_text()
    assert await page.get_by_label("Bitrix24 stage, row 4").input_value() == "DT31_5:X"
    assert sync.status_map.rows == before  # nothing saved
    await page.screenshot(path=str(shots / "status-map-invalid.png"))

    await page.get_by_label("Bitrix24 stage, row 4").fill("DT31_5:D")
    await page.get_by_label("Status name, row 4").fill("Отменён")
    await page.get_by_label("1C order status, row 4").fill("Отменен")
    await page.get_by_role("button", name="Save the map").click()
    await page.wait_for_url(f"{site.live.base}/admin/status-map?saved=1")
    assert await page.get_by_role("status").inner_text() == "Saved."
    assert sync.status_map.rows[-1].model_dump() == {
        "stage": "DT31_5:D", "code": "X", "name": "Отменён", "status_1c": "Отменен"
    }  # fmt: skip
    async with site.sessionmaker() as session:
        history = await store.journal(session, limit=1)
    assert history[0]["changed_by"] == ADMIN
    assert history[0]["diff"]["rows_changed"][0]["stage"] == "DT31_5:D"
    await page.screenshot(path=str(shots / "status-map-saved.png"))


async def test_retry_a_failed_outbox_job(browser: Browser, site: Site, shots: Path) -> None:
    job = await park_a_job(site)
    page = await _signed_in(browser, site.live, "/admin/outbox?state=failed")
    row = page.locator("tbody tr", has_text="QUERY_LIMIT_EXCEEDED")
    assert await row.count() == 1
    assert job.key in await row.inner_text()
    await page.screenshot(path=str(shots / "outbox-failed.png"))
    await row.get_by_role("button", name="Retry").click()
    await page.wait_for_url(f"{site.live.base}/admin/outbox?state=failed&done=*")
    assert "No failed jobs." in await page.locator("tbody").inner_text()
    async with site.sessionmaker() as session:
        state = (
            await session.execute(select(OutboxRow.state, OutboxRow.attempts).where(OutboxRow.id == job.id))
        ).one()
    assert tuple(state) == ("pending", 0)
    await page.get_by_role("link", name="pending (").click()
    assert await page.locator("tbody tr", has_text=job.key).count() >= 1
