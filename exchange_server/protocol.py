"""1C "exchange with websites", server side: the state machine and the exact wire text. No I/O.

No aiohttp, no files, no database, no clock: callers pass ``now`` and random ids in. The handlers
(``handlers.py``) parse a request into a :class:`Command`, feed it to :meth:`ExchangeSession.receive`,
do the waiting work, and send back a :class:`Reply` built here.

Theory of operation
-------------------
Rule 1 (after h11 ``_state.py``): every legal move is a row of :data:`TRANSITIONS`; nothing else
changes :attr:`ExchangeSession.state`. A session is born by ``checkauth`` (``NEW -> AUTHED``), is
keyed by a digest of its cookie value (:func:`session_id_for`: the journal, the logs and the operator
pages never hold the cookie itself), and lives until the next ``checkauth`` of that 1C node or until
it has been idle for ``CML_SESSION_TTL_SECONDS`` (the handlers' check). Any move that is
not in the table, a ``sessid`` that does not match, or a failure answered to 1C moves the session to
``ERROR``: a poisoned session answers ``failure`` to everything, and 1C has to start again with
``checkauth`` (protocol.md §3.4: 1C aborts the exchange on ``failure`` anyway).

``init`` is accepted again at any point of a live session (1C repeats it after a network error,
protocol.md §3.2) and starts a fresh package. ``import`` answers ``progress`` as many times as the
background job needs, so ``IMPORTING -> IMPORTING`` is a legal move; so is ``file`` after an import
(1C uploads and imports file by file in some configurations).

Wire text (protocol.md §1.3, §3.8): control answers are windows-1251, lines separated by LF, the first
line exactly ``success``/``progress``/``failure``, no BOM, HTTP 200 always.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from exchange_server.errors import (
    AUTH_FAILED,
    IMPORT_BEFORE_UPLOAD,
    SESSION_POISONED,
    AuthError,
    LocalProtocolError,
    RemoteProtocolError,
)

__all__ = [
    "COOKIE_NAME",
    "REPLY_CHARSET",
    "SALE_INIT_VERSION",
    "TRANSITIONS",
    "Command",
    "ExchangeSession",
    "ImportState",
    "Kind",
    "Mode",
    "Reply",
    "State",
    "Status",
    "XmlReply",
    "auth_failure",
    "sessid_for",
    "session_id_for",
]

COOKIE_NAME: Final = "PHPSESSID"
"""Cookie name sent on line 2 of checkauth; Bitrix's, for maximum compatibility (protocol.md §3.1)."""

REPLY_CHARSET: Final = "windows-1251"
SALE_INIT_VERSION: Final = "2.09"
"""Bitrix hard-codes ``version=2.09`` in the sale init answer when 1C sent a version (§3.2)."""

MSG_IMPORT_DONE: Final = "Импорт успешно завершен."
MSG_DEACTIVATED: Final = "Деактивация элементов завершена."
MSG_COMPLETE: Final = "Завершение процедуры импорта"
MSG_UNPACKING: Final = "Идет распаковка архива."
MSG_UNPACKED: Final = "Распаковка архива завершена."
MSG_IMPORT_STARTED: Final = "Импорт файла {name} начат."
MSG_ILLEGAL: Final = "Команда mode={mode} не ожидалась на этом шаге обмена ({state})."
MSG_KIND_MISMATCH: Final = "Сессия открыта для type={session}, а запрос пришёл для type={request}."
MSG_BAD_SESSID: Final = "Неверный sessid: запрос не принадлежит этой сессии обмена."
MSG_NO_FILENAME: Final = "Не указано имя файла (filename)."


class Kind(enum.StrEnum):
    """The ``type`` parameter: what is exchanged."""

    CATALOG = "catalog"
    SALE = "sale"


class Mode(enum.StrEnum):
    """The ``mode`` parameter: one step of the exchange."""

    CHECKAUTH = "checkauth"
    INIT = "init"
    FILE = "file"
    IMPORT = "import"
    DEACTIVATE = "deactivate"
    COMPLETE = "complete"
    QUERY = "query"
    SUCCESS = "success"
    INFO = "info"


class State(enum.Enum):
    """Where an exchange session is."""

    NEW = "new"  # being created by checkauth
    AUTHED = "authed"  # checkauth answered, no package yet
    READY = "ready"  # init answered: an empty package exists
    RECEIVING = "receiving"  # files are being uploaded
    IMPORTING = "importing"  # at least one import asked for
    DEACTIVATED = "deactivated"  # catalog: the unseen entities were swept
    DONE = "done"  # catalog: complete answered
    QUERIED = "queried"  # sale: orders sent, not yet confirmed
    CONFIRMED = "confirmed"  # sale: success received for the last query
    ERROR = "error"  # poisoned: every later command answers failure


class Status(enum.StrEnum):
    """Line 1 of a control answer."""

    SUCCESS = "success"
    PROGRESS = "progress"
    FAILURE = "failure"


_LIVE_CATALOG = (State.AUTHED, State.READY, State.RECEIVING, State.IMPORTING, State.DEACTIVATED, State.DONE)
_LIVE_SALE = (State.AUTHED, State.READY, State.RECEIVING, State.IMPORTING, State.QUERIED, State.CONFIRMED)

# Rule 1: every legal move is in this table; nothing else changes the state.
TRANSITIONS: Final[dict[Kind, dict[State, dict[Mode, State]]]] = {
    Kind.CATALOG: {
        State.NEW: {Mode.CHECKAUTH: State.AUTHED},
        State.AUTHED: {Mode.INIT: State.READY},
        State.READY: {Mode.INIT: State.READY, Mode.FILE: State.RECEIVING, Mode.COMPLETE: State.DONE},
        State.RECEIVING: {
            Mode.INIT: State.READY,
            Mode.FILE: State.RECEIVING,
            Mode.IMPORT: State.IMPORTING,
            Mode.COMPLETE: State.DONE,
        },
        State.IMPORTING: {
            Mode.INIT: State.READY,
            Mode.FILE: State.RECEIVING,
            Mode.IMPORT: State.IMPORTING,
            Mode.DEACTIVATE: State.DEACTIVATED,
            Mode.COMPLETE: State.DONE,
        },
        State.DEACTIVATED: {
            Mode.INIT: State.READY,
            Mode.IMPORT: State.DEACTIVATED,  # 1C repeating the last import after a lost answer
            Mode.DEACTIVATE: State.DEACTIVATED,
            Mode.COMPLETE: State.DONE,
        },
        State.DONE: {Mode.INIT: State.READY, Mode.COMPLETE: State.DONE},
        State.ERROR: {},
    },
    Kind.SALE: {
        State.NEW: {Mode.CHECKAUTH: State.AUTHED},
        State.AUTHED: {Mode.INIT: State.READY, Mode.INFO: State.AUTHED},
        State.READY: {
            Mode.INIT: State.READY,
            Mode.INFO: State.READY,
            Mode.QUERY: State.QUERIED,
            Mode.FILE: State.RECEIVING,
        },
        State.QUERIED: {
            Mode.INIT: State.READY,
            Mode.INFO: State.QUERIED,
            Mode.QUERY: State.QUERIED,
            Mode.SUCCESS: State.CONFIRMED,
            Mode.FILE: State.RECEIVING,
        },
        State.CONFIRMED: {
            Mode.INIT: State.READY,
            Mode.INFO: State.CONFIRMED,
            Mode.QUERY: State.QUERIED,
            Mode.SUCCESS: State.CONFIRMED,
            Mode.FILE: State.RECEIVING,
        },
        State.RECEIVING: {
            Mode.INIT: State.READY,
            Mode.INFO: State.RECEIVING,
            Mode.FILE: State.RECEIVING,
            Mode.IMPORT: State.IMPORTING,
            Mode.QUERY: State.QUERIED,
        },
        State.IMPORTING: {
            Mode.INIT: State.READY,
            Mode.INFO: State.IMPORTING,
            Mode.FILE: State.RECEIVING,
            Mode.IMPORT: State.IMPORTING,
            Mode.QUERY: State.QUERIED,
        },
        State.ERROR: {},
    },
}


# --- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """One request of 1C, reduced to what the protocol needs."""

    kind: Kind
    mode: Mode
    filename: str | None = None
    version: str | None = None
    cml_version: str | None = None
    sessid: str | None = None
    timestamp: int | None = None


# --- replies -------------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(message: str) -> str:
    # Bitrix strips <br> from failure texts; 1C expects LF only (protocol.md §1.3, §3.4).
    text = re.sub(r"<br\s*/?>", "\n", message, flags=re.IGNORECASE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A name 1C sent can carry NUL and other controls: shown escaped, never stored raw (the journal
    # keeps this text, and PostgreSQL refuses NUL in text).
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).strip()


@dataclass(frozen=True, slots=True)
class Reply:
    """A control answer: text rendered in windows-1251 as ``text/html`` (Bitrix-exact)."""

    text: str
    content_type: str = "text/html"

    def __post_init__(self) -> None:
        if self.text.startswith("\ufeff") or "\r" in self.text:
            raise LocalProtocolError("reply must not hold a BOM or CR", detail=repr(self.text[:40]))
        first = self.text.split("\n", 1)[0]
        if first not in set(Status) and not first.startswith("zip="):
            raise LocalProtocolError("reply must start with success/progress/failure", detail=first)

    @property
    def status(self) -> Status | None:
        """Line 1 as a :class:`Status`, or None for the init answer (``zip=...``)."""
        first = self.text.split("\n", 1)[0]
        return Status(first) if first in set(Status) else None

    @property
    def message(self) -> str:
        """Everything after line 1 (what 1C shows as the extended status)."""
        return self.text.partition("\n")[2]

    def body(self) -> bytes:
        """The bytes on the wire."""
        return self.text.encode("cp1251", "replace")

    # constructors: the exact text of every answer lives here
    @classmethod
    def checkauth(cls, session: ExchangeSession, *, cookie: str | None = None) -> Reply:
        """``success``, cookie name, cookie value, ``sessid=`` and (catalog) ``timestamp=`` lines.

        ``cookie`` is the value whose :func:`session_id_for` is ``session.sid`` (default: the sid itself).
        """
        lines = [Status.SUCCESS, COOKIE_NAME, cookie or session.sid, f"sessid={session.sessid}"]
        if session.kind is Kind.CATALOG:
            lines.append(f"timestamp={session.timestamp}")
        return cls("\n".join(lines) + "\n")

    @classmethod
    def init(cls, kind: Kind, *, zip: bool, file_limit: int, version: str | None, sessid: str) -> Reply:
        """``zip=yes|no`` and ``file_limit=N``; sale adds ``sessid``/``version`` when 1C sent a version."""
        text = f"zip={'yes' if zip else 'no'}\nfile_limit={file_limit}"
        if kind is Kind.SALE:
            text += "\n"
            if version:
                text += f"sessid={sessid}\nversion={SALE_INIT_VERSION}"
        return cls(text)

    @classmethod
    def success(cls, message: str = "", *, remarks: Sequence[str] = ()) -> Reply:
        """``success`` plus an optional message line or remark lines (each 1C warning on its own line)."""
        lines = [Status.SUCCESS.value]
        if message:
            lines.append(_clean(message))
        lines.extend(_clean(r) for r in remarks if r.strip())
        return cls("\n".join(lines) + ("" if message and not remarks else "\n"))

    @classmethod
    def progress(cls, message: str) -> Reply:
        return cls(f"{Status.PROGRESS}\n{_clean(message)}")

    @classmethod
    def failure(cls, message: str) -> Reply:
        return cls(f"{Status.FAILURE}\n{_clean(message)}")


@dataclass(frozen=True, slots=True)
class XmlReply:
    """An XML answer (``mode=query``, ``mode=info``): already encoded, windows-1251 (§3.7, §10.3)."""

    payload: bytes
    content_type: str = "application/xml"

    def body(self) -> bytes:
        return self.payload


# --- the import outcome, as the handlers see it ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportState:
    """Where the background job of one file is: running (with a status text), done, or failed."""

    done: bool = False
    failure: str | None = None
    status: str = ""
    remarks: tuple[str, ...] = ()


# --- the session ---------------------------------------------------------------------------------


def session_id_for(cookie: str) -> str:
    """The session's id in the journal for a cookie value: 32 URL-safe characters of its SHA-256.

    The cookie is the secret 1C presents; storing and showing only this digest means a journal, a log
    or an operator page can never be replayed as a cookie.
    """
    digest = hashlib.sha256(b"cml-exchange session\x00" + cookie.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:32]


def sessid_for(sid: str) -> str:
    """Bitrix's CSRF token: md5 of the session id, 32 hex digits (protocol.md §1.2 item 5)."""
    return hashlib.md5(sid.encode("ascii"), usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class ExchangeSession:
    """One exchange of one 1C node, from checkauth on. Round-trips through the journal."""

    sid: str
    kind: Kind
    user: str
    timestamp: int
    state: State = State.NEW
    sessid: str = ""
    version: str | None = None
    cml_version: str | None = None
    package_id: str | None = None
    error: str | None = None
    query_batch: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def start(cls, kind: Kind, user: str, *, sid: str, now: int) -> ExchangeSession:
        """A session created by a successful ``checkauth``.

        Args:
            kind: the exchange type of the checkauth request.
            user: the authenticated 1C login.
            sid: the cookie value, at least 20 URL-safe random characters (no ``;``, ``=`` or spaces).
            now: unix seconds, the ``timestamp=`` issued (later compared by ``deactivate``).

        Raises:
            LocalProtocolError: ``sid`` is not a usable cookie value (a bug in the caller).
        """
        if len(sid) < 20 or not re.fullmatch(r"[A-Za-z0-9_-]+", sid):
            raise LocalProtocolError("session id must be >= 20 URL-safe characters", detail=sid)
        session = cls(sid=sid, kind=kind, user=user, timestamp=now, sessid=sessid_for(sid))
        session.receive(Command(kind, Mode.CHECKAUTH))
        return session

    def receive(self, command: Command) -> State:
        """Apply one command of 1C; the only place the state changes.

        Returns:
            The new state.

        Raises:
            RemoteProtocolError: the session is poisoned, or the move is not in :data:`TRANSITIONS`;
                the session is (or stays) in ``ERROR``.
            AuthError: ``sessid`` is present and does not match; the session is poisoned.
        """
        if self.state is State.ERROR:
            raise RemoteProtocolError(SESSION_POISONED, detail=self.error)
        if command.kind is not self.kind:
            self.fail(MSG_KIND_MISMATCH.format(session=self.kind, request=command.kind))
            raise RemoteProtocolError(self.error or "")
        # Accept requests without sessid; when present it must match (protocol.md §1.2 item 6).
        if command.sessid is not None and self.sessid and command.sessid != self.sessid:
            self.fail(MSG_BAD_SESSID)
            raise AuthError(MSG_BAD_SESSID)
        try:
            new_state = TRANSITIONS[self.kind][self.state][command.mode]
        except KeyError:
            bad = self.state
            if command.mode is Mode.IMPORT and bad in (State.AUTHED, State.READY):
                message = IMPORT_BEFORE_UPLOAD.format(name=command.filename or "")
            else:
                message = MSG_ILLEGAL.format(mode=command.mode, state=bad.value)
            self.fail(message)
            raise RemoteProtocolError(message) from None
        if command.mode is Mode.INIT:
            self.version = command.version
            self.cml_version = command.cml_version
        self.state = new_state
        return new_state

    def fail(self, reason: str) -> Reply:
        """Poison the session with ``reason`` and return the ``failure`` answer for it."""
        self.state = State.ERROR
        self.error = _clean(reason) or SESSION_POISONED
        return Reply.failure(self.error)

    @property
    def stepwise_orders(self) -> bool:
        """Sale: 1C orders are imported by ``mode=import`` (a version was negotiated), else in ``file``."""
        return self.kind is Kind.SALE and bool(self.version)

    def import_reply(self, job: ImportState) -> Reply:
        """The answer to one ``mode=import`` call, given the state of its background job."""
        if job.failure is not None:
            return self.fail(job.failure)
        if not job.done:
            return Reply.progress(job.status or MSG_IMPORT_STARTED.format(name=""))
        if self.kind is Kind.SALE:
            return Reply.success(remarks=job.remarks)
        return Reply.success(MSG_IMPORT_DONE)

    # --- persistence ---------------------------------------------------------------------------

    def to_record(self) -> dict[str, object]:
        """Plain values for the journal row (JSON-compatible)."""
        return {
            "id": self.sid,
            "kind": self.kind.value,
            "user": self.user,
            "timestamp": self.timestamp,
            "state": self.state.value,
            "sessid": self.sessid,
            "version": self.version,
            "cml_version": self.cml_version,
            "package_id": self.package_id,
            "error": self.error,
            "query_batch": [list(pair) for pair in self.query_batch],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> ExchangeSession:
        """The inverse of :meth:`to_record`."""
        batch = record.get("query_batch") or []
        assert isinstance(batch, list)
        timestamp = record["timestamp"]
        assert isinstance(timestamp, int)
        return cls(
            sid=str(record["id"]),
            kind=Kind(str(record["kind"])),
            user=str(record["user"]),
            timestamp=timestamp,
            state=State(str(record["state"])),
            sessid=str(record["sessid"]),
            version=_opt(record.get("version")),
            cml_version=_opt(record.get("cml_version")),
            package_id=_opt(record.get("package_id")),
            error=_opt(record.get("error")),
            query_batch=tuple((str(a), str(b)) for a, b in batch),
        )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def auth_failure() -> Reply:
    """Bitrix's answer to a bad or missing password: HTTP 200 and ``failure`` (protocol.md §1.3)."""
    return Reply.failure(AUTH_FAILED)

