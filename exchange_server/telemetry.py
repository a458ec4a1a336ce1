"""The aiohttp side of observability: ``GET /metrics``, one log line per request and per import job.

* :func:`configure_logging` sets the root logger up for ``text`` or ``json`` output
  (``CML_LOG_FORMAT``); a JSON line holds ``ts``, ``level``, ``logger``, ``message`` and the record's
  structured fields.
* :func:`request_log` (the outermost middleware) logs every HTTP request once (method, path, status,
  duration, remote; for 1C requests also type, mode and the answer's first line) and counts the
  exchange requests into :mod:`exchange_server.metrics`.
* :class:`MeteredCatalogImporter` / :class:`MeteredOrderImporter` time each file's import, count what
  it wrote and log one line per job.
* ``GET /metrics`` answers the Prometheus text page; behind the operator credentials unless
  ``CML_METRICS_PUBLIC`` is set.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from exchange_server import metrics
from exchange_server.importer import CatalogImporter, ImportResult, OrderImporter, OrderImportResult

__all__ = [
    "FIELDS",
    "JsonFormatter",
    "MeteredCatalogImporter",
    "MeteredOrderImporter",
    "configure_logging",
    "metrics_handler",
    "request_log",
    "setup_metrics",
]

FIELDS: Final = "cml_fields"
"""Attribute of a log record holding its structured fields (pass ``extra={FIELDS: {...}}``)."""

EXCHANGE_PATHS: Final = ("/1c_exchange", "/bitrix/admin/1c_exchange.php")
ANSWERS: Final = ("success", "progress", "failure")
access_log = logging.getLogger("cml.access")
job_log = logging.getLogger("cml.jobs")


# --- logging -------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                out.setdefault(str(key), value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the structured fields appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, Mapping) and fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return line


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Log to stderr, one line per record, as ``text`` or ``json``.

    Raises:
        ValueError: an unknown format.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# --- requests ------------------------------------------------------------------------------------


def _answer(response: web.StreamResponse | None) -> str:
    if response is None:
        return "interrupted"
    body = response.body if isinstance(response, web.Response) else None
    raw = bytes(body[:64]) if isinstance(body, bytes | bytearray) else b""
    if raw.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")):
        return "xml"
    first = raw.split(b"\n", 1)[0].decode("cp1251", "replace").strip()
    return first if first in ANSWERS else "other"


@web.middleware
async def request_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Log one line per request; count 1C requests by type, mode and answer."""
    clock = time.monotonic()
    response: web.StreamResponse | None = None
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        fields: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round((time.monotonic() - clock) * 1000, 1),
            "remote": request.remote,
        }
        if request.path in EXCHANGE_PATHS:
            kind = request.query.get("type", "").lower()
            mode = request.query.get("mode", "").lower()
            answer = _answer(response)
            fields.update(type=kind, mode=mode, answer=answer)
            if kind in ("catalog", "sale"):
                metrics.record_exchange_answer(kind, mode, answer)
        access_log.info("%s %s %s", request.method, request.path, status, extra={FIELDS: fields})


# --- import jobs ---------------------------------------------------------------------------------


def _log_job(
    kind: str, name: str, seconds: float, outcome: str, counts: Mapping[str, int], error: str = ""
) -> None:
    fields: dict[str, Any] = {
        "job": "import",
        "type": kind,
        "file": name,
        "outcome": outcome,
        "duration_ms": round(seconds * 1000, 1),
        "counts": dict(counts),
    }
    if error:
        fields["error"] = error
    job_log.info("import %s %s: %s", kind, name, outcome, extra={FIELDS: fields})


class MeteredCatalogImporter(CatalogImporter):
    """A :class:`CatalogImporter` that times and counts every file and logs one line per job."""

    async def import_file(self, *args: Any, **kwargs: Any) -> ImportResult:
        clock = time.monotonic()
        name = str(args[0] if args else kwargs.get("path", ""))
        try:
            result = await super().import_file(*args, **kwargs)
        except Exception as exc:
            metrics.IMPORT_DURATION.observe(time.monotonic() - clock, type="catalog")
            _log_job("catalog", name, time.monotonic() - clock, "failure", {}, str(exc))
            raise
        seconds = time.monotonic() - clock
        metrics.record_import("catalog", seconds, result.counts)
        _log_job("catalog", result.file, seconds, "success", result.counts)
        return result


class MeteredOrderImporter(OrderImporter):
    """An :class:`OrderImporter` that times and counts every file and logs one line per job."""

    async def import_file(self, *args: Any, **kwargs: Any) -> OrderImportResult:
        clock = time.monotonic()
        name = str(args[0] if args else kwargs.get("path", ""))
        try:
            result = await super().import_file(*args, **kwargs)
        except Exception as exc:
            metrics.IMPORT_DURATION.observe(time.monotonic() - clock, type="sale")
            _log_job("sale", name, time.monotonic() - clock, "failure", {}, str(exc))
            raise
        seconds = time.monotonic() - clock
        metrics.record_import("sale", seconds, result.counts)
        _log_job("sale", result.file, seconds, "success", result.counts)
        return result


# --- GET /metrics --------------------------------------------------------------------------------


async def metrics_handler(request: web.Request) -> web.Response:
    """The Prometheus text page of this process."""
    response = web.Response(body=metrics.render().encode(), headers={"Content-Type": metrics.CONTENT_TYPE})
    response.headers["Cache-Control"] = "no-store"
    return response


def setup_metrics(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_handler)
