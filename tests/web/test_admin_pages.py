"""The admin pages over HTTP on both backends: authentication, CSRF, security headers, every page
after a real exchange (classic 2.08 fixture set replayed as 1C would), the package download."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
import yarl

from tests.web.conftest import ADMIN, ADMIN_PASSWORD, CLASSIC, Live

BASIC = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
PRODUCT_ID = "a1b2c3d4-0000-4000-8000-000000000101"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _login(
    http: aiohttp.ClientSession, base: str, password: str = ADMIN_PASSWORD
) -> aiohttp.ClientResponse:
    form = await http.get(f"{base}/admin/login", headers={"Accept": "text/html"})
    token = TOKEN.search(await form.text())
    assert token is not None
    return await http.post(
        f"{base}/admin/login",
        data={"csrf_token": token.group(1), "user": ADMIN, "password": password, "next": "/admin/journal"},
        allow_redirects=False,
    )


async def test_without_credentials_a_browser_is_sent_to_login_and_a_script_gets_401(live: Live) -> None:
    async with aiohttp.ClientSession() as http:
        page = await http.get(
            f"{live.base}/admin/catalog?q=x", headers={"Accept": "text/html"}, allow_redirects=False
        )
        assert page.status == 303
        location = yarl.URL(page.headers["Location"])
        assert location.path == "/admin/login"
        assert location.query["next"] == "/admin/catalog?q=x"
        script = await http.get(f"{live.base}/admin/", allow_redirects=False)
        assert script.status == 401
        assert script.headers["WWW-Authenticate"].startswith("Basic ")
        wrong = await http.get(
            f"{live.base}/admin/", headers={"Authorization": aiohttp.encode_basic_auth(ADMIN, "nope")}
        )
        assert wrong.status == 401
        metrics = await http.get(f"{live.base}/metrics")
        assert metrics.status == 401


async def test_basic_credentials_open_every_page_with_security_headers(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        for path in ("/admin/", "/admin/journal", "/admin/catalog", f"/admin/catalog/{PRODUCT_ID}",
                     "/admin/orders", "/admin/outbox", "/admin/status-map"):  # fmt: skip
            response = await http.get(live.base + path)
            assert response.status == 200, path
            assert response.headers["Content-Type"].startswith("text/html")
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "<script" not in await response.text()


async def test_login_sets_a_session_and_logout_needs_the_csrf_token(live: Live) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        bad = await _login(http, live.base, password="wrong")
        assert bad.status == 401
        assert "Wrong user or password." in await bad.text()
        ok = await _login(http, live.base)
        assert ok.status == 303
        assert ok.headers["Location"] == "/admin/journal"
        cookie = ok.cookies["cml_admin"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        journal = await http.get(f"{live.base}/admin/journal")
        assert journal.status == 200
        assert "catalog" in await journal.text()
        forged = await http.post(
            f"{live.base}/admin/logout", data={"csrf_token": "forged"}, allow_redirects=False
        )
        assert forged.status == 403
        token = TOKEN.search(await journal.text())
        assert token is not None
        out = await http.post(
            f"{live.base}/admin/logout", data={"csrf_token": token.group(1)}, allow_redirects=False
        )
        assert out.status == 303
        after = await http.get(f"{live.base}/admin/journal", allow_redirects=False)
        assert after.status == 401


async def test_login_form_refuses_a_missing_token_and_a_foreign_origin(live: Live) -> None:
    async with aiohttp.ClientSession() as http:
        no_token = await http.post(
            f"{live.base}/admin/login",
            data={"user": ADMIN, "password": ADMIN_PASSWORD},
            allow_redirects=False,
        )
        assert no_token.status == 403
        assert "cml_admin" not in no_token.cookies
    async with aiohttp.ClientSession(headers=BASIC) as http:
        page = await http.get(f"{live.base}/admin/")
        token = TOKEN.search(await page.text())
        assert token is not None
        foreign = await http.post(
            f"{live.base}/admin/logout",
            data={"csrf_token": token.group(1)},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        )
        assert foreign.status == 403


async def test_login_never_redirects_off_site(live: Live) -> None:
    async with aiohttp.ClientSession() as http:
        form = await http.get(f"{live.base}/admin/login?next=//evil.example/x")
        text = await form.text()
        assert 'name="next" value="/admin/"' in text


async def test_journal_shows_the_exchange_and_its_files_and_downloads_a_stored_file(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        journal = await (await http.get(f"{live.base}/admin/journal")).text()
        sessions = re.findall(r'href="/admin/journal/([^"]+)"', journal)
        assert sessions
        catalog_session = None
        for sid in sessions:
            text = await (await http.get(f"{live.base}/admin/journal/{sid}")).text()
            if "offers.xml" in text:
                catalog_session = text
                break
        assert catalog_session is not None
        for mode in ("checkauth", "init", "file", "import"):
            assert f"<td>{mode}</td>" in catalog_session
        link = re.search(r'href="(/admin/journal/[^"]+/file\?name=import.xml)"', catalog_session)
        assert link is not None
        download = await http.get(live.base + link.group(1).replace("&amp;", "&"))
        assert download.status == 200
        assert "attachment" in download.headers["Content-Disposition"]
        assert await download.read() == (CLASSIC / "import.xml").read_bytes()
        missing = await http.get(link.group(1).replace("import.xml", "..%2Fsecret").join([live.base, ""]))
        assert missing.status == 404


async def test_catalog_search_by_name_article_and_id(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        for query in ("кроссовки", "КРОССОВКИ runner", "run-42", PRODUCT_ID):
            text = await (await http.get(f"{live.base}/admin/catalog", params={"q": query})).text()
            assert f"/admin/catalog/{PRODUCT_ID}" in text, query
        none = await (await http.get(f"{live.base}/admin/catalog", params={"q": "%"})).text()
        assert "Nothing matches" in none
        product = await (await http.get(f"{live.base}/admin/catalog/{PRODUCT_ID}")).text()
        assert "Кроссовки Runner" in product
        assert "Not configured yet" in product  # Bitrix24 sync state: no push exists yet
        unknown = await http.get(f"{live.base}/admin/catalog/no-such-id")
        assert unknown.status == 404


async def test_orders_list_and_detail(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        text = await (await http.get(f"{live.base}/admin/orders")).text()
        links = re.findall(r'href="/admin/orders/([^"]+)"', text)
        assert links, "the uploaded orders are listed"
        detail = await http.get(f"{live.base}/admin/orders/{links[0]}")
        assert detail.status == 200
        assert "Lines" in await detail.text()


async def test_outbox_and_status_map_say_not_configured_and_refuse_posts(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        for path in ("/admin/outbox", "/admin/status-map"):
            text = await (await http.get(live.base + path)).text()
            assert "Not configured yet" in text
        page = await (await http.get(f"{live.base}/admin/outbox")).text()
        token = TOKEN.search(page)
        assert token is not None
        retry = await http.post(f"{live.base}/admin/outbox/1/retry", data={"csrf_token": token.group(1)})
        assert retry.status == 409
        save = await http.post(
            f"{live.base}/admin/status-map", data={"csrf_token": token.group(1), "rows": "0"}
        )
        assert save.status == 409


async def test_dashboard_shows_the_last_exchanges_with_files(live: Live, tmp_path: Path) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        text = await (await http.get(f"{live.base}/admin/")).text()
    assert "Last exchanges: Catalog" in text
    assert "import.xml" in text and "offers.xml" in text
    assert "No errors recorded." in text
    assert re.search(r"products: \d+", text)


@pytest.mark.parametrize("path", ["/admin/journal?page=0", "/admin/catalog?page=x"])
async def test_bad_paging_is_a_400(live: Live, path: str) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        assert (await http.get(live.base + path)).status == 400
