"""The worker-thread pipeline: order, backpressure, errors, early stop."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from exchange_server.store.batches import consume_in_thread


async def test_items_arrive_in_order() -> None:
    def produce(put: Callable[[int], None]) -> None:
        for i in range(100):
            put(i)

    async with consume_in_thread(produce, depth=2) as items:
        got = [i async for i in items]
    assert got == list(range(100))


async def test_producer_runs_in_another_thread() -> None:
    names: list[str] = []

    def produce(put: Callable[[str], None]) -> None:
        names.append(threading.current_thread().name)
        put("x")

    async with consume_in_thread(produce, name="cml-test-producer") as items:
        assert [i async for i in items] == ["x"]
    assert names == ["cml-test-producer"]


async def test_backpressure_bounds_items_in_flight() -> None:
    produced = 0
    lead: list[int] = []

    def produce(put: Callable[[int], None]) -> None:
        nonlocal produced
        for i in range(50):
            put(i)
            produced += 1

    async with consume_in_thread(produce, depth=3) as items:
        async for i in items:
            lead.append(produced - i)
    assert max(lead) <= 4  # never more than depth (+ the one being consumed) ahead


async def test_producer_error_is_raised_by_the_consumer() -> None:
    class Boom(Exception):
        pass

    def produce(put: Callable[[int], None]) -> None:
        put(1)
        raise Boom("parse failed")

    got: list[int] = []
    with pytest.raises(Boom, match="parse failed"):
        async with consume_in_thread(produce) as items:
            async for i in items:
                got.append(i)
    assert got == [1]


async def test_consumer_stopping_early_stops_the_producer() -> None:
    finished = threading.Event()
    stopped_at: list[int] = []

    def produce(put: Callable[[int], None]) -> None:
        try:
            for i in range(10_000):
                put(i)
                stopped_at[:] = [i]
        finally:
            finished.set()

    with pytest.raises(RuntimeError):
        async with consume_in_thread(produce, depth=2) as items:
            async for i in items:
                if i == 3:
                    raise RuntimeError("database down")
    assert finished.is_set()  # the thread ended before the context manager returned
    assert stopped_at[0] < 10
