"""Acceptance: every real fixture set replayed through HTTP as a 1C node would, plain and zipped, on
SQLite and PostgreSQL; then the operator API must show exactly the catalog the files hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exchange_server.replay import replay_catalog
from tests.exchange_server.conftest import REAL_FIXTURES, real_fixture
from tests.exchange_server.e2e_support import (
    FIXTURE_SETS,
    NOT_EXCHANGED,
    ORDER_FILES,
    FixtureSet,
    check_catalog,
    live_server,
    settings_for,
)


@pytest.mark.parametrize("zipped", [False, True], ids=["plain", "zip"])
@pytest.mark.parametrize("fixture_set", FIXTURE_SETS, ids=[s.id for s in FIXTURE_SETS])
async def test_real_set_through_http(
    fixture_set: FixtureSet, zipped: bool, database_url: str, tmp_path: Path
) -> None:
    files = [(name, real_fixture(local)) for name, local in fixture_set.files]
    async with live_server(settings_for(tmp_path / "data", database_url)) as live:
        node = live.node()
        await replay_catalog(node, files, use_zip=zipped, version=fixture_set.version)
        imports = [s for s in node.steps if s.mode == "import" and not s.answer.startswith("progress")]
        assert [s.filename for s in imports] == [n for n, _ in files]
        assert all(s.answer == "success\nИмпорт успешно завершен." for s in imports)
        await check_catalog(live, [path for _, path in files])
        journal = await live.api("/api/exchanges")
        session = journal["items"][0]
        assert session["outcome"] == "success", session
        package = session["packages"][-1]
        assert package["state"] in ("imported", "completed")
        by_name = {f["name"]: f for f in package["files"]}
        for name, path in files:
            assert by_name[name]["size"] == path.stat().st_size
            assert by_name[name]["import_state"] == "done" and by_name[name]["sha256"]
        if zipped:
            assert [f["origin"] for f in package["files"]].count("upload") == 1


def test_every_real_catalog_and_orders_file_is_covered() -> None:
    """A fixture added to the collection without a set here fails this test (nothing skipped silently)."""
    if not REAL_FIXTURES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real fixtures missing at {REAL_FIXTURES}")
        pytest.skip(f"real fixtures not available at {REAL_FIXTURES}")
    covered = {local for s in FIXTURE_SETS for _, local in s.files} | set(ORDER_FILES) | set(NOT_EXCHANGED)
    present = {
        p.relative_to(REAL_FIXTURES).as_posix()
        for p in REAL_FIXTURES.rglob("*")
        if p.is_file() and p.suffix.lower() in (".xml", ".done")
    }
    assert present - covered == set()
    assert covered - present == set()
