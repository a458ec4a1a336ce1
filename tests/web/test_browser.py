"""Browser tests: Debian's chromium driven by Playwright (never ``playwright install``), 1280x800.

Log in, open the journal after a replay, open a product, read a page without its stylesheet, edit the
status map (an invalid row shows its error, a valid one saves) and retry a failed outbox job (the last
two against in-memory sources of our own until issues 5 and 6 provide the real ones). Each test saves
a screenshot into ``CML_SCREENSHOT_DIR`` (default: the test's tmp dir).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Route, async_playwright

from exchange_server.app import make_app
from exchange_server.web.extensions import OUTBOX, STATUS_MAP, OutboxJob, StatusRow
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, Live, replay_classic, settings_for, upload_orders
from tests.web.fakes import MemoryOutbox, MemoryStatusMap

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}
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
async def site(
    tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[tuple[Live, MemoryOutbox, MemoryStatusMap]]:
    """The server on SQLite after a replay, with an in-memory outbox and status map registered."""
    db = tmp_path / "cml.db"
    shutil.copyfile(sqlite_template, db)
    settings = settings_for(tmp_path, f"sqlite+aiosqlite:///{db}")
    now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    outbox = MemoryOutbox(
        [
            OutboxJob("17", "product.upsert", PRODUCT_ID, "failed", 5, "QUERY_LIMIT_EXCEEDED: too many requests", now, None),
            OutboxJob("18", "product.upsert", "a1b2c3d4-0000-4000-8000-000000000103", "pending", 0, None, now, now),
        ]
    )  # fmt: skip
    status_map = MemoryStatusMap(
        [StatusRow("Принят", "DT31_1:N"), StatusRow("Оплачен", "DT31_1:P", "1c_to_b24")]
    )
    app = make_app(settings)
    app[OUTBOX] = outbox
    app[STATUS_MAP] = status_map
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        live = Live(base=str(server.make_url("")).rstrip("/"), settings=settings)
        await replay_classic(live.exchange_url)
        await upload_orders(live.exchange_url)
        yield live, outbox, status_map
    finally:
        await server.close()


async def _signed_in(browser: Browser, live: Live, target: str) -> Page:
    page = await browser.new_page(viewport=VIEWPORT)
    await page.goto(live.base + target)
    assert "/admin/login" in page.url
    await page.get_by_label("User").fill(ADMIN)
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(live.base + target)
    return page


async def test_log_in_and_open_the_journal_after_a_replay(
    browser: Browser, site: tuple[Live, MemoryOutbox, MemoryStatusMap], shots: Path
) -> None:
    live = site[0]
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


async def test_open_a_product_from_the_catalog(
    browser: Browser, site: tuple[Live, MemoryOutbox, MemoryStatusMap], shots: Path
) -> None:
    page = await _signed_in(browser, site[0], "/admin/catalog")
    await page.get_by_label("Name, article or Ид").fill("runner")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Кроссовки Runner").click()
    await page.wait_for_url(f"{site[0].base}/admin/catalog/{PRODUCT_ID}")
    offers = page.locator("table").first
    headers = await offers.locator("thead th").all_inner_texts()
    assert any(h.startswith("Stock:") for h in headers), headers
    assert await offers.locator("tbody tr").count() >= 1
    await page.screenshot(path=str(shots / "product.png"))


async def test_pages_read_without_styles(
    browser: Browser, site: tuple[Live, MemoryOutbox, MemoryStatusMap], shots: Path
) -> None:
    async def no_css(route: Route) -> None:
        await route.abort()

    page = await _signed_in(browser, site[0], "/admin/")
    styled = "getComputedStyle(document.querySelector('header.top')).display"
    assert await page.evaluate(styled) == "flex"
    await page.route("**/*.css", no_css)
    await page.reload()
    assert await page.evaluate(styled) == "block"  # the stylesheet did not load
    for heading in ("Last exchanges: Catalog (goods, offers, prices, stock)", "Last errors"):
        assert await page.get_by_role("heading", name=heading).is_visible()
    await page.screenshot(path=str(shots / "dashboard-unstyled.png"))


async def test_edit_the_status_map(
    browser: Browser, site: tuple[Live, MemoryOutbox, MemoryStatusMap], shots: Path
) -> None:
    status_map = site[2]
    page = await _signed_in(browser, site[0], "/admin/status-map")
    await page.get_by_label("1C order status, new row").fill("Отгружен")
    await page.get_by_label("Bitrix24 stage, new row").fill("NO_SUCH_STAGE")
    await page.get_by_role("button", name="Save the map").click()
    bad_row = page.locator("tr.invalid")
    assert await bad_row.count() == 1
    assert "unknown Bitrix24 stage 'NO_SUCH_STAGE'" in await bad_row.inner_text()
    assert [r.status_1c for r in status_map.saved] == ["Принят", "Оплачен"]  # nothing saved
    await page.screenshot(path=str(shots / "status-map-invalid.png"))

    await page.get_by_label("Bitrix24 stage, row 3").fill("DT31_1:S")
    await page.get_by_role("button", name="Save the map").click()
    await page.wait_for_url(f"{site[0].base}/admin/status-map?saved=1")
    assert await page.get_by_role("status").inner_text() == "Saved."
    assert status_map.saved[-1] == StatusRow("Отгружен", "DT31_1:S", "both")
    await page.screenshot(path=str(shots / "status-map-saved.png"))


async def test_retry_a_failed_outbox_job(
    browser: Browser, site: tuple[Live, MemoryOutbox, MemoryStatusMap], shots: Path
) -> None:
    outbox = site[1]
    page = await _signed_in(browser, site[0], "/admin/outbox?state=failed")
    row = page.locator("tbody tr", has_text="QUERY_LIMIT_EXCEEDED")
    await page.screenshot(path=str(shots / "outbox-failed.png"))
    await row.get_by_role("button", name="Retry").click()
    await page.wait_for_url(f"{site[0].base}/admin/outbox?state=failed&done=*")
    assert outbox.actions == [("retry", "17")]
    assert outbox.jobs_by_id["17"].state == "pending"
    assert "No failed jobs." in await page.locator("tbody").inner_text()
    await page.get_by_role("link", name="pending (2)").click()
    assert await page.locator("tbody tr").count() == 2
