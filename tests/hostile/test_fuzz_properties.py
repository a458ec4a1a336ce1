"""The fuzz harnesses of tests/fuzz under Hypothesis (the CI part; atheris runs them for longer by hand).

Each test drives the same ``feed``/``run`` function the atheris script does, so a failure here and a
crash there mean the same thing: an exception other than the typed ones, or a broken invariant.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.exchange_server.conftest import REAL_FIXTURES
from tests.fuzz import fuzz_protocol, fuzz_reader, fuzz_request

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=400))
def test_protocol_harness_on_random_bytes(data: bytes) -> None:
    fuzz_protocol.feed(data)


events = st.builds(
    fuzz_protocol.Event,
    node=st.integers(0, fuzz_protocol.NODES - 1),
    checkauth=st.booleans(),
    kind=st.sampled_from(fuzz_protocol.KINDS) | st.text(max_size=8),
    mode=st.sampled_from(fuzz_protocol.MODES),
    filename=st.none() | st.sampled_from(fuzz_protocol.NAMES) | st.text(max_size=30),
    cookie=st.sampled_from(("own", "other", "forged", "none")),
    sessid=st.sampled_from(("right", "wrong", "none")),
    job=st.integers(0, 2),
)


@FAST
@given(st.lists(events, max_size=30))
def test_protocol_invariants_on_event_sequences(sequence: list[fuzz_protocol.Event]) -> None:
    fuzz_protocol.run(sequence)


@FAST
@given(st.binary(max_size=600))
def test_request_parser_on_random_bytes(data: bytes) -> None:
    fuzz_request.feed(data)


@FAST
@given(
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=8),
    st.text(max_size=60),
)
def test_request_parser_on_text_pairs(pairs: list[tuple[str, str]], name: str) -> None:
    from exchange_server.commands import parse_command
    from exchange_server.errors import ExchangeError

    try:
        parse_command([("type", "catalog"), ("mode", "file"), *pairs])
    except ExchangeError:
        pass
    fuzz_request.check_name(name)


def real_seeds() -> list[Path]:
    if not REAL_FIXTURES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real fixtures missing at {REAL_FIXTURES} under CI")
        pytest.skip(f"real fixtures not available at {REAL_FIXTURES}")
    files = sorted(
        p for p in REAL_FIXTURES.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".done")
    )
    assert len(files) >= 20
    return files


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_on_mutated_real_fixtures(data: st.DataObject) -> None:
    """A real 1C file (read in place), cut and with a few bytes replaced, fed in fuzzed chunk sizes."""
    path = data.draw(st.sampled_from(real_seeds()), label="fixture")
    raw = path.read_bytes()[: fuzz_reader.SEED_LIMIT]
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    body = bytearray(raw[:cut])
    for _ in range(data.draw(st.integers(0, 4), label="flips")):
        if body:
            at = data.draw(st.integers(0, len(body) - 1))
            body[at] = data.draw(st.integers(0, 255))
    sizes = data.draw(st.binary(min_size=4, max_size=4), label="chunk sizes")
    fuzz_reader.feed(sizes + bytes(body))
