"""The disk fills up during an upload: a small tmpfs mounted as the data directory (a real ENOSPC from
the kernel, not a simulated one). The server answers ``failure`` with the reason, removes the partial
file, records the failed package, writes nothing to the catalog; once space is freed, the repeated
exchange succeeds and the store matches the files exactly.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.replay import ExchangeFailed, ReplayNode, replay_catalog
from exchange_server.uploads import DiskFull, receive_chunk
from tests.exchange_server.e2e_support import PASSWORD, USER
from tests.faults.support import Api, catalog_digest, db_catalog_digest, serve

PAGE = 4096


def _mount_tmpfs(where: Path, size: int) -> None:
    if os.geteuid() != 0:
        reason = "mounting a tmpfs needs root (the disk-full tests use a real ENOSPC)"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set")
        pytest.skip(reason)
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI is set")
        pytest.skip(reason)


def _unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 8 MiB (the catalog below is about 1.3 MB)."""
    where = tmp_path / "disk"
    _mount_tmpfs(where, 8 * 1024 * 1024)
    try:
        yield where
    finally:
        _unmount(where)


def _fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free on ``disk``."""
    filler = disk / "filler.bin"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


def _free(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


async def _pieces(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_disk_full_at_the_buffered_tail_removes_the_file(tmp_path: Path) -> None:
    """The last bytes of a chunk sit in the write buffer: ENOSPC comes from ``close()``, not from
    ``write()``. The torn file must still be removed (it was kept, with the error hidden as an
    interrupted upload)."""
    disk = tmp_path / "tiny"
    _mount_tmpfs(disk, 64 * 1024)
    try:
        _fill(disk, PAGE)
        assert _free(disk) == PAGE
        package = disk / "packages" / "p1"
        package.mkdir(parents=True)
        assert _free(disk) == PAGE  # tmpfs directories take no pages
        with pytest.raises(DiskFull) as caught:
            await receive_chunk(
                _pieces(b"<?xml " + b"x" * 3000, b"y" * 2000), package, "import.xml", last_chunk=None
            )
        assert "место на диске" in caught.value.reply_text
        assert not (package / "import.xml").exists()
        assert _free(disk) == PAGE
    finally:
        _unmount(disk)


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True,
)
async def test_disk_full_during_upload_then_repeat_after_space_is_freed(
    database_url: str, tmp_path: Path, small_disk: Path
) -> None:
    catalog = generate_catalog(
        tmp_path / "cml", CatalogSpec(products=500, properties=2, description_sentences=0, seed=31)
    )
    files = [(f.path.name, f.path) for f in catalog.files]
    total = sum(path.stat().st_size for _, path in files)
    assert 3 * total < _free(small_disk)
    data_dir, log = small_disk / "data", tmp_path / "server.log"
    data_dir.mkdir()
    filler = _fill(small_disk, total // 3)
    jar = aiohttp.DummyCookieJar()
    env = {"CML_FILE_LIMIT": str(128 * 1024)}
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=120)) as http:
        async with serve(data_dir, database_url, log, **env) as served:
            api = Api(http, served.base)
            node = ReplayNode(http, served.url, USER, PASSWORD, report=lambda _line: None)
            with pytest.raises(ExchangeFailed) as failed:
                await replay_catalog(node, files)
            message = str(failed.value)
            assert message.startswith("file ") and "закончилось место на диске" in message, message
            # The partial file is gone; nothing of it is in the catalog; the journal says why.
            package = next((data_dir / "packages" / "catalog").iterdir())
            sources = dict(files)
            for kept in (p for p in package.rglob("*") if p.is_file()):  # only whole files remain
                assert kept.read_bytes() == sources[kept.name].read_bytes(), kept.name
            torn = node.steps[-1].filename
            assert torn is not None and not (package / torn).exists()
            assert (await api.api("/api/products", limit=1))["total"] == 0
            exchange = (await api.api("/api/exchanges"))["items"][0]
            assert exchange["packages"][0]["state"] == "failed"
            assert "закончилось место" in (exchange["packages"][0]["outcome"] or "")
            assert torn not in {f["name"] for f in exchange["packages"][0]["files"]}
            # The same session is over: 1C must start again.
            with pytest.raises(ExchangeFailed):
                await node.text("catalog", "import", {"filename": torn})

            # The operator frees space; 1C repeats the exchange.
            filler.unlink()
            await replay_catalog(
                ReplayNode(http, served.url, USER, PASSWORD, report=lambda _line: None), files
            )
            catalog_digest([p for _, p in files]).assert_equal(
                await db_catalog_digest(database_url), "catalog after the repeat"
            )
            latest = (await api.api("/api/exchanges"))["items"][0]
            assert latest["outcome"] == "success"
