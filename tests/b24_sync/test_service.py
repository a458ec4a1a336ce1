"""Settings, the idle bridge, and the ``cml-exchange b24 plan|push`` commands end to end.

The commands run as real processes against a real ``cml-exchange fake-portal`` process (its webhook
URL is the first line it prints). That portal cannot take the fake-iblock workaround of the other
tests, so the catalog here has no characteristics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.replay import replay_catalog
from exchange_server.settings import Settings
from tests.exchange_server.e2e_support import ADMIN, ADMIN_PASSWORD, live_server, settings_for

CLI = [sys.executable, "-m", "exchange_server.cli"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"b24_webhook_url": "https://portal.example/rest/1/"}, "CML_B24_WEBHOOK_URL"),
        ({"b24_oauth_client_id": "local.1"}, "OAuth settings incomplete: CML_B24_OAUTH_CLIENT_SECRET"),
        (
            {
                "b24_webhook_url": "https://p.example/rest/1/abc/",
                "b24_oauth_client_id": "a",
                "b24_oauth_client_secret": "b",
                "b24_oauth_refresh_token": "c",
                "b24_oauth_portal_url": "https://p.example/rest/",
            },
            "not both",
        ),
        ({"b24_plan": "gold"}, "b24_plan must be one of"),
        ({"b24": {"stock_mode": "everything"}}, "stock_mode"),
    ],
)
def test_bad_portal_settings_are_refused_at_start(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)  # type: ignore[arg-type]


def test_mapping_comes_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "cml.toml"
    config.write_text(
        'b24_webhook_url = "https://portal.example/rest/1/code123/"\n'
        "[b24]\n"
        'price_types = ["Розничная"]\n'
        'stock_mode = "quantity"\n'
        "[b24.properties]\n"
        '"prop-guid" = "property105"\n',
        encoding="utf-8",
    )
    settings = Settings.load(config)
    assert settings.b24.price_types == ("Розничная",)
    assert settings.b24.properties == {"prop-guid": "property105"}
    assert settings.b24_webhook_url is not None


async def test_without_a_portal_the_bridge_idles_and_the_exchange_works(
    tmp_path: Path, database_url: str
) -> None:
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=5, seed=3))
    async with live_server(settings_for(tmp_path / "data", database_url)) as live:
        await replay_catalog(live.node(), [(f.path.name, f.path) for f in catalog.files])
        status = await live.api("/api/b24/status")
        assert (await live.api("/api/products"))["total"] == 5
        headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
        async with live.http.get(live.server.make_url("/api/b24/status")) as anonymous:
            assert anonymous.status == 401
        async with live.http.post(live.server.make_url("/api/b24/retry"), headers=headers) as retried:
            assert (await retried.json()) == {"retried": 0}
    assert status["portal"] is None and "idle" in status["message"]
    assert {k: status[k] for k in ("pending", "running", "failed", "done", "last_push")} == {
        "pending": 0,
        "running": 0,
        "failed": 0,
        "done": 0,
        "last_push": None,
    }


@pytest.fixture
def fake_portal_process() -> Iterator[str]:
    process = subprocess.Popen(
        [*CLI, "fake-portal", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


async def test_plan_and_push_commands(tmp_path: Path, fake_portal_process: str) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'cml.db'}"
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=30, characteristics_share=0.0, seed=4))
    async with live_server(settings_for(tmp_path / "data", database)) as live:
        await replay_catalog(live.node(), [(f.path.name, f.path) for f in catalog.files])
    env = {**os.environ, "CML_DATABASE_URL": database, "CML_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "b24", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    plan = run("plan")
    assert plan.returncode == 0, plan.stderr
    assert "entities to push" in plan.stdout and "product" in plan.stdout
    idle = run("push")
    assert idle.returncode == 2 and "idle" in idle.stderr
    pushed = run("push", "--no-bar", CML_B24_WEBHOOK_URL=fake_portal_process)
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed" in pushed.stdout and "parked 0" in pushed.stdout
    after = json.loads(run("plan", "--json").stdout)
    assert after["jobs"] == 0 and after["outbox"]["failed"] == 0 and after["outbox"]["done"] > 30
    stats_url = fake_portal_process.split("/rest/")[0] + "/_fake/stats"
    async with aiohttp.ClientSession() as http, http.get(stats_url) as response:
        stats = await response.json()
    assert stats["rejected"] == 0 and stats["calls"]["catalog.product.add"] == 30
