"""Run a blocking batch producer (XML parsing) in a worker thread and consume its batches on the loop.

Parsing a CommerceML file is CPU-bound; doing it on the event loop would stall every other request
(other 1C nodes, the operator API) for seconds. The producer runs in its own thread and hands
ready batches to the loop through an :class:`asyncio.Queue`. At most ``depth`` batches are in flight
(a semaphore the consumer releases), so a fast parser and a slow database keep memory flat.

If the consumer stops early (a database error, cancellation), the producer is told to stop and the
thread is joined before :func:`consume_in_thread` returns: no parser keeps running in the background.

While a producer runs, two interpreter settings are changed, and restored when the last producer
ends:

* the GIL switch interval is lowered from 5 ms to :data:`SWITCH_INTERVAL`. The parser thread is
  CPU-bound; every other thread that needs the GIL (the event loop answering a request, the database
  driver's thread handing back a result) otherwise waits up to 5 ms for it, several times per
  database statement;
* the objects alive when the import starts (the application: modules, SQLAlchemy, aiohttp) are
  frozen (``gc.freeze``), so the full collections that the parser's allocations trigger do not walk
  them again and again. Those collections stop every thread, the event loop included: on the
  100,000-product catalog they took up to 180 ms, frozen under 50 ms. Objects created later are
  collected as usual, and ``gc.unfreeze`` at the end hands the frozen ones back to the collector.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Final, Generic, TypeVar

__all__ = ["SWITCH_INTERVAL", "ProducerStopped", "consume_in_thread", "producer_tuning"]

T = TypeVar("T")

_POLL_SECONDS: Final = 0.05

SWITCH_INTERVAL: Final = 0.0005
"""GIL switch interval (seconds) while a producer thread runs (CPython's default is 0.005)."""


class _ProducerTuning:
    """Switch interval lowered and the heap frozen while at least one producer runs (module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = 0.0
        self._froze = False

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                if self._saved > SWITCH_INTERVAL:
                    sys.setswitchinterval(SWITCH_INTERVAL)
                self._froze = gc.get_freeze_count() == 0  # someone else's freeze is left alone
                if self._froze:
                    gc.freeze()
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)
                if self._froze:
                    gc.unfreeze()


_TUNING: Final = _ProducerTuning()


@contextmanager
def producer_tuning() -> Iterator[None]:
    """The interpreter tuned as while a producer thread runs (module docstring), for other producers
    of many short-lived objects on the loop (the parser process's batches, ``store.parsing``)."""
    _TUNING.acquire()
    try:
        yield
    finally:
        _TUNING.release()


class ProducerStopped(Exception):
    """Raised inside the producer thread when the consumer went away; ends the producer quietly."""


class _End:
    pass


_END: Final = _End()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Pipe(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[T | _End | _Failure] = asyncio.Queue()
        self.slots = threading.Semaphore(depth)
        self.stop = threading.Event()
        self.done = asyncio.Event()

    def put(self, item: T) -> None:
        """Called from the producer thread; blocks while ``depth`` batches wait to be consumed."""
        while not self.slots.acquire(timeout=_POLL_SECONDS):
            if self.stop.is_set():
                raise ProducerStopped
        if self.stop.is_set():
            raise ProducerStopped
        self._send(item)

    def _send(self, item: T | _End | _Failure) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.stop.set()

    def run(self, produce: Callable[[Callable[[T], None]], None]) -> None:
        try:
            produce(self.put)
        except ProducerStopped:
            pass
        except BaseException as exc:  # handed to the consumer, which re-raises it on the loop
            self._send(_Failure(exc))
        else:
            self._send(_END)
        finally:
            try:
                self.loop.call_soon_threadsafe(self.done.set)
            except RuntimeError:
                pass


@asynccontextmanager
async def consume_in_thread(
    produce: Callable[[Callable[[T], None]], None], *, depth: int = 4, name: str = "cml-import"
) -> AsyncIterator[AsyncIterator[T]]:
    """Start ``produce(put)`` in a thread; yield an async iterator over what it ``put``.

    Example::

        async with consume_in_thread(parse_file) as batches:
            async for batch in batches:
                await write(batch)

    An exception raised by ``produce`` is re-raised by the iterator, unchanged.
    """
    pipe: _Pipe[T] = _Pipe(asyncio.get_running_loop(), depth)
    thread = threading.Thread(target=pipe.run, args=(produce,), name=name, daemon=True)
    _TUNING.acquire()
    try:
        thread.start()
    except BaseException:
        _TUNING.release()
        raise

    async def items() -> AsyncIterator[T]:
        while True:
            item = await pipe.queue.get()
            pipe.slots.release()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    try:
        yield items()
    finally:
        pipe.stop.set()
        try:
            await pipe.done.wait()
        finally:
            _TUNING.release()
