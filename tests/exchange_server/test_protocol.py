"""The sans-IO protocol core: table-driven (every legal and every illegal move), wire text, parsing."""

from __future__ import annotations

import pytest

from exchange_server.commands import decode_basic, parse_command
from exchange_server.errors import (
    AUTH_FAILED,
    SESSION_POISONED,
    UNKNOWN_MODE,
    UNKNOWN_TYPE,
    AuthError,
    LocalProtocolError,
    RemoteProtocolError,
)
from exchange_server.protocol import (
    TRANSITIONS,
    Command,
    ExchangeSession,
    ImportState,
    Kind,
    Mode,
    Reply,
    State,
    Status,
    auth_failure,
    sessid_for,
)

SID = "abcdefghijklmnopqrstuvwxyz012345"
NOW = 1_718_000_000

LEGAL = [
    (kind, state, mode, target)
    for kind, table in TRANSITIONS.items()
    for state, moves in table.items()
    for mode, target in moves.items()
    if state is not State.NEW
]
ILLEGAL = [
    (kind, state, mode)
    for kind in Kind
    for state in State
    for mode in Mode
    if state is not State.NEW and mode not in TRANSITIONS[kind].get(state, {})
]


def session_in(kind: Kind, state: State) -> ExchangeSession:
    session = ExchangeSession.start(kind, "1c", sid=SID, now=NOW)
    session.state = state
    return session


def test_every_state_has_a_row() -> None:
    for kind in Kind:
        assert set(TRANSITIONS[kind]) >= {State.NEW, State.AUTHED, State.READY, State.ERROR}
        assert TRANSITIONS[kind][State.ERROR] == {}


@pytest.mark.parametrize(
    ("kind", "state", "mode", "target"),
    LEGAL,
    ids=[f"{k}-{s.name}-{m}" for k, s, m, _ in LEGAL],
)
def test_legal_move_reaches_table_target(kind: Kind, state: State, mode: Mode, target: State) -> None:
    session = session_in(kind, state)
    assert session.receive(Command(kind, mode, filename="import.xml")) is target
    assert session.state is target
    assert session.error is None


@pytest.mark.parametrize(
    ("kind", "state", "mode"),
    ILLEGAL,
    ids=[f"{k}-{s.name}-{m}" for k, s, m in ILLEGAL],
)
def test_illegal_move_is_refused_and_poisons_session(kind: Kind, state: State, mode: Mode) -> None:
    session = session_in(kind, state)
    with pytest.raises(RemoteProtocolError):
        session.receive(Command(kind, mode))
    assert session.state is State.ERROR
    # Poisoned: even a move that was legal before is refused now.
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(Command(kind, Mode.INIT))
    assert info.value.reply_text == SESSION_POISONED
    assert session.state is State.ERROR


def test_checkauth_creates_authed_session_with_md5_sessid() -> None:
    session = ExchangeSession.start(Kind.CATALOG, "1c", sid=SID, now=NOW)
    assert session.state is State.AUTHED
    assert session.sessid == sessid_for(SID)
    assert len(session.sessid) == 32 and int(session.sessid, 16) >= 0


@pytest.mark.parametrize("sid", ["short", "a" * 19, "a;b" * 10, "a=b" * 10, "a b" * 10])
def test_bad_session_id_is_a_local_error(sid: str) -> None:
    with pytest.raises(LocalProtocolError):
        ExchangeSession.start(Kind.CATALOG, "1c", sid=sid, now=NOW)


def test_import_before_upload_names_the_file() -> None:
    session = session_in(Kind.CATALOG, State.READY)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive(Command(Kind.CATALOG, Mode.IMPORT, filename="import.xml"))
    assert "import.xml" in info.value.reply_text
    assert "не найден" in info.value.reply_text
    assert session.state is State.ERROR


def test_wrong_sessid_poisons_but_missing_sessid_is_accepted() -> None:
    session = session_in(Kind.CATALOG, State.AUTHED)
    session.receive(Command(Kind.CATALOG, Mode.INIT))  # no sessid: fine
    session.receive(Command(Kind.CATALOG, Mode.INIT, sessid=session.sessid))
    with pytest.raises(AuthError):
        session.receive(Command(Kind.CATALOG, Mode.FILE, sessid="0" * 32))
    assert session.state is State.ERROR


def test_kind_mismatch_poisons() -> None:
    session = session_in(Kind.CATALOG, State.READY)
    with pytest.raises(RemoteProtocolError):
        session.receive(Command(Kind.SALE, Mode.QUERY))
    assert session.state is State.ERROR


def test_init_records_versions() -> None:
    session = session_in(Kind.SALE, State.AUTHED)
    session.receive(Command(Kind.SALE, Mode.INIT, version="3.1", cml_version="2.10"))
    assert (session.version, session.cml_version) == ("3.1", "2.10")
    assert session.stepwise_orders
    session.receive(Command(Kind.SALE, Mode.INIT))
    assert not session.stepwise_orders


# --- wire text ------------------------------------------------------------------------------------


def test_checkauth_reply_catalog_five_lines() -> None:
    session = ExchangeSession.start(Kind.CATALOG, "1c", sid=SID, now=NOW)
    text = Reply.checkauth(session).text
    assert text == f"success\nPHPSESSID\n{SID}\nsessid={sessid_for(SID)}\ntimestamp={NOW}\n"


def test_checkauth_reply_sale_four_lines() -> None:
    session = ExchangeSession.start(Kind.SALE, "1c", sid=SID, now=NOW)
    assert Reply.checkauth(session).text == f"success\nPHPSESSID\n{SID}\nsessid={sessid_for(SID)}\n"


@pytest.mark.parametrize(
    ("kind", "zip_", "version", "expected"),
    [
        (Kind.CATALOG, True, None, "zip=yes\nfile_limit=204800"),
        (Kind.CATALOG, False, "3.1", "zip=no\nfile_limit=204800"),
        (Kind.SALE, True, None, "zip=yes\nfile_limit=204800\n"),
        (Kind.SALE, False, "3.1", "zip=no\nfile_limit=204800\nsessid=SS\nversion=2.09"),
    ],
)
def test_init_reply(kind: Kind, zip_: bool, version: str | None, expected: str) -> None:
    reply = Reply.init(kind, zip=zip_, file_limit=204800, version=version, sessid="SS")
    assert reply.text == expected
    assert reply.status is None


def test_control_replies_exact_text() -> None:
    assert Reply.success().text == "success\n"
    assert Reply.success("Импорт успешно завершен.").text == "success\nИмпорт успешно завершен."
    assert Reply.success(remarks=["a", " ", "b"]).text == "success\na\nb\n"
    assert Reply.progress("Обработано 10%").text == "progress\nОбработано 10%"
    assert Reply.failure("bad<br>news\r\nhere").text == "failure\nbad\nnews\nhere"
    assert auth_failure().text == f"failure\n{AUTH_FAILED}"
    assert Reply.failure("x").status is Status.FAILURE
    assert Reply.failure("line one\nline two").message == "line one\nline two"


def test_reply_body_is_windows_1251_without_bom() -> None:
    body = Reply.success("Импорт успешно завершен.").body()
    assert body.startswith(b"success\n")
    assert body.decode("cp1251") == "success\nИмпорт успешно завершен."
    # Characters outside cp1251 never break the answer.
    assert Reply.failure("emoji \U0001f600").body() == b"failure\nemoji ?"


@pytest.mark.parametrize("text", ["\ufeffsuccess", "Success\n", "ok", "success\r\n", ""])
def test_reply_refuses_illegal_first_line(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        Reply(text)


def test_import_reply_progress_success_failure() -> None:
    session = session_in(Kind.CATALOG, State.IMPORTING)
    running = ImportState(status="Обработано 5 из 10")
    assert session.import_reply(running).text == "progress\nОбработано 5 из 10"
    assert session.import_reply(ImportState(done=True)).text == "success\nИмпорт успешно завершен."
    assert session.state is State.IMPORTING
    reply = session.import_reply(ImportState(failure="Файл повреждён"))
    assert reply.text == "failure\nФайл повреждён"
    assert (session.state, session.error) == (State.ERROR, "Файл повреждён")


def test_sale_import_reply_carries_remarks() -> None:
    session = session_in(Kind.SALE, State.IMPORTING)
    reply = session.import_reply(ImportState(done=True, remarks=("Заказ №5 на сайте не найден.",)))
    assert reply.text == "success\nЗаказ №5 на сайте не найден.\n"


# --- parsing --------------------------------------------------------------------------------------


def test_parse_plain_command() -> None:
    cmd = parse_command(
        [
            ("type", "catalog"),
            ("mode", "import"),
            ("filename", "goods/1/import___a.xml"),
            ("sessid", "abc"),
            ("timestamp", "1718000000"),
            ("version", "3.1"),
        ]
    )
    assert cmd == Command(
        Kind.CATALOG,
        Mode.IMPORT,
        filename="goods/1/import___a.xml",
        version="3.1",
        sessid="abc",
        timestamp=NOW,
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [("foo", "bar?type=sale"), ("mode", "query")],  # "...php?foo=bar?type=sale&mode=query"
        [("foo?type", "sale"), ("mode", "query")],  # "...php?foo?type=sale&mode=query"
        [("TYPE", "x"), ("type", "SALE"), ("mode", "QUERY")],
    ],
)
def test_parse_tolerates_double_question_mark(pairs: list[tuple[str, str]]) -> None:
    cmd = parse_command(pairs)
    assert (cmd.kind, cmd.mode) == (Kind.SALE, Mode.QUERY)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("mode", "init")], UNKNOWN_TYPE),
        ([("type", "listen"), ("mode", "init")], UNKNOWN_TYPE),
        ([("type", "catalog"), ("mode", "dance")], UNKNOWN_MODE),
        ([("type", "catalog")], UNKNOWN_MODE),
    ],
)
def test_parse_unknown_type_or_mode(pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_command(pairs)
    assert info.value.reply_text == message


def test_garbage_timestamp_is_ignored() -> None:
    assert parse_command([("type", "catalog"), ("mode", "deactivate"), ("timestamp", "x")]).timestamp is None


def test_record_round_trip() -> None:
    session = session_in(Kind.SALE, State.AUTHED)
    session.receive(Command(Kind.SALE, Mode.INIT, version="2.08"))
    session.package_id = "pkg"
    session.query_batch = (("1", "v1"), ("2", "v2"))
    again = ExchangeSession.from_record(session.to_record())
    assert again == session
    session.fail("boom")
    assert ExchangeSession.from_record(session.to_record()).state is State.ERROR


# --- Basic credentials ----------------------------------------------------------------------------


def _basic(raw: bytes) -> str:
    import base64

    return "Basic " + base64.b64encode(raw).decode()


def test_decode_basic() -> None:
    assert decode_basic(None) is None
    assert decode_basic("") is None
    assert decode_basic(_basic(b"1c:pa:ss")) == ("1c", "pa:ss")
    assert decode_basic(_basic("Администратор:пароль".encode())) == ("Администратор", "пароль")
    assert decode_basic(_basic("Обмен:1".encode("cp1251"))) == ("Обмен", "1")
    assert decode_basic("basic " + _basic(b"a:b").split()[1]) == ("a", "b")


@pytest.mark.parametrize("header", ["Bearer abc", "Basic !!!", _basic(b"no-colon"), "Basic"])
def test_decode_basic_refuses_garbage(header: str) -> None:
    with pytest.raises(AuthError):
        decode_basic(header)


def test_protocol_core_imports_no_io_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, exchange_server.protocol, exchange_server.commands; "
        "bad = [m for m in ('aiohttp', 'sqlalchemy', 'lxml', 'asyncio') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
