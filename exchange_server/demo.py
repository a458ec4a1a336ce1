"""``cml-exchange demo``: the whole product on loopback in one command, for a first look.

::

    cml-exchange demo [--port 8080] [--data-dir DIR] [--fixtures DIR] [--plan standard] [--exit-after-setup]

What it does, in order, printing each step:

1. starts a fake Bitrix24 portal (``b24_bridge.fake``, as ``cml-exchange fake-portal``) on
   ``127.0.0.1`` (any free port);
2. starts the exchange server on ``127.0.0.1:PORT`` with SQLite in ``--data-dir`` (default: a
   temporary directory, removed at exit), generated passwords, the Bitrix24 bridge and the invoice
   sync pointed at that portal;
3. replays the bundled fixture set (``fixtures/commerceml/classic-2.08``) as 1C would
   (``exchange_server.replay``: checkauth, init, upload in ``file_limit`` pieces, import loop);
4. pushes the catalog to the portal (``b24_bridge.sync``: plan, enqueue, drain what is due now;
   what the portal refuses stays in the outbox with its reason and the server's worker retries it);
5. creates a sample invoice in the portal (a company with an ИНН, one of the pushed goods and a
   delivery row) and lets the invoice sync pick it up;
6. runs the orders exchange as 1C would (``mode=query``, then ``success``) and counts the orders;
7. prints the admin URL and the credentials, and serves until Ctrl-C (``--exit-after-setup``: stops
   here, for tests and scripts).

The demo builds its settings itself (``CML_*`` variables for the database, passwords and portal are
not read) so it never touches a real portal or database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from lxml import etree
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge.client import B24Client
from b24_bridge.fake.app import make_portal_app
from b24_bridge.fake.portal import PLANS, FakePortal, PortalConfig
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.web import INVOICE_SYNC, add_invoice_service
from b24_bridge.ratelimit import Limits
from b24_bridge.sync.pusher import Pusher, PushReport
from b24_bridge.sync.service import plan_and_enqueue
from exchange_server.app import make_app
from exchange_server.keys import SESSIONMAKER
from exchange_server.outbox import queue
from exchange_server.replay import ReplayNode, replay_catalog, sale_query
from exchange_server.settings import Settings
from exchange_server.web.b24_metrics import instrument

__all__ = ["DEFAULT_FIXTURES", "Demo", "DemoError", "DemoOptions", "register", "running_demo"]

DEFAULT_FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "commerceml" / "classic-2.08"
DEMO_ADMIN: Final = "admin"
DEMO_NODE: Final = "1c"
SAMPLE_GOODS_ID: Final = "a1b2c3d4-0000-4000-8000-000000000103"  # "Ботинки Walker" of classic-2.08
SAMPLE_INN, SAMPLE_KPP = "7707083893", "770701001"
SETTLE_SECONDS: Final = 30.0

Say = Callable[[str], None]


class DemoError(Exception):
    """The demo cannot run in this environment."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path | None = None
    fixtures: Path = DEFAULT_FIXTURES
    plan: str = "standard"


@dataclass(slots=True)
class PushOutcome:
    """The outbox once the push settled: jobs done (by the server's worker or the demo's own drain)."""

    done: int
    pending: int
    failed: int
    own: PushReport  # what the demo's own drain did (the server's worker may have done the rest)


@dataclass(slots=True)
class Demo:
    """The running demo: where everything is, and what the set-up did."""

    base_url: str
    portal_url: str
    data_dir: Path
    admin_password: str
    node_password: str
    portal: FakePortal
    push: PushOutcome | None = None
    invoice_id: int | None = None
    query_xml: bytes = b""
    orders: list[str] = field(default_factory=list)

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/admin/"

    @property
    def exchange_url(self) -> str:
        return f"{self.base_url}/1c_exchange"


def catalog_files(folder: Path) -> list[tuple[str, Path]]:
    """The fixture set's files in 1C's order: import.xml, then offers.xml (others by name).

    Raises:
        FileNotFoundError: the folder holds no import.xml.
    """
    if not (folder / "import.xml").is_file():
        raise FileNotFoundError(f"no import.xml in {folder} (give --fixtures DIR)")
    order = {"import.xml": 0, "offers.xml": 1}
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml"),
        key=lambda p: (order.get(p.name, 2), p.name),
    )
    return [(p.name, p) for p in files]


def order_numbers(xml: bytes) -> list[str]:
    """The ``Номер`` of every document in a ``mode=query`` answer (with or without the namespace)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml, parser)
    numbers = []
    for document in root:
        if isinstance(document.tag, str) and etree.QName(document).localname == "Документ":
            number = next(
                (
                    c.text or ""
                    for c in document
                    if isinstance(c.tag, str) and etree.QName(c).localname == "Номер"
                ),
                "",
            )
            numbers.append(number)
    return numbers


@contextlib.asynccontextmanager
async def _site(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield int(runner.addresses[0][1]) if runner.addresses else port
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def _data_dir(given: Path | None) -> Any:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    temp = Path(tempfile.mkdtemp(prefix="cml-demo-"))
    try:
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)


async def _push(
    client: B24Client, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, say: Say
) -> PushOutcome:
    # The finished package has already woken the server's own worker; the demo plans and drains too
    # (whatever the worker has not taken yet), then waits until nothing is in flight.
    plan = await plan_and_enqueue(sessionmaker, settings.b24)
    say(f"push: {len(plan.jobs)} more portal entities planned ({', '.join(sorted(plan.counts())) or 'none'})")
    report = await Pusher(client, sessionmaker, settings.b24).drain(wait=False)
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        async with sessionmaker() as session:
            status = await queue.status(session)
        if not status["running"] or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.1)
    say(
        f"push: {status['done']} in the portal, {status['pending']} waiting (the server's worker retries "
        f"them; see the outbox page), {status['failed']} parked; {report.calls} calls by the demo itself"
    )
    for error in report.errors[:3]:
        say(f"  the portal refused: {error}")
    return PushOutcome(done=status["done"], pending=status["pending"], failed=status["failed"], own=report)


async def _sample_invoice(client: B24Client) -> int:
    """A company with requisites and address, and a smart invoice with one pushed good + delivery."""
    found = await client.call("crm.product.list", {"filter": {"XML_ID": SAMPLE_GOODS_ID}, "select": ["ID"]})
    if found:
        product_id = int(found[0]["ID"])
    else:  # the push did not create it: an own product row keeps the demo going
        product_id = int(
            await client.call(
                "crm.product.add", {"fields": {"NAME": "Ботинки Walker", "XML_ID": SAMPLE_GOODS_ID}}
            )
        )
    company = await client.call("crm.company.add", {"fields": {"TITLE": "ООО Демо"}})
    requisite = await client.call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Организация",
                    "RQ_INN": SAMPLE_INN, "RQ_KPP": SAMPLE_KPP, "RQ_COMPANY_FULL_NAME": 'ООО "Демо"'}},
    )  # fmt: skip
    await client.call(
        "crm.address.add",
        {"fields": {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite, "CITY": "Москва",
                    "ADDRESS_1": "ул. Примерная, 1"}},
    )  # fmt: skip
    item = await client.call(
        "crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт (демо)", "companyId": company}}
    )
    invoice_id = int(item["item"]["id"])
    await client.call(
        "crm.item.productrow.set",
        {
            "ownerType": "SI",
            "ownerId": invoice_id,
            "productRows": [
                {"productId": product_id, "price": 4990, "quantity": 2, "taxRate": 20, "taxIncluded": "Y"},
                {"productId": 0, "productName": "Доставка", "price": 300, "quantity": 1},
            ],
        },
    )
    return invoice_id


@contextlib.asynccontextmanager
async def running_demo(options: DemoOptions, say: Say = print) -> AsyncIterator[Demo]:
    """Everything of the demo set up and running; stopped (and a temporary data dir removed) at exit.

    Raises:
        FileNotFoundError: the fixture set is missing.
        DemoError: ``CML_B24_WEBHOOK_URL`` is set (a real portal would get the demo's invoices).
        OSError: a port cannot be bound.
    """
    files = catalog_files(options.fixtures)
    if InvoiceSettings().enabled:
        raise DemoError(
            "CML_B24_WEBHOOK_URL is set: the server would also sync invoices with that portal; "
            "unset it to run the demo"
        )
    with _data_dir(options.data_dir) as data_dir:
        portal = FakePortal(PortalConfig(plan=options.plan))
        async with _site(make_portal_app(portal), options.host, 0) as portal_port:
            webhook = f"http://{options.host}:{portal_port}{portal.webhook_path()}"
            say(f"fake Bitrix24 portal: {webhook} (plan {options.plan})")
            admin_password, node_password = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
            settings = Settings(
                data_dir=data_dir,
                database_url=f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
                exchange_user=DEMO_NODE,
                exchange_password=SecretStr(node_password),
                admin_user=DEMO_ADMIN,
                admin_password=SecretStr(admin_password),
                b24_webhook_url=SecretStr(webhook),
                b24_plan=options.plan,
            )
            app = make_app(settings)
            add_invoice_service(
                app,
                settings=InvoiceSettings(
                    webhook_url=webhook, application_token=SecretStr(secrets.token_urlsafe(16))
                ),
            )
            async with _site(app, options.host, options.port) as port:
                demo = Demo(
                    base_url=f"http://{options.host}:{port}",
                    portal_url=webhook,
                    data_dir=data_dir,
                    admin_password=admin_password,
                    node_password=node_password,
                    portal=portal,
                )
                say(f"exchange server: {demo.exchange_url} (data in {data_dir})")
                await _setup(demo, app, settings, files, say)
                yield demo


async def _setup(
    demo: Demo, app: web.Application, settings: Settings, files: list[tuple[str, Path]], say: Say
) -> None:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:

        def node() -> ReplayNode:
            return ReplayNode(http, demo.exchange_url, DEMO_NODE, demo.node_password, report=say)

        say(f"1C catalog exchange: {', '.join(name for name, _ in files)} from {files[0][1].parent}")
        await replay_catalog(node(), files)
        client = instrument(
            B24Client.for_webhook(http, demo.portal_url, limits=Limits.for_plan(settings.b24_plan))
        )
        demo.push = await _push(client, app[SESSIONMAKER], settings, say)
        demo.invoice_id = await _sample_invoice(client)
        say(f"sample invoice {demo.invoice_id} created in the portal")
        report = await app[INVOICE_SYNC].poll_once()
        say(f"invoice sync: {report.exported} invoice(s) queued for 1C, {report.waiting} waiting")
        demo.query_xml = await sale_query(node())
        demo.orders = order_numbers(demo.query_xml)
        say(f"1C orders exchange (mode=query): {len(demo.orders)} order(s): {', '.join(demo.orders)}")


# --- CLI -----------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the cml-exchange parser."""
    demo = sub.add_parser(
        "demo",
        help="try it: server + fake Bitrix24 portal on loopback, a replayed catalog, an invoice",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--port", type=int, default=8080, help="server port (default 8080; 0: any free)")
    demo.add_argument("--data-dir", type=Path, help="keep the data here (default: a temporary directory)")
    demo.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="CommerceML set to replay")
    demo.add_argument("--plan", choices=sorted(PLANS), default="standard", help="limits of the fake portal")
    demo.add_argument("--exit-after-setup", action="store_true", help="stop once everything is set up")
    demo.set_defaults(run=run_demo)


def _say(line: str) -> None:
    print(line, flush=True)


def banner(demo: Demo) -> list[str]:
    return [
        "",
        "The demo is ready.",
        f"  Admin pages:   {demo.admin_url}",
        f"  Operator:      user {DEMO_ADMIN}   password {demo.admin_password}",
        f"  1C exchange:   {demo.exchange_url}   user {DEMO_NODE}   password {demo.node_password}",
        f"  Fake portal:   {demo.portal_url}",
        f"  Data:          {demo.data_dir}",
    ]


async def _run(options: DemoOptions, exit_after_setup: bool) -> None:
    async with running_demo(options, _say) as demo:
        for line in banner(demo):
            _say(line)
        if exit_after_setup:
            return
        _say("Press Ctrl-C to stop.")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        _say(f"stopping ({dt.datetime.now().strftime('%H:%M:%S')})")


def run_demo(args: argparse.Namespace) -> int:
    options = DemoOptions(port=args.port, data_dir=args.data_dir, fixtures=args.fixtures, plan=args.plan)
    try:
        asyncio.run(_run(options, args.exit_after_setup))
    except (FileNotFoundError, DemoError) as exc:
        print(f"cml-exchange demo: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cml-exchange demo: cannot listen on {options.host}:{options.port}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a step of the set-up failed: say which, exit non-zero
        print(f"cml-exchange demo: set-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
