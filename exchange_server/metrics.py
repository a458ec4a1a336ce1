"""Process metrics in the Prometheus text exposition format (version 0.0.4). No aiohttp, no I/O.

A tiny registry of counters, gauges and histograms with labels, and the metrics of this product,
defined once here so every module counts into the same names:

* ``cml_exchange_requests_total{type,mode,answer}``: every request of a 1C node and its answer
  (``success`` / ``progress`` / ``failure`` / ``xml`` / ``init``).
* ``cml_exchanges_total{type,outcome}``: finished units of exchange work: a file imported (the
  ``import`` answer success or failure), an orders query confirmed (``mode=success``), an orders file
  accepted (classic ``mode=file``); ``failure`` counts every failure answer, since 1C stops the
  exchange at the first one.
* ``cml_entities_imported_total{kind}``: groups, products, offers, orders ... written by imports.
* ``cml_import_duration_seconds{type}``: histogram of one file's import.
* ``cml_b24_calls_total{method,result}`` and ``cml_b24_rate_limit_wait_seconds_total``: the Bitrix24
  client calls :func:`record_b24_call` and :func:`add_rate_limit_wait`.
* ``cml_outbox_jobs{state}``: the outbox reports its depth through :func:`set_outbox_depth_source`
  (0 until an outbox exists).

Thread-safe: worker threads may count too. ``render()`` returns the whole page.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, TypeVar

__all__ = [
    "B24_CALLS",
    "B24_RATE_LIMIT_WAIT",
    "CONTENT_TYPE",
    "ENTITIES_IMPORTED",
    "EXCHANGES",
    "EXCHANGE_REQUESTS",
    "IMPORT_DURATION",
    "OUTBOX_DEPTH",
    "REGISTRY",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricError",
    "Registry",
    "add_rate_limit_wait",
    "outbox_depth",
    "record_b24_call",
    "record_exchange_answer",
    "record_import",
    "render",
    "set_outbox_depth_source",
]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")

LabelValues = tuple[str, ...]


class MetricError(ValueError):
    """A metric was defined or used wrongly (bad name, wrong labels, negative increment)."""


def _check_name(name: str) -> None:
    if not name or name[0].isdigit() or not set(name) <= _NAME_CHARS:
        raise MetricError(f"invalid metric or label name: {name!r}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(names: Sequence[str], values: Sequence[str], extra: Mapping[str, str] | None = None) -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    pairs += [f'{n}="{_escape(v)}"' for n, v in (extra or {}).items()]
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind: str = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        _check_name(name)
        for label in labels:
            _check_name(label)
            if label.startswith("__") or label == "le":
                raise MetricError(f"reserved label name: {label!r}")
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise MetricError(f"{self.name} takes labels {self.label_names}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help.replace(chr(10), ' ')}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if not name.endswith("_total"):
            raise MetricError(f"a counter's name ends with _total: {name!r}")
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}
        if not self.label_names:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0 or math.isnan(amount):
            raise MetricError(f"{self.name}: a counter cannot go down ({amount})")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


GaugeSource = Callable[[], Mapping[LabelValues, float]]


class Gauge(_Metric):
    """A value that goes up and down; set directly or read from a callback at every scrape."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}
        self._source: GaugeSource | None = None

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def set_source(self, source: GaugeSource | None) -> None:
        """Read the values from ``source()`` at every scrape (keys: label values in label order)."""
        with self._lock:
            self._source = source

    def values(self) -> dict[LabelValues, float]:
        with self._lock:
            source, stored = self._source, dict(self._values)
        if source is None:
            return stored
        merged = dict(stored)
        for key, value in source().items():
            if len(key) != len(self.label_names):
                raise MetricError(f"{self.name}: source gave labels {key} for {self.label_names}")
            merged[tuple(key)] = float(value)
        return merged

    def samples(self) -> list[str]:
        items = sorted(self.values().items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        bounds = sorted(float(b) for b in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise MetricError(f"{name}: buckets must be distinct and not empty")
        self.buckets = tuple(b for b in bounds if not math.isinf(b))
        self._data: dict[LabelValues, tuple[list[int], float, int]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total, count = self._data.get(key, ([0] * len(self.buckets), 0.0, 0))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            self._data[key] = (counts, total + value, count + 1)

    def count(self, **labels: str) -> int:
        with self._lock:
            return self._data.get(self._key(labels), ([], 0.0, 0))[2]

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s, n)) for k, (c, s, n) in self._data.items())
        lines: list[str] = []
        for key, (counts, total, count) in items:
            for bound, n in zip(self.buckets, counts, strict=True):
                le = {"le": _number(bound)}
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {n}")
            lines.append(f"{self.name}_bucket{_labels(self.label_names, key, {'le': '+Inf'})} {count}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {count}")
        return lines


M = TypeVar("M", bound=_Metric)


class Registry:
    """Named metrics, rendered in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def register(self, metric: M) -> M:
        with self._lock:
            if metric.name in self._metrics:
                raise MetricError(f"metric already registered: {metric.name}")
            self._metrics[metric.name] = metric
        return metric

    def get(self, name: str) -> _Metric | None:
        return self._metrics.get(name)

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics.values())
        lines: list[str] = []
        for metric in metrics:
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"


# --- the product's metrics -----------------------------------------------------------------------

REGISTRY: Final = Registry()

EXCHANGE_REQUESTS: Final = REGISTRY.register(
    Counter(
        "cml_exchange_requests_total",
        "Requests of 1C nodes by exchange type, mode and the first line of the answer.",
        ("type", "mode", "answer"),
    )
)
EXCHANGES: Final = REGISTRY.register(
    Counter(
        "cml_exchanges_total",
        "Finished exchange work by type and outcome: a file imported, an orders query confirmed, "
        "an orders file accepted (success); any failure answer (failure).",
        ("type", "outcome"),
    )
)
ENTITIES_IMPORTED: Final = REGISTRY.register(
    Counter("cml_entities_imported_total", "Entities written by imports, by kind.", ("kind",))
)
IMPORT_DURATION: Final = REGISTRY.register(
    Histogram("cml_import_duration_seconds", "Duration of one file's import, by exchange type.", ("type",))
)
B24_CALLS: Final = REGISTRY.register(
    Counter("cml_b24_calls_total", "Bitrix24 REST calls by method and result.", ("method", "result"))
)
B24_RATE_LIMIT_WAIT: Final = REGISTRY.register(
    Counter("cml_b24_rate_limit_wait_seconds_total", "Seconds spent waiting on the Bitrix24 rate limit.")
)
OUTBOX_DEPTH: Final = REGISTRY.register(
    Gauge("cml_outbox_jobs", "Jobs in the Bitrix24 outbox by state (0 until the outbox exists).", ("state",))
)
OUTBOX_STATES: Final = ("pending", "failed")
for _state in OUTBOX_STATES:
    OUTBOX_DEPTH.set(0, state=_state)

_FINISHING_MODES: Final = {("catalog", "import"), ("sale", "import"), ("sale", "success"), ("sale", "file")}


def record_exchange_answer(kind: str, mode: str, answer: str) -> None:
    """Count one request of a 1C node (``answer``: success, progress, failure, xml, init ...)."""
    EXCHANGE_REQUESTS.inc(type=kind or "unknown", mode=mode or "unknown", answer=answer)
    if answer == "failure":
        EXCHANGES.inc(type=kind or "unknown", outcome="failure")
    elif answer == "success" and (kind, mode) in _FINISHING_MODES:
        EXCHANGES.inc(type=kind, outcome="success")


def record_import(kind: str, seconds: float, counts: Mapping[str, int]) -> None:
    """Count one finished file import: its duration and the entities it wrote."""
    IMPORT_DURATION.observe(seconds, type=kind)
    for entity, n in counts.items():
        if n:
            ENTITIES_IMPORTED.inc(n, kind=entity)


def record_b24_call(method: str, result: str) -> None:
    """Count one Bitrix24 call (``result``: ok, error code such as QUERY_LIMIT_EXCEEDED, http_503 ...)."""
    B24_CALLS.inc(method=method, result=result)


def add_rate_limit_wait(seconds: float) -> None:
    """Add time the Bitrix24 client slept because of the rate limit."""
    if seconds > 0:
        B24_RATE_LIMIT_WAIT.inc(seconds)


def set_outbox_depth_source(source: Callable[[], Mapping[str, int]] | None) -> None:
    """Let the outbox report its depth: ``source()`` returns ``{"pending": n, "failed": m}``.

    Called at every scrape (keep it cheap: a cached count); None restores the zeros.
    """
    if source is None:
        OUTBOX_DEPTH.set_source(None)
        return

    def read() -> dict[LabelValues, float]:
        return {(state,): float(n) for state, n in source().items()}

    OUTBOX_DEPTH.set_source(read)


def outbox_depth() -> dict[str, int]:
    """The outbox depth by state as the gauge shows it."""
    return {key[0]: int(value) for key, value in OUTBOX_DEPTH.values().items()}


def render() -> str:
    return REGISTRY.render()
