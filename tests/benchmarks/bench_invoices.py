"""Invoice benchmark: 1C's upload -> portal change latency, and 1,000 invoices exported in one query.

Run (not a pytest test)::

    python -m tests.benchmarks.bench_invoices [--invoices 1000] [--changes 20] [--new-inn 10]
        [--database-url URL]

The real server (``make_app`` + the invoice service) on a fresh SQLite file (or ``--database-url``),
spoken to over HTTP by the test client; the fake portal at the **standard** plan's limits (2
requests/s, burst 50, operating-time limit on) with the client's own leaky bucket at the same limits.
The portal is seeded with its limiter switched off (seeding is not what is measured).

1. ``export``: ``poll_once`` reads every invoice (with rows, companies, requisites, product Ид) into the
   order store; then one ``mode=query`` returns them all and ``mode=success`` commits them. Timed
   separately; the REST requests it cost are counted.
2. ``latency``: for ``--changes`` invoices, one classic ``type=sale&mode=file`` upload of a payment;
   the time from the request to the answer, by which the portal's invoice is on the paid stage
   (checked), with the client's bucket idle (waiting out the drain first) and with it full (right
   after a burst of 50 requests).

3. ``new ИНН``: ``--new-inn`` orders created in 1C, each for a counterparty whose ИНН the portal does
   not know, one classic upload each; the time from the request to the answer, by which the company,
   its requisite and the invoice with its rows exist (checked: exactly one of each), in turn with the
   bucket idle, full, and ``busy``: full, and another job (the goods push) keeps sending one request
   after another through the same bucket during the upload.

Prints a markdown report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from lxml import etree
from pydantic import SecretStr

from b24_bridge import B24Client, LeakyBucket, Limits
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.sync import InvoiceSync
from b24_bridge.invoices.web import INVOICE_SYNC, add_invoice_service
from commerceml.model import Counterparty, Document, OrderLine, Requisite
from exchange_server.app import make_app
from exchange_server.settings import Settings
from tests.b24_invoices.conftest import upload_orders
from tests.exchange_server.exchange_client import Node


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed(portal: FakePortal, invoices: int) -> list[int]:
    """Products, 20 companies with requisites, ``invoices`` invoices of 3 rows each (limiter off)."""
    bucket, operating = portal.bucket, portal.operating
    portal.bucket = portal.operating = None
    client = B24Client(InProcessTransport(portal), limits=Limits.for_plan("box"), bucket=None)
    products = [
        int(
            await client.call(
                "crm.product.add", {"fields": {"NAME": f"Товар {i}", "XML_ID": f"guid-{i:04d}"}}
            )
        )
        for i in range(50)
    ]
    companies = []
    for i in range(20):
        company = int(await client.call("crm.company.add", {"fields": {"TITLE": f"ООО Клиент {i}"}}))
        await client.call(
            "crm.requisite.add",
            {
                "fields": {
                    "ENTITY_TYPE_ID": 4,
                    "ENTITY_ID": company,
                    "PRESET_ID": 1,
                    "NAME": "Организация",
                    "RQ_INN": f"77{i:08d}",
                    "RQ_KPP": "770101001",
                }
            },
        )
        companies.append(company)
    ids = []
    for n in range(invoices):
        item = await client.call(
            "crm.item.add", {"entityTypeId": 31, "fields": {"companyId": companies[n % 20]}}
        )
        invoice_id = int(item["item"]["id"])
        rows = [
            {
                "productId": products[(n + k) % 50],
                "price": 100.0 + k,
                "quantity": 1 + k,
                "taxRate": 20,
                "taxIncluded": "Y",
            }
            for k in range(3)
        ]
        await client.call(
            "crm.item.productrow.set", {"ownerType": "SI", "ownerId": invoice_id, "productRows": rows}
        )
        ids.append(invoice_id)
    portal.bucket, portal.operating = bucket, operating
    portal.events.outbox.clear()
    return ids


async def _prepare_bucket(client: B24Client, condition: str) -> asyncio.Task[None] | None:
    """``idle``: wait out the client's bucket; ``full``: another job just used the whole burst;
    ``busy``: full, and that job goes on sending (returns its task; cancel it after the upload)."""
    if condition == "idle":
        bucket = client.bucket
        assert bucket is not None
        await asyncio.sleep(bucket.level(client.clock.now()) / 2.0 + 0.2)
        return None
    for _ in range(50):
        await client.call("crm.vat.list", {})
    if condition != "busy":
        return None

    async def other_job() -> None:
        while True:
            await client.call("crm.vat.list", {})

    task = asyncio.create_task(other_job())
    await asyncio.sleep(0.6)  # its next request is already waiting for a slot
    return task


async def run(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="bench-invoices-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = Settings(
        data_dir=tmp / "data",
        database_url=database_url,
        exchange_password=SecretStr("secret"),
        admin_password=SecretStr("adminpw"),
        step_seconds=20,
    )
    portal = FakePortal(PortalConfig(plan="standard"))
    log(f"seeding {args.invoices} invoices ...")
    ids = await seed(portal, args.invoices)
    limits = Limits.for_plan("standard")
    service_client = B24Client(
        InProcessTransport(portal), limits=limits, bucket=LeakyBucket.from_limits(limits)
    )
    app = make_app(settings)
    add_invoice_service(
        app,
        settings=InvoiceSettings(application_token=SecretStr("t")),
        client_factory=lambda _s: service_client,
        background=False,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        sync: InvoiceSync = client.app[INVOICE_SYNC]
        requests_before = portal.stats.requests
        started = time.perf_counter()
        report = await sync.poll_once()
        poll_s = time.perf_counter() - started
        poll_requests = portal.stats.requests - requests_before
        assert report.exported == args.invoices, report
        node = Node(client)
        await node.checkauth("sale")
        await node.init("sale")
        started = time.perf_counter()
        body, _ = await node.raw("sale", "query")
        query_s = time.perf_counter() - started
        count = sum(1 for _ in etree.fromstring(body).iter("Документ"))
        assert count == args.invoices, count
        started = time.perf_counter()
        assert await node.call("sale", "success") == "success\n"
        success_s = time.perf_counter() - started
        log(
            f"export: poll {poll_s:.2f}s ({poll_requests} requests), query {query_s:.2f}s, success {success_s:.2f}s"
        )

        results: dict[str, list[float]] = {"idle": [], "full": []}
        per_change: list[int] = []
        for index, invoice_id in enumerate(ids[: args.changes]):
            condition = "idle" if index % 2 == 0 else "full"
            if condition == "idle":
                bucket = service_client.bucket
                assert bucket is not None
                await asyncio.sleep(bucket.level(service_client.clock.now()) / 2.0 + 0.2)  # drain first
            else:
                for _ in range(50):  # another job (the goods push) just used the whole burst
                    await service_client.call("crm.vat.list", {})
            doc = Document(
                id=str(invoice_id),
                number=str(invoice_id),
                amount=Decimal(1000),
                version="1",
                operation="Заказ товара",
                requisites=(Requisite("Дата оплаты по 1С", (dt.datetime.now().isoformat(),)),),
            )
            before = portal.stats.requests
            started = time.perf_counter()
            answer = await upload_orders(node, [doc], name=f"pay-{invoice_id}.xml")
            elapsed = time.perf_counter() - started
            assert answer.startswith("success"), answer
            stage = (await service_client.call("crm.item.get", {"entityTypeId": 31, "id": invoice_id}))[
                "item"
            ]
            assert stage["stageId"].endswith(":P"), stage["stageId"]
            per_change.append(portal.stats.requests - before)
            results[condition].append(elapsed)
            log(f"change {index + 1}: {condition} {elapsed * 1000:.0f} ms, {per_change[-1]} requests")

        new_inn: dict[str, list[float]] = {"idle": [], "full": [], "busy": []}
        per_new: list[int] = []
        for index in range(args.new_inn):
            condition = ("idle", "full", "busy")[index % 3]
            other = await _prepare_bucket(service_client, condition)
            inn = f"50{index:08d}"  # the seeded companies use 77xxxxxxxx
            doc = Document(
                id=f"bench-new-{index}",
                number=f"УТ-{index}",
                date=dt.date.today(),
                amount=Decimal(3000),
                version="1",
                operation="Заказ товара",
                counterparties=(
                    Counterparty(id=f"c-{inn}", name=f"ООО Новый {index}", inn=inn, kpp="770101001",
                                 role="Покупатель"),
                ),  # fmt: skip
                lines=(
                    OrderLine(id=f"guid-{index % 50:04d}", name="Товар", price=Decimal(1000),
                              quantity=Decimal(3), amount=Decimal(3000)),
                ),  # fmt: skip
            )
            before_records = sum(1 for r in portal.records if not r.nested and r.method != "crm.vat.list")
            started = time.perf_counter()
            answer = await upload_orders(node, [doc], name=f"new-{index}.xml")
            elapsed = time.perf_counter() - started
            if other is not None:
                other.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await other
            assert answer.startswith("success"), answer
            made = [r for r in list(portal.records) if not r.nested and r.method != "crm.vat.list"]
            per_new.append(
                sum(1 for r in portal.records if not r.nested and r.method != "crm.vat.list") - before_records
            )
            methods = [r.method for r in made[-2:]]
            requisites = await service_client.list_all("crm.requisite.list", {"filter": {"RQ_INN": inn}})
            items = await service_client.call(
                "crm.item.list", {"entityTypeId": 31, "filter": {"xmlId": doc.id}}
            )
            assert len(requisites) == 1 and len(items["items"]) == 1, (requisites, items)
            assert items["items"][0]["companyId"] == int(requisites[0]["ENTITY_ID"])
            new_inn[condition].append(elapsed)
            log(f"new ИНН {index + 1}: {condition} {elapsed * 1000:.0f} ms, {per_new[-1]} requests: {methods}")
    finally:
        await client.close()

    def row(name: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        return (
            f"| {name} | {len(values)} | {statistics.median(values) * 1000:.0f} | {p95 * 1000:.0f} | "
            f"{values[-1] * 1000:.0f} |"
        )

    lines = [
        f"Export of {args.invoices} invoices ({database_url.split(':')[0]}):",
        "",
        "| step | time (s) | REST requests |",
        "|---|---:|---:|",
        f"| poll: portal -> order store | {poll_s:.2f} | {poll_requests} |",
        f"| mode=query ({count} documents, {len(body) / 1e6:.1f} MB) | {query_s:.2f} | 0 |",
        f"| mode=success | {success_s:.2f} | 0 |",
        "",
        f"1C upload -> portal change (one payment per upload, {statistics.median(per_change):.0f} REST "
        "requests per change):",
        "",
        "| client bucket | changes | median (ms) | p95 (ms) | max (ms) |",
        "|---|---:|---:|---:|---:|",
        row("idle", results["idle"]),
        row("full (50 requests just sent)", results["full"]),
    ]
    if per_new:
        lines += [
            "",
            f"Order created in 1C for a new ИНН -> company + requisite + invoice with rows "
            f"({statistics.median(per_new):.0f} REST requests each):",
            "",
            "| client bucket | orders | median (ms) | p95 (ms) | max (ms) |",
            "|---|---:|---:|---:|---:|",
            row("idle", new_inn["idle"]),
            row("full (50 requests just sent)", new_inn["full"]),
            row("busy (full, another job sending on)", new_inn["busy"]),
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--new-inn", type=int, default=10, help="orders from 1C for new ИНН")
    parser.add_argument("--database-url", default=None)
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
