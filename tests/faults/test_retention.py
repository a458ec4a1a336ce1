"""Retention of uploaded package folders (issue 3 leftover): the rule, and the folders of real exchanges."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.replay import ExchangeFailed, replay_catalog
from exchange_server.retention import PackageInfo, prune_packages, select_expired
from tests.exchange_server import cml_samples as cml
from tests.exchange_server.e2e_support import live_server, settings_for

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def package(
    pid: str, days_ago: float, state: str = "imported", kind: str = "catalog", user: str = "1c"
) -> PackageInfo:
    stamp = NOW - dt.timedelta(days=days_ago)
    return PackageInfo(pid, kind, user, state, stamp, stamp)


def expired(packages: list[PackageInfo], **options: object) -> set[str]:
    settings = {"now": NOW, "keep_days": 14.0, "keep_last": 2, **options}
    return {p.id for p in select_expired(packages, **settings)}  # type: ignore[arg-type]


def test_old_finished_packages_go_the_newest_per_type_stay() -> None:
    packages = [package(f"c{i}", days_ago=20 + i) for i in range(5)]
    packages += [
        package("s0", 40, kind="sale"),
        package("s1", 50, kind="sale"),
        package("s2", 60, kind="sale"),
    ]
    packages.append(package("fresh", 1))
    # keep_last counts the newest of each type whatever their age: "fresh", c0 / s0, s1.
    assert expired(packages) == {"c1", "c2", "c3", "c4", "s2"}
    assert expired(packages, keep_last=0) == {"c0", "c1", "c2", "c3", "c4", "s0", "s1", "s2"}
    assert expired(packages, keep_days=0.0, keep_last=0) == set()  # 0: retention off
    assert expired(packages, keep_last=0, protected={"c3", "s1"}) == {"c0", "c1", "c2", "c4", "s0", "s2"}


def test_failed_packages_stay_until_a_later_exchange_succeeded() -> None:
    failed = package("failed", 30, state="failed")
    other_user = package("other", 5, state="imported", user="2nd-node")
    assert expired([failed, other_user], keep_last=0) == set()
    earlier_success = package("before", 40)
    assert expired([failed, other_user, earlier_success], keep_last=0) == {"before"}
    later_success = package("after", 20, state="completed")
    assert expired([failed, later_success], keep_last=0) == {"failed", "after"}


def test_abandoned_packages_go_recent_ones_stay() -> None:
    packages = [
        package("abandoned", 30, state="receiving"),
        package("crashed", 20, state="importing"),
        package("receiving-now", 0.01, state="receiving"),
        package("importing-now", 0.5, state="importing"),
    ]
    assert expired(packages, keep_last=0) == {"abandoned", "crashed"}


def test_naive_timestamps_are_utc() -> None:  # SQLite hands timestamps back without a zone
    naive = PackageInfo("old", "catalog", "1c", "imported", dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1))
    assert expired([naive], keep_last=0) == {"old"}


def _catalog(tmp: Path, name: str, products: list[str]) -> list[tuple[str, Path]]:
    path = cml.write(tmp, name, cml.goods(products))
    return [("import.xml", path)]


async def test_prune_removes_folders_of_finished_exchanges_only(
    database_url: str, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    data = tmp_path / "data"
    settings = settings_for(data, database_url, keep_packages_days=14.0, keep_packages_last=1)
    old = _catalog(tmp_path / "a", "a.xml", [cml.product("p1", "Один"), cml.product("p2", "Два")])
    pictured = _catalog(tmp_path / "b", "b.xml", [cml.product("p3", "Три", images=["import_files/p3.jpg"])])
    newest = _catalog(tmp_path / "c", "c.xml", [cml.product("p1", "Один"), cml.product("p2", "Два")])
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация><Каталог>', "utf-8")
    async with live_server(settings) as live:
        await replay_catalog(live.node(), old)
        await replay_catalog(live.node(), pictured)
        with pytest.raises(ExchangeFailed):
            await replay_catalog(live.node(), [("import.xml", broken)])
        await replay_catalog(live.node(), newest)
        journal = (await live.api("/api/exchanges"))["items"]
    ids = [item["packages"][0]["id"] for item in reversed(journal)]  # oldest first
    states = [item["packages"][0]["state"] for item in reversed(journal)]
    assert states[2] == "failed" and "failed" not in (states[0], states[1], states[3])
    folders = {pid: data / "packages" / "catalog" / pid for pid in ids}
    assert all(f.is_dir() for f in folders.values())

    # Today nothing is old enough.
    assert (await prune_packages(sessionmaker, settings)).removed == []
    # In a month: the first package goes; the second holds the picture of p3 (the push reads it
    # there); the failed one was followed by a success, so it goes too; the newest is kept.
    report = await prune_packages(sessionmaker, settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert set(report.removed) == {ids[0], ids[2]}
    assert report.bytes_freed > 0
    assert not folders[ids[0]].exists() and not folders[ids[2]].exists()
    assert folders[ids[1]].is_dir() and folders[ids[3]].is_dir()
    # Without the "newest kept" rule the last one is old too, unless an import of it runs right now.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    none_kept = settings.model_copy(update={"keep_packages_last": 0})
    off = none_kept.model_copy(update={"keep_packages_days": 0.0})
    assert (await prune_packages(sessionmaker, off, now=later)).removed == []
    again = await prune_packages(sessionmaker, none_kept, now=later, running={ids[3]})
    assert again.removed == [] and folders[ids[3]].is_dir()
    last = await prune_packages(sessionmaker, none_kept, now=later)
    assert last.removed == [ids[3]] and not folders[ids[3]].exists() and folders[ids[1]].is_dir()


async def test_a_shutdown_lets_a_prune_in_progress_finish(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server stopped right after its start must not cancel the start-up prune mid-way.

    Cancelled inside a database call, aiosqlite's thread later reported to an event loop that was
    already closed (seen as a warning in about half of the one-request tests).
    """
    from exchange_server import retention

    seen: list[str] = []
    started = asyncio.Event()

    async def slow_prune(*args: object, **kwargs: object) -> retention.PruneReport:
        seen.append("started")
        started.set()
        await asyncio.sleep(0.3)
        seen.append("finished")
        return retention.PruneReport()

    monkeypatch.setattr(retention, "prune_packages", slow_prune)
    settings = settings_for(tmp_path / "data", database_url, keep_packages_days=14.0)
    async with live_server(settings):
        await asyncio.wait_for(started.wait(), 10)
    assert seen == ["started", "finished"]
