"""Fuzzing the protocol state machine with random event sequences (atheris script).

    python -m tests.fuzz.fuzz_protocol [-runs=N] [-max_total_time=SECONDS] [CORPUS_DIR ...]

An input is a sequence of events against a registry of sessions kept the way the handlers keep them
(by session id): a checkauth of one of three nodes, or a request with a (type, mode, filename,
sessid) and a cookie that is a node's, another node's, a forged one or none. After every event:

* nothing but a typed error (:class:`ExchangeError`) escapes, and every answer renders as a
  control answer starting with success/progress/failure (or the init/XML answers);
* a request without a known session changes nothing and is answered failure (no transition lets an
  unauthenticated client do anything);
* only the addressed session may change (a session's state never leaks into another's);
* a move not in :data:`TRANSITIONS` poisons the session, a poisoned session stays poisoned, and a
  legal move lands exactly on the table's target.

Without atheris the script says so and exits 2; ``tests/hostile/test_fuzz_properties.py`` runs
:func:`run` under Hypothesis in CI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from exchange_server.commands import parse_command
from exchange_server.errors import ExchangeError
from exchange_server.protocol import (
    TRANSITIONS,
    Command,
    ExchangeSession,
    ImportState,
    Mode,
    Reply,
    State,
    XmlReply,
)
from tests.fuzz.bytes_source import ByteSource

NODES = 3
KINDS = ("catalog", "sale", "CATALOG", " sale ", "reference", "", "catalog\x00")
MODES = (*[m.value for m in Mode], "Init", "launch", "", "import\n")
NAMES = ("import.xml", "offers.xml", "goods/1/import___x.xml", "../import.xml", "", "a\x00b.xml", "CON")


@dataclass(frozen=True, slots=True)
class Event:
    """One step: ``checkauth`` by a node, or a request sent with some cookie."""

    node: int
    checkauth: bool
    kind: str
    mode: str
    filename: str | None
    cookie: str  # "own", "other", "forged", "none"
    sessid: str  # "right", "wrong", "none"
    job: int  # import job: 0 running, 1 done, 2 failed


def decode(data: bytes, limit: int = 40) -> list[Event]:
    """The event sequence a fuzzer input stands for."""
    source = ByteSource(data)
    events = []
    while source.left and len(events) < limit:
        events.append(
            Event(
                node=source.byte() % NODES,
                checkauth=source.chance(15),
                kind=source.pick(KINDS) if source.chance(90) else source.text(12),
                mode=source.pick(MODES) if source.chance(90) else source.text(12),
                filename=source.pick((*NAMES, None)) if source.chance(90) else source.text(40),
                cookie=source.pick(("own", "own", "own", "other", "forged", "none")),
                sessid=source.pick(("right", "right", "none", "wrong")),
                job=source.byte() % 3,
            )
        )
    return events


def _reply_for(session: ExchangeSession, command: Command, job: int) -> Reply | XmlReply:
    if command.mode is Mode.INIT:
        return Reply.init(
            session.kind, zip=True, file_limit=1024, version=command.version, sessid=session.sessid
        )
    if command.mode is Mode.IMPORT:
        state = (ImportState(status="идёт"), ImportState(done=True), ImportState(failure="сломан"))[job]
        return session.import_reply(state)
    if command.mode in (Mode.QUERY, Mode.INFO):
        return XmlReply(b'<?xml version="1.0" encoding="windows-1251"?><x/>')
    return Reply.success()


def _check_rendered(reply: Reply | XmlReply) -> None:
    body = reply.body()
    if isinstance(reply, XmlReply):
        assert body.startswith(b"<?xml")
        return
    first = body.split(b"\n", 1)[0]
    assert first in (b"success", b"progress", b"failure") or first.startswith(b"zip="), body[:80]
    assert b"\r" not in body and not body.startswith(b"\xef\xbb\xbf")


def run(events: list[Event]) -> None:
    """Play ``events`` against a registry of sessions; assert the invariants after each one."""
    sessions: dict[str, ExchangeSession] = {}
    own: dict[int, str] = {}  # node -> its session id
    clock = 1_700_000_000
    for number, event in enumerate(events):
        clock += 1
        params = [("type", event.kind), ("mode", event.mode)]
        if event.filename is not None:
            params.append(("filename", event.filename))
        try:
            command = parse_command(params)
        except ExchangeError as exc:  # the handlers answer failure before touching any session
            _check_rendered(Reply.failure(exc.reply_text))
            continue
        if event.checkauth or command.mode is Mode.CHECKAUTH:
            sid = f"node{event.node}-session-{number:04d}-xxxxxxxxxxxx"
            session = ExchangeSession.start(command.kind, "1c", sid=sid, now=clock)
            assert session.state is State.AUTHED
            sessions[sid] = session
            own[event.node] = sid
            _check_rendered(Reply.checkauth(session))
            continue
        others = [sid for node, sid in own.items() if node != event.node]
        sid = {
            "own": own.get(event.node),
            "other": others[0] if others else None,
            "forged": "forged-session-id-000000000000",
            "none": None,
        }[event.cookie]
        before = {key: s.to_record() for key, s in sessions.items()}
        session = sessions.get(sid) if sid else None
        if session is None:  # no session: failure, and nothing anywhere changed
            _check_rendered(Reply.failure("no session"))
            assert {key: s.to_record() for key, s in sessions.items()} == before
            continue
        sessid = {"right": session.sessid, "wrong": "0" * 32, "none": None}[event.sessid]
        command = Command(command.kind, command.mode, command.filename, command.version, sessid=sessid)
        was = session.state
        try:
            new_state = session.receive(command)
        except ExchangeError as exc:
            assert session.state is State.ERROR, (was, command)
            reply: Reply | XmlReply = Reply.failure(exc.reply_text)
        else:
            assert was is not State.ERROR, "a poisoned session accepted a command"
            assert command.kind is session.kind and sessid in (None, session.sessid)
            assert new_state is TRANSITIONS[session.kind][was][command.mode], (was, command.mode, new_state)
            reply = _reply_for(session, command, event.job)
        _check_rendered(reply)
        after = {key: s.to_record() for key, s in sessions.items()}
        assert {k: v for k, v in after.items() if k != sid} == {k: v for k, v in before.items() if k != sid}
        if was is State.ERROR:
            assert session.state is State.ERROR
        assert ExchangeSession.from_record(session.to_record()) == session


def feed(data: bytes) -> None:
    run(decode(data))


SEEDS: tuple[bytes, ...] = (
    bytes([0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 200, 0, 1, 1, 0, 0, 0, 0, 1, 200, 0, 2, 0, 0, 0, 0]),
    bytes(range(256)),
)


def main() -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); the Hypothesis tests cover the protocol")
        return 2
    from tests.fuzz.fuzz_reader import run_atheris

    return run_atheris(atheris, feed, SEEDS)


if __name__ == "__main__":
    sys.exit(main())
