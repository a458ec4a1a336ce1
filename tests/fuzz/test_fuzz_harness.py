"""The fuzz harness itself works: its seeds go through ``feed`` and only CommerceMLError is swallowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerceml import CommerceMLError
from tests.fuzz import fuzz_reader


def test_seed_corpus_passes_through_the_harness(tmp_path: Path) -> None:
    fuzz_reader.seed_corpus(tmp_path)
    seeds = sorted(tmp_path.iterdir())
    assert len(seeds) >= 10
    for seed in seeds:
        fuzz_reader.feed(seed.read_bytes())


def test_the_harness_lets_other_exceptions_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_feed(self: object, data: bytes) -> list[object]:
        raise KeyError("a bug")

    monkeypatch.setattr("commerceml.reader.Reader.feed", broken_feed)
    with pytest.raises(KeyError):
        fuzz_reader.feed(b"\x01\x01\x01\x01<a/>")


def test_the_harness_swallows_reader_errors() -> None:
    fuzz_reader.feed(b"\x01\x01\x01\x01<not-commerceml/>")  # UnsupportedDocument: swallowed
    with pytest.raises(CommerceMLError):  # while the reader itself does raise on that input
        from commerceml.reader import Reader

        reader = Reader()
        reader.feed(b"<not-commerceml/>")
        reader.close()


def test_protocol_and_request_harnesses_run_their_seeds() -> None:
    from tests.fuzz import fuzz_protocol, fuzz_request

    for seed in fuzz_protocol.SEEDS:
        fuzz_protocol.feed(seed)
    for seed in fuzz_request.SEEDS:
        fuzz_request.feed(seed)


def test_protocol_harness_catches_a_wrong_transition(monkeypatch: pytest.MonkeyPatch) -> None:
    from exchange_server.protocol import TRANSITIONS, Kind, Mode, State
    from tests.fuzz import fuzz_protocol

    broken = {
        kind: {state: dict(moves) for state, moves in table.items()} for kind, table in TRANSITIONS.items()
    }
    broken[Kind.CATALOG][State.AUTHED][Mode.INIT] = State.DONE  # the session jumps past READY
    monkeypatch.setattr(
        fuzz_protocol, "TRANSITIONS", {k: {s: dict(m) for s, m in t.items()} for k, t in TRANSITIONS.items()}
    )
    monkeypatch.setattr("exchange_server.protocol.TRANSITIONS", broken)
    event = fuzz_protocol.Event(0, False, "catalog", "init", None, "own", "right", 0)
    checkauth = fuzz_protocol.Event(0, True, "catalog", "checkauth", None, "own", "right", 0)
    with pytest.raises(AssertionError):
        fuzz_protocol.run([checkauth, event])


def test_request_harness_lets_untyped_errors_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fuzz import fuzz_request

    def broken(params: object) -> object:
        raise ValueError("a bug")

    monkeypatch.setattr(fuzz_request, "parse_command", broken)
    with pytest.raises(ValueError):
        fuzz_request.feed(b"type=catalog&mode=init")
