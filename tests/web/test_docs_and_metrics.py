"""docs/configuration.md is generated from the settings model and must be current; /metrics and
the JSON log lines after a real exchange; the metric registry's text format."""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import aiohttp
import pytest

from exchange_server import metrics
from exchange_server.docs_cli import configuration_markdown
from exchange_server.settings import Settings
from exchange_server.telemetry import FIELDS, JsonFormatter
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, Live

REPO = Path(__file__).resolve().parents[2]
BASIC = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}


def test_configuration_reference_is_current() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == configuration_markdown(), (
        "docs/configuration.md is stale: run `cml-exchange docs config`"
    )


def test_configuration_reference_lists_every_setting() -> None:
    text = configuration_markdown()
    for name in Settings.model_fields:
        assert f"`CML_{name.upper()}`" in text


def _sample(page: str, name: str) -> float:
    for line in page.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{") and line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not on the page")


async def test_metrics_after_a_replay(live: Live) -> None:
    async with aiohttp.ClientSession(headers=BASIC) as http:
        response = await http.get(f"{live.base}/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"] == metrics.CONTENT_TYPE
        page = await response.text()
    assert 'cml_exchange_requests_total{type="catalog",mode="checkauth",answer="success"}' in page
    assert 'cml_exchanges_total{type="catalog",outcome="success"}' in page
    assert 'cml_entities_imported_total{kind="products"}' in page
    assert 'cml_import_duration_seconds_bucket{type="catalog",le="+Inf"}' in page
    assert 'cml_outbox_jobs{state="failed"} 0' in page
    assert "# TYPE cml_b24_calls_total counter" in page


async def test_metrics_can_be_public(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    from aiohttp.test_utils import TestServer

    from exchange_server.app import make_app
    from tests.web.conftest import settings_for

    db = tmp_path / "cml.db"
    shutil.copyfile(sqlite_template, db)
    server = TestServer(make_app(settings_for(tmp_path, f"sqlite+aiosqlite:///{db}", metrics_public=True)))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.get(server.make_url("/metrics"))).status == 200
            assert (await http.get(server.make_url("/admin/"))).status == 401
    finally:
        await server.close()


def test_json_log_line_has_the_fields() -> None:
    record = logging.LogRecord("cml.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    setattr(record, FIELDS, {"status": 200, "duration_ms": 1.5, "path": "/x"})
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["message"] == "GET /x"
    assert data["status"] == 200 and data["path"] == "/x" and data["level"] == "info"
    assert "\n" not in line


def test_registry_text_format() -> None:
    registry = metrics.Registry()
    counter = registry.register(metrics.Counter("t_calls_total", "Calls.", ("method",)))
    counter.inc(method='a"b\\c\n')
    counter.inc(2, method="x")
    gauge = registry.register(metrics.Gauge("t_depth", "Depth.", ("state",)))
    gauge.set_source(lambda: {("pending",): 3})
    hist = registry.register(metrics.Histogram("t_seconds", "Time.", buckets=(1, 5)))
    for value in (0.5, 2, 10):
        hist.observe(value)
    page = registry.render()
    assert 't_calls_total{method="a\\"b\\\\c\\n"} 1' in page
    assert 't_calls_total{method="x"} 2' in page
    assert 't_depth{state="pending"} 3' in page
    assert 't_seconds_bucket{le="1"} 1' in page
    assert 't_seconds_bucket{le="5"} 2' in page
    assert 't_seconds_bucket{le="+Inf"} 3' in page
    assert "t_seconds_sum 12.5" in page and "t_seconds_count 3" in page
    assert page.endswith("\n")


def test_registry_refuses_misuse() -> None:
    registry = metrics.Registry()
    counter = registry.register(metrics.Counter("u_total", "U.", ("a",)))
    with pytest.raises(metrics.MetricError):
        registry.register(metrics.Counter("u_total", "again"))
    with pytest.raises(metrics.MetricError):
        counter.inc(-1, a="x")
    with pytest.raises(metrics.MetricError):
        counter.inc(b="x")
    with pytest.raises(metrics.MetricError):
        metrics.Counter("no_suffix", "x")
    with pytest.raises(metrics.MetricError):
        metrics.Gauge("bad-name", "x")
    with pytest.raises(metrics.MetricError):
        metrics.Histogram("h", "x", ("le",))
    assert not math.isnan(counter.value(a="y"))


def test_outbox_depth_source_hook() -> None:
    try:
        metrics.set_outbox_depth_source(lambda: {"pending": 4, "failed": 1})
        assert metrics.outbox_depth() == {"pending": 4, "failed": 1}
        assert 'cml_outbox_jobs{state="pending"} 4' in metrics.render()
    finally:
        metrics.set_outbox_depth_source(None)
    assert metrics.outbox_depth() == {"pending": 0, "failed": 0}


NOT_FAILURES = {"MSG_IMPORT_DONE", "MSG_DEACTIVATED", "MSG_COMPLETE", "MSG_UNPACKING", "MSG_UNPACKED",
                "MSG_IMPORT_STARTED", "MSG_READING"}  # fmt: skip
MESSAGE = re.compile(r'^([A-Z_]+): Final = "([^"]*[\u0400-\u04FF][^"]*)"', re.MULTILINE)


def test_troubleshooting_lists_every_failure_message() -> None:
    guide = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    missing = []
    for source in sorted((REPO / "exchange_server").rglob("*.py")):
        for name, text in MESSAGE.findall(source.read_text(encoding="utf-8")):
            stem = text.split("{", 1)[0].strip()
            if name not in NOT_FAILURES and stem not in guide:
                missing.append(f"{source.name}:{name}: {text}")
    assert not missing, "docs/troubleshooting.md lacks: " + "; ".join(missing)
