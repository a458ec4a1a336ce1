"""What password hashing costs a 1C exchange: scrypt once, then the remembered check per request.

    .venv/bin/python -m tests.benchmarks.bench_auth [--requests 300] [--rounds 5]

Prints (medians of ``--rounds``): one scrypt check, one remembered check, and the time per 1C request
(``mode=init`` on a live session, SQLite, over HTTP on loopback) with the cookie only and with Basic
credentials on every request as some 1C configurations send them, and their ratio. The machine is
shared: compare the two request timings of one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from exchange_server.app import make_app
from exchange_server.db.engine import upgrade_schema
from exchange_server.passwords import PasswordCheck, hash_password
from exchange_server.settings import Settings


async def _checks(rounds: int) -> tuple[float, float]:
    stored = hash_password("bench-password")
    cold, warm = [], []
    for _ in range(rounds):
        check = PasswordCheck("1c", stored)
        start = time.perf_counter()
        assert await check.verify("1c", "bench-password")
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(1000):
            await check.verify("1c", "bench-password")
        warm.append((time.perf_counter() - start) / 1000)
    return statistics.median(cold), statistics.median(warm)


async def _requests(requests: int, rounds: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_schema(url)
        settings = Settings(
            data_dir=Path(tmp), database_url=url, exchange_password=SecretStr("bench-password"),
            admin_password=SecretStr("bench-admin"),
        )  # fmt: skip
        server = TestServer(make_app(settings), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                endpoint = str(server.make_url("/1c_exchange"))
                basic = aiohttp.encode_basic_auth("1c", "bench-password")
                async with http.get(
                    endpoint,
                    params={"type": "catalog", "mode": "checkauth"},
                    headers={"Authorization": basic},
                ) as response:
                    lines = (await response.text()).split("\n")
                cookie = f"{lines[1]}={lines[2]}"

                async def run(headers: dict[str, str]) -> float:
                    start = time.perf_counter()
                    for _ in range(requests):
                        async with http.get(
                            endpoint, params={"type": "catalog", "mode": "init"}, headers=headers
                        ) as response:
                            assert (await response.text()).startswith("zip="), await response.text()
                    return (time.perf_counter() - start) / requests

                plain, with_basic = [], []
                for _ in range(rounds):  # interleaved, so machine noise hits both alike
                    plain.append(await run({"Cookie": cookie}))
                    with_basic.append(await run({"Cookie": cookie, "Authorization": basic}))
        finally:
            await server.close()
    return statistics.median(plain), statistics.median(with_basic)


async def _main(args: argparse.Namespace) -> None:
    cold, warm = await _checks(args.rounds)
    print(f"scrypt check (n=2^14, r=8, p=1): {cold * 1000:.1f} ms; remembered check: {warm * 1e6:.1f} us")
    plain, with_basic = await _requests(args.requests, args.rounds)
    print(
        f"1C request (mode=init, SQLite, loopback): cookie only {plain * 1000:.2f} ms, with Basic "
        f"{with_basic * 1000:.2f} ms; ratio {with_basic / plain:.3f} (median of {args.rounds} x {args.requests})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(_main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
