"""aiohttp handlers of ``/1c_exchange``: parse, run the protocol, do the I/O, answer. Thin on purpose.

Every answer is built in ``protocol.py``; every state change happens in
:meth:`ExchangeSession.receive`. This module reads the request, finds the session, does what waits
(files, database, import jobs) and renders the reply. Exchange errors become ``failure`` answers
here; anything unexpected becomes one in :func:`exchange_errors` (HTTP 200 always, protocol.md §1.3).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol
from xml.sax.saxutils import escape

from aiohttp import web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from commerceml.writer import write_orders
from exchange_server import journal
from exchange_server.commands import decode_basic, parse_command
from exchange_server.errors import (
    AUTH_FAILED,
    IMPORT_BEFORE_UPLOAD,
    NO_SESSION,
    AuthError,
    ExchangeError,
    RemoteProtocolError,
    UploadError,
)
from exchange_server.importer import commit_query, orders_for_query
from exchange_server.jobs import ImportJob, JobOutcome
from exchange_server.journal import FileState
from exchange_server.logins import LOGINS
from exchange_server.packages import Exchange, import_catalog_file, import_order_files, package_dir
from exchange_server.protocol import (
    COOKIE_NAME,
    MSG_COMPLETE,
    MSG_DEACTIVATED,
    MSG_NO_FILENAME,
    REPLY_CHARSET,
    Command,
    ExchangeSession,
    ImportState,
    Kind,
    Mode,
    Reply,
    State,
    XmlReply,
    auth_failure,
    session_id_for,
)
from exchange_server.uploads import (
    DiskFull,
    PackageBudget,
    idle_limited,
    is_zip,
    receive_chunk,
    safe_relative_name,
)

__all__ = ["EXCHANGE", "EXCHANGE_PATHS", "ORDER_HOOKS", "OrderHooks", "exchange", "exchange_errors", "render"]

log = logging.getLogger(__name__)

EXCHANGE = web.AppKey("exchange", Exchange)
EXCHANGE_PATHS: Final = ("/1c_exchange", "/bitrix/admin/1c_exchange.php")
QUERY_LIMIT: Final = 1000
UPLOAD_SLACK: Final = 1024 * 1024
MSG_STILL_IMPORTING: Final = "Импорт файлов пакета ещё выполняется; повторите команду позже."
MSG_INTERNAL: Final = "Внутренняя ошибка сервера. Подробности в журнале обмена."
MSG_INTERRUPTED: Final = "Передача файла {name} прервана; повторите отправку."
MSG_DATABASE_DOWN: Final = "База данных сервера недоступна; повторите обмен позже."
MSG_SLOW_REQUEST: Final = "Запрос передаётся слишком медленно (дольше {seconds:g} с); повторите его."

# Bitrix's sale info dictionary (protocol.md §3.7); the first letter of "Cтатусы" is a LATIN C there.
SALE_STATUSES: Final = (("N", "Принят"), ("P", "Оплачен, формируется к отправке"), ("F", "Выполнен"))


class OrderHooks(Protocol):
    """Optional listener of the orders exchange (the Bitrix24 invoice sync registers one)."""

    async def after_import(self, package_id: str) -> list[str]:
        """1C's orders of this package are stored; returns remarks for 1C."""
        ...

    async def after_success(self, exported: Sequence[tuple[str, str]]) -> None:
        """1C confirmed these (order id, version) pairs of its last query."""
        ...

    def sale_statuses(self) -> list[tuple[str, str]]:
        """``(code, name)`` pairs ``mode=info`` lists."""
        ...


ORDER_HOOKS = web.AppKey("order_hooks", OrderHooks)


async def _hook_import(app: web.Application, package_id: str) -> list[str]:
    hooks = app.get(ORDER_HOOKS)
    if hooks is None:
        return []
    try:
        return await hooks.after_import(package_id)
    except Exception:  # the orders are stored; a listener's failure must not fail 1C's upload
        log.exception("order hook failed after importing package %s", package_id)
        return []


@dataclass(slots=True)
class Step:
    """What the journal records of one request (filled in while handling it)."""

    session_id: str | None = None
    package_id: str | None = None
    kind: str | None = None
    mode: str | None = None
    filename: str | None = None
    bytes_in: int = 0
    locked: bool = False  # refused by the login lockout: journaled as status "locked"
    secret: str | None = None  # the new session cookie: never journaled


STEP = web.RequestKey("cml_step", Step)


def render(reply: Reply | XmlReply) -> web.Response:
    """The HTTP response: 200, windows-1251, ``Pragma: no-cache`` (Bitrix-exact), explicit length."""
    response = web.Response(body=reply.body(), content_type=reply.content_type, charset=REPLY_CHARSET)
    response.headers["Pragma"] = "no-cache"
    response.headers["Cache-Control"] = "no-store"
    return response


def _basic(request: web.Request) -> tuple[str, str] | None:
    return decode_basic(request.headers.get("Authorization"))


async def _valid(request: web.Request, auth: tuple[str, str]) -> bool:
    """The 1C login (hash check, lockout); a refusal while locked out is marked for the journal."""
    logins = request.app[LOGINS]
    verdict = await logins.check(request, logins.exchange, auth[0], auth[1], where="1C exchange")
    request[STEP].locked = verdict.locked
    return verdict.ok


def _idle_limit(ex: Exchange) -> dt.datetime:
    return journal.now() - dt.timedelta(seconds=ex.settings.session_ttl_seconds)


async def _params(request: web.Request) -> list[tuple[str, str]]:
    params = list(request.query.items())
    # Merge urlencoded POST fields, but never parse the body of mode=file (protocol.md §1.1).
    if (
        request.method == "POST"
        and request.query.get("mode", "").lower() != Mode.FILE
        and request.content_type == "application/x-www-form-urlencoded"
    ):
        seconds = request.app[EXCHANGE].settings.read_timeout
        try:
            form = await asyncio.wait_for(request.post(), seconds)
        except TimeoutError:  # a trickled form body (slowloris) must not hold the request
            raise RemoteProtocolError(MSG_SLOW_REQUEST.format(seconds=seconds)) from None
        params.extend((k, v) for k, v in form.items() if isinstance(v, str))
    return params


async def _find_session(ex: Exchange, request: web.Request, cmd: Command) -> ExchangeSession:
    auth = _basic(request)
    if auth is not None and not await _valid(request, auth):
        raise AuthError(AUTH_FAILED)
    cookie = request.cookies.get(COOKIE_NAME)
    sid = session_id_for(cookie) if cookie else None
    # An expired session (idle longer than CML_SESSION_TTL_SECONDS) answers like no session at all.
    active_since = _idle_limit(ex)
    async with ex.sessionmaker.begin() as db:
        if sid:
            session = await journal.load_session(db, sid, active_since=active_since)
        elif auth is not None:  # a proxy dropped the cookie; Basic still identifies the node
            session = await journal.latest_session(db, auth[0], cmd.kind, active_since=active_since)
        else:
            session = None
    if session is None:
        raise AuthError(NO_SESSION, detail=f"no live session {sid}" if sid else "no cookie")
    return session


async def exchange(request: web.Request) -> web.Response:
    """``GET|POST /1c_exchange?type=...&mode=...``: one step of an exchange."""
    ex = request.app[EXCHANGE]
    step: Step = request[STEP]
    cmd = parse_command(await _params(request))
    step.kind, step.mode, step.filename = cmd.kind.value, cmd.mode.value, _journal_text(cmd.filename)
    if cmd.mode is Mode.CHECKAUTH:
        return await _checkauth(ex, request, cmd)
    session = await _find_session(ex, request, cmd)
    step.session_id = session.sid
    try:
        session.receive(cmd)
        reply = await MODES[cmd.mode](ex, request, session, cmd)
    except ExchangeError as exc:
        if session.state is not State.ERROR:
            session.fail(exc.reply_text)
        reply = Reply.failure(exc.reply_text)
        log.info("session %s: %s %s -> failure: %s", session.sid, cmd.kind, cmd.mode, exc)
    step.package_id = session.package_id
    async with ex.sessionmaker.begin() as db:
        await journal.save_session(db, session)
    return render(reply)


async def _checkauth(ex: Exchange, request: web.Request, cmd: Command) -> web.Response:
    auth = _basic(request)
    if auth is None or not await _valid(request, auth):
        return render(auth_failure())
    # No rotation ever: this cookie is the session for the whole exchange (protocol.md §1.2 item 3).
    # Only its digest is stored and shown (protocol.session_id_for).
    cookie = secrets.token_urlsafe(24)
    session = ExchangeSession.start(cmd.kind, auth[0], sid=session_id_for(cookie), now=int(time.time()))
    async with ex.sessionmaker.begin() as db:
        await journal.save_session(db, session, remote=request.app[LOGINS].client(request))
    request[STEP].session_id = session.sid
    request[STEP].secret = cookie
    response = render(Reply.checkauth(session, cookie=cookie))
    response.set_cookie(
        COOKIE_NAME, cookie, path="/", httponly=True, samesite="Strict", secure=ex.settings.https or None
    )
    return response


Handler = Callable[[Exchange, web.Request, ExchangeSession, Command], Awaitable[Reply | XmlReply]]


async def _init(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    package_id = uuid.uuid4().hex
    root = package_dir(ex.settings, session.kind, package_id)
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    async with ex.sessionmaker.begin() as db:
        await journal.create_package(db, package_id=package_id, session=session, directory=str(root))
    if session.package_id:
        ex.jobs.forget(session.package_id)
    session.package_id = package_id
    return Reply.init(
        session.kind,
        zip=ex.settings.zip,
        file_limit=ex.settings.file_limit,
        version=cmd.version,
        sessid=session.sessid,
    )


def _package(session: ExchangeSession) -> str:
    if session.package_id is None:  # the table only allows these modes after init
        raise RemoteProtocolError(NO_SESSION, detail="no package")
    return session.package_id


def _journal_text(text: str | None) -> str | None:
    """A value 1C sent, as the journal keeps it: control characters (NUL!) escaped, at most 2000 chars."""
    if text is None:
        return None
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:2000])


async def _file(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    if not cmd.filename:
        raise UploadError(MSG_NO_FILENAME)
    package_id = _package(session)
    root = package_dir(ex.settings, session.kind, package_id)
    name = str(safe_relative_name(cmd.filename))
    async with ex.sessionmaker.begin() as db:
        row = await journal.file_row(db, package_id, name)
        previous = journal.last_chunk(row)
        booked = (row.size or 0) if row is not None else 0
        used = await journal.uploaded_bytes(db, package_id)  # one SUM, not every file row per chunk
    try:
        result = await receive_chunk(
            idle_limited(request.content.iter_chunked(1 << 20), ex.settings.read_timeout, name),
            root,
            cmd.filename,
            last_chunk=previous,
            booked_size=booked,
            expected_length=request.content_length,
            max_length=ex.settings.file_limit + UPLOAD_SLACK,
            budget=PackageBudget(ex.settings.upload_max_bytes, used),
            digests=ex.digests,
        )
    except DiskFull as exc:  # the file is gone, and so is its journal row: the package failed
        log.error("package %s: disk full while receiving %s: %s", package_id, name, exc.detail)
        async with ex.sessionmaker.begin() as db:
            await journal.discard_file(db, package_id, name, exc.reply_text)
        raise
    except (OSError, asyncio.IncompleteReadError) as exc:  # the body broke off; the file is unchanged
        raise UploadError(MSG_INTERRUPTED.format(name=name), detail=repr(exc)) from exc
    request[STEP].bytes_in = result.chunk.length
    archive = await asyncio.to_thread(is_zip, result.path)
    async with ex.sessionmaker.begin() as db:
        await journal.record_chunk(db, package_id, result, is_archive=archive)
    if result.action == "duplicate":
        log.warning("package %s: duplicate chunk of %s ignored", package_id, name)
    if session.kind is Kind.SALE and not session.stepwise_orders:
        # Classic orders exchange: import now, answer success + remarks (protocol.md §3.3 item 5).
        outcome = await import_order_files(ex, package_id, root, name, None)
        extra = await _hook_import(request.app, package_id)
        return Reply.success(remarks=(*outcome.remarks, *extra))
    return Reply.success()


async def _import(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    if not cmd.filename:
        raise RemoteProtocolError(MSG_NO_FILENAME)
    package_id = _package(session)
    root = package_dir(ex.settings, session.kind, package_id)
    name = str(safe_relative_name(cmd.filename))
    async with ex.sessionmaker.begin() as db:
        row = await journal.file_row(db, package_id, name)
        archives = await journal.pending_archives(db, package_id)
    if row is not None and row.import_state == FileState.DONE:  # 1C repeating: success, no redo
        return session.import_reply(ImportState(done=True, remarks=tuple(row.remarks or ())))
    job = ex.jobs.get((package_id, name))
    if row is not None and row.import_state == FileState.FAILED and (job is None or job.task.done()):
        return session.import_reply(ImportState(failure=row.import_error or IMPORT_BEFORE_UPLOAD))
    if job is None or job.task.done():
        if row is None and not archives:
            raise RemoteProtocolError(IMPORT_BEFORE_UPLOAD.format(name=name))
        work: Callable[..., Awaitable[JobOutcome]]
        work = import_catalog_file if session.kind is Kind.CATALOG else import_order_files
        app = request.app

        async def run(j: ImportJob) -> JobOutcome:
            outcome = await work(ex, package_id, root, name, j)
            if session.kind is Kind.SALE:
                extra = await _hook_import(app, package_id)
                outcome = JobOutcome(remarks=(*outcome.remarks, *extra), summary=outcome.summary)
            return outcome

        job = ex.jobs.start((package_id, name), run)
    state = await ex.jobs.wait(job, ex.settings.step_seconds)
    return session.import_reply(state)


async def _deactivate(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    package_id = _package(session)
    if ex.jobs.running(package_id):
        raise RemoteProtocolError(MSG_STILL_IMPORTING)
    result = await ex.catalog.finish_package(package_id, deactivate_unseen=True)
    async with ex.sessionmaker.begin() as db:
        outcome = f"deactivated {result.deactivated}, offers waiting for products: {result.pending_offers}"
        await journal.finish_package(db, package_id, "deactivated", outcome, final=False)
    return Reply.success(MSG_DEACTIVATED)


async def _complete(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    package_id = _package(session)
    if ex.jobs.running(package_id):
        raise RemoteProtocolError(MSG_STILL_IMPORTING)
    result = await ex.catalog.finish_package(package_id, deactivate_unseen=False)
    async with ex.sessionmaker.begin() as db:
        outcome = f"completed; offers waiting for products: {result.pending_offers}"
        await journal.finish_package(db, package_id, "completed", outcome)
    return Reply.success(MSG_COMPLETE)


def _schema_for(session: ExchangeSession) -> str:
    # Bitrix: a version >= 3 wraps every order in <Контейнер> (protocol.md §3.2).
    return "3.1" if (session.version or "").startswith("3") else "2.08"


async def _query(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> XmlReply:
    documents = await orders_for_query(ex.sessionmaker, limit=QUERY_LIMIT)
    buffer = io.BytesIO()
    await asyncio.to_thread(
        write_orders, buffer, documents, schema_version=_schema_for(session), created=dt.datetime.now()
    )
    # mode=success commits exactly what this answer held (protocol.md §9.8).
    session.query_batch = tuple((d.id, d.version or "") for d in documents)
    return XmlReply(buffer.getvalue())


async def _success(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    if session.query_batch:
        await commit_query(ex.sessionmaker, list(session.query_batch))
        hooks = request.app.get(ORDER_HOOKS)
        if hooks is not None:
            await hooks.after_success(list(session.query_batch))
        session.query_batch = ()
    return Reply.success()


def sale_info_xml(statuses: Sequence[tuple[str, str]] = SALE_STATUSES) -> bytes:
    """The ``mode=info`` dictionary: order statuses, no payment systems or delivery services."""
    items = "".join(
        f"<Элемент><Ид>{escape(code)}</Ид><Название>{escape(name)}</Название></Элемент>"
        for code, name in statuses
    )
    text = (
        '<?xml version="1.0" encoding="windows-1251"?>\n'
        f"<Справочник><Cтатусы>{items}</Cтатусы><ПлатежныеСистемы/><СлужбыДоставки/></Справочник>\n"
    )
    return text.encode("cp1251")


async def _info(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> XmlReply:
    hooks = request.app.get(ORDER_HOOKS)
    return XmlReply(sale_info_xml(hooks.sale_statuses() if hooks is not None else SALE_STATUSES))


async def _unexpected(ex: Exchange, request: web.Request, session: ExchangeSession, cmd: Command) -> Reply:
    raise RemoteProtocolError(MSG_INTERNAL, detail=f"no handler for {cmd.mode}")


MODES: Final[dict[Mode, Handler]] = {
    Mode.CHECKAUTH: _unexpected,
    Mode.INIT: _init,
    Mode.FILE: _file,
    Mode.IMPORT: _import,
    Mode.DEACTIVATE: _deactivate,
    Mode.COMPLETE: _complete,
    Mode.QUERY: _query,
    Mode.SUCCESS: _success,
    Mode.INFO: _info,
}


def database_down(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached (stopped, restarting, connection lost)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg raises its own errors (and a refused connect) before SQLAlchemy can wrap them.
    return isinstance(exc, ConnectionRefusedError) or type(exc).__module__.startswith("asyncpg")


@web.middleware
async def exchange_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """On the exchange paths: any error becomes ``failure`` (never an HTML 500); journal every step."""
    if request.path not in EXCHANGE_PATHS:
        return await handler(request)
    step = request[STEP] = Step()
    started_at = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    try:
        response = await handler(request)
    except ExchangeError as exc:
        log.info("%s %s -> failure: %s", request.method, request.path_qs, exc)
        response = render(Reply.failure(exc.reply_text))
    except web.HTTPException:
        raise
    except asyncio.CancelledError:  # 1C hung up mid-request: journal it, then let aiohttp unwind
        log.warning("%s %s: client went away", request.method, request.path_qs)
        await asyncio.shield(_journal_step(request, step, None, started_at, clock))
        raise
    except Exception as exc:  # the one catch-all of the exchange (STYLE.md §2.7): 1C must get a failure
        if database_down(exc):
            log.error("%s %s: the database is unavailable: %r", request.method, request.path_qs, exc)
            response = render(Reply.failure(MSG_DATABASE_DOWN))
        else:
            log.exception("%s %s crashed", request.method, request.path_qs)
            response = render(Reply.failure(MSG_INTERNAL))
    await _journal_step(request, step, response, started_at, clock)
    return response


async def _journal_step(
    request: web.Request,
    step: Step,
    response: web.StreamResponse | None,
    started_at: dt.datetime,
    clock: float,
) -> None:
    body = response.body if isinstance(response, web.Response) else None
    raw = bytes(body) if isinstance(body, bytes | bytearray) else b""
    text = raw.decode("cp1251", "replace")
    if response is None:
        status, text = "interrupted", "the client closed the connection before the answer"
    elif text.startswith("<?xml"):
        status, text = "xml", f"{len(raw)} bytes of XML"
    else:
        first = text.split("\n", 1)[0]
        status = first if first in ("success", "progress", "failure") else "init"
    if step.locked:
        status = "locked"
    if step.secret:
        text = text.replace(step.secret, "***")
    try:
        async with request.app[EXCHANGE].sessionmaker.begin() as db:
            await journal.record_step(
                db,
                session_id=step.session_id,
                package_id=step.package_id,
                kind=step.kind,
                mode=step.mode,
                filename=step.filename,
                status=status,
                reply=text,
                bytes_in=step.bytes_in,
                started_at=started_at,
                duration_ms=int((time.monotonic() - clock) * 1000),
            )
    except Exception:  # a journal hiccup must not cost 1C its answer
        log.exception("could not journal the step %s", request.path_qs)
