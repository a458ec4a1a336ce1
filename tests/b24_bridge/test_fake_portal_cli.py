"""``cml-exchange fake-portal`` options: inventory management on/off and the per-call operating cost.

The contract of the first line (the webhook URL) and of ``/_fake/stats`` stays as it was.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp


async def _serve(*options: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from exchange_server.cli import main; main()",
        "fake-portal",
        "--port",
        "0",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
    return proc, line


async def _call(session: aiohttp.ClientSession, url: str, method: str) -> dict[str, Any]:
    async with session.post(f"{url}{method}", json={}) as resp:
        body: dict[str, Any] = json.loads(await resp.text())
        return body


def test_inventory_and_cost_options() -> None:
    async def main() -> None:
        proc, url = await _serve("--inventory", "--cost", "0.25")
        try:
            assert url.startswith("http://127.0.0.1:") and url.endswith("/") and "/rest/1/" in url
            async with aiohttp.ClientSession() as session:
                mode = await _call(session, url, "catalog.document.mode.status")
                assert mode["result"] == "Y"
                assert mode["time"]["duration"] == 0.25 and mode["time"]["operating"] == 0.25
                async with session.get(f"{url.split('/rest/')[0]}/_fake/stats") as resp:
                    stats = json.loads(await resp.text())
            assert stats == {"requests": 1, "rejected": 0, "calls": {"catalog.document.mode.status": 1}}
        finally:
            proc.terminate()
            await proc.wait()

        proc, url = await _serve("--no-inventory")
        try:
            async with aiohttp.ClientSession() as session:
                mode = await _call(session, url, "catalog.document.mode.status")
            assert mode["result"] == "N" and mode["time"]["duration"] == 0.05  # the default cost
        finally:
            proc.terminate()
            await proc.wait()

        bad = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from exchange_server.cli import main; main()",
            "fake-portal",
            "--cost",
            "-1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await bad.communicate()
        assert bad.returncode == 2 and b"--cost: must be within 0..600 seconds" in err

    asyncio.run(main())
