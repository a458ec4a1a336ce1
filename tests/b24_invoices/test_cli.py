"""``cml-exchange status-map show|check|set`` against a fake portal served over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from b24_bridge.fake import FakePortal, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.invoices.statusmap import StatusMap, StatusRow, StatusRules
from exchange_server.cli import main

STAGES = ("N", "S", "P", "D")


async def test_status_map_show_check_set(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    portal = FakePortal(PortalConfig(plan="box"))
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    try:
        monkeypatch.setenv("CML_DATABASE_URL", database_url)
        monkeypatch.setenv("CML_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("CML_B24_WEBHOOK_URL", str(server.make_url(portal.webhook_path())))
        assert await asyncio.to_thread(main, ["status-map", "show"]) == 0
        assert "no status map stored yet" in capsys.readouterr().out

        good = StatusMap(
            category_id=5,
            rows=tuple(StatusRow(stage=f"DT31_5:{s}", code=s, name=f"Статус {s}") for s in STAGES),
            rules=StatusRules(shipped_stage="DT31_5:S"),
        )
        good_file = tmp_path / "good.json"
        good_file.write_text(good.model_dump_json(), encoding="utf-8")
        assert await asyncio.to_thread(main, ["status-map", "check", str(good_file)]) == 0
        assert capsys.readouterr().out.strip() == "ok"

        bad = good.model_copy(
            update={"rows": (*good.rows, StatusRow(stage="DT31_5:N", code="X", name="Дубль"))}
        )
        bad_file = tmp_path / "bad.json"
        bad_file.write_text(bad.model_dump_json(), encoding="utf-8")
        assert await asyncio.to_thread(main, ["status-map", "set", str(bad_file)]) == 1
        assert "stage 'DT31_5:N' is mapped twice" in capsys.readouterr().err

        assert await asyncio.to_thread(main, ["status-map", "set", str(good_file), "--by", "ivanova"]) == 0
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["status-map", "show"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["map"]["rules"]["shipped_stage"] == "DT31_5:S"
        assert shown["journal"][0]["changed_by"] == "ivanova"
        assert len(shown["journal"][0]["diff"]["rows_added"]) == 4
    finally:
        await server.close()
