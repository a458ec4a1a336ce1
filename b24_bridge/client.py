"""``B24Client``: calls, batches and list paging against one portal, inside its limits.

I/O only through the injected transport, token endpoint and clock. Theory of operation:

1. Before a request the client waits for the method's operating-time budget (``OperatingBudget``:
   pause until ``operating_reset_at`` near 480 s) and for a slot in the leaky bucket shared by the
   whole process (``LeakyBucket.reserve``); the portal should never have to refuse.
2. The answer becomes an :class:`Envelope` or a typed :class:`ApiError` (``errors.ERROR_CLASSES``).
3. ``expired_token`` refreshes the OAuth token once (single-flight) and repeats the call.
4. Errors with ``retryable`` are retried with exponential backoff and jitter; everything else is
   raised at once. ``OPERATION_TIME_LIMIT`` waits for the reported reset instead of backing off.
5. A failure with ``maybe_executed`` (timeout, reset after sending, 5xx, HTML gateway page) is only
   retried for reads and idempotent writes. For a create the client first looks the entity up by its
   key (``methods.CREATE_KEYS``: ``XML_ID``/``xmlId``/``ORIGIN_ID``); found means the create ran. A
   create without a key raises :class:`AmbiguousWrite` instead of a blind retry.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from b24_bridge.auth import OAuthSession, TokenSaver
from b24_bridge.batch import MAX_BATCH, BatchCommand, build_batch, chunk, split_batch_result
from b24_bridge.clock import Clock, LoopClock
from b24_bridge.envelope import Envelope, RetryPolicy, TimeInfo, parse_envelope
from b24_bridge.errors import (
    AmbiguousWrite,
    ApiError,
    B24Error,
    BatchError,
    NotFound,
    OperationLimited,
    RateLimited,
    TokenExpired,
    api_error,
)
from b24_bridge.methods import Lookup, MethodKind, classify, id_field, is_engine, lookup_for
from b24_bridge.ratelimit import LeakyBucket, Limits, OperatingBudget, shared_bucket
from b24_bridge.transport import DEFAULT_TIMEOUT, B24Request, TokenSet, Transport, parse_webhook_url

if TYPE_CHECKING:
    import aiohttp

__all__ = ["PAGE_SIZE", "B24Client", "BatchResult"]

#: List methods return 50 rows per page (bitrix24.md §2.5, IRestService::LIST_LIMIT).
PAGE_SIZE: Final = 50
_SHARED: Final = object()


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch answer per command id; ``errors`` holds typed errors of failed commands."""

    results: dict[str, Any]
    errors: dict[str, ApiError]
    totals: dict[str, int] = field(default_factory=dict)
    nexts: dict[str, int] = field(default_factory=dict)
    times: dict[str, TimeInfo] = field(default_factory=dict)

    def raise_for_errors(self) -> None:
        """Raises: BatchError when any command failed."""
        if self.errors:
            raise BatchError(self.errors, self.results)


def _rows(result: Any) -> list[Any]:
    """The rows of a list answer: a list, or the single list inside an engine wrapper."""
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):
        lists = [v for v in result.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        if not result:
            return []
    raise ValueError(f"not a list answer: {str(result)[:200]}")


class B24Client:
    """A client of one Bitrix24 portal.

    Args:
        transport: sends the requests (``AiohttpTransport`` or the fake's ``InProcessTransport``).
        oauth: the OAuth session for application auth; ``None`` for an incoming webhook.
        limits: the portal's plan limits (``Limits.for_plan("enterprise")``; ``rate=None`` for box).
        bucket: the leaky bucket to pace with; by default the process-wide bucket of this portal.
            ``None`` turns pacing off.
        clock: time source and sleeper (``LoopClock`` by default).
        retry: the backoff policy for retryable errors.
        rng: randomness for the jitter.
        portal: the key of the shared bucket (defaults to the transport's ``base_url`` host).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        oauth: OAuthSession | None = None,
        limits: Limits | None = None,
        bucket: LeakyBucket | None | object = _SHARED,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        portal: str | None = None,
    ) -> None:
        self.transport = transport
        self.oauth = oauth
        self.limits = limits or Limits()
        self.clock: Clock = clock or LoopClock()
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        if bucket is _SHARED:
            key = portal or _portal_key(getattr(transport, "base_url", ""))
            self.bucket = shared_bucket(key, self.limits)
        else:
            self.bucket = bucket if isinstance(bucket, LeakyBucket) else None
        limit = self.limits.operating_limit
        self.budget = OperatingBudget(limit) if limit is not None else None
        #: Requests sent (each try counts), for logs and benchmarks.
        self.sent = 0

    # -- construction helpers ------------------------------------------------------------------

    @classmethod
    def for_webhook(
        cls, session: aiohttp.ClientSession, url: str, *, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any
    ) -> B24Client:
        """A client on an incoming webhook URL ``https://<portal>/rest/<user>/<code>/``.

        Raises:
            ValueError: the URL is malformed.
        """
        from b24_bridge.http import AiohttpTransport

        hook = parse_webhook_url(url)
        return cls(AiohttpTransport(session, hook.base, timeout=timeout), **kwargs)

    @classmethod
    def for_oauth(
        cls,
        session: aiohttp.ClientSession,
        tokens: TokenSet,
        *,
        client_id: str,
        client_secret: str,
        oauth_url: str = "https://oauth.bitrix.info/oauth/token/",
        on_refresh: TokenSaver | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> B24Client:
        """A client of an OAuth application; requests go to ``tokens.client_endpoint``."""
        from b24_bridge.http import AiohttpTokenEndpoint, AiohttpTransport

        endpoint = AiohttpTokenEndpoint(session, client_id, client_secret, url=oauth_url)
        oauth = OAuthSession(tokens, endpoint, on_refresh=on_refresh)
        return cls(AiohttpTransport(session, tokens.client_endpoint, timeout=timeout), oauth=oauth, **kwargs)

    # -- single calls --------------------------------------------------------------------------

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` and return its ``result``.

        Raises:
            ApiError: (subclasses) the portal refused the call for good.
            TransportError: retries exhausted.
            AmbiguousWrite: a create's answer was lost and no key can tell whether it ran.
        """
        return (await self.call_envelope(method, params)).result

    async def call_envelope(self, method: str, params: Mapping[str, Any] | None = None) -> Envelope:
        """Like :meth:`call`, returning the whole envelope (``total``, ``next``, ``time``)."""
        params = dict(params or {})
        kind = classify(method, params)
        if kind is not MethodKind.CREATE:
            return await self._request(method, params, kind=kind)
        lookup = lookup_for(method, params)
        recoveries = 0
        while True:
            try:
                return await self._request(method, params, kind=kind)
            except AmbiguousWrite:
                if lookup is None or recoveries >= self.retry.attempts:
                    raise
                recoveries += 1
                found = await self._recover(lookup)
                if found is not None:
                    return found
                # The lookup proves the create did not run: creating again cannot duplicate.

    async def _recover(self, lookup: Lookup) -> Envelope | None:
        """Find what a create made; shape the answer like the create's answer."""
        env = await self._request(lookup.key.list_method, lookup.params, kind=MethodKind.READ)
        rows = _rows(env.result)
        if not rows:
            return None
        ident = id_field(lookup.key.list_method)
        found_id = int(rows[0][ident])
        if lookup.key.get_method is None:
            return Envelope(result=found_id, time=env.time)
        got = await self._request(
            lookup.key.get_method, {**lookup.scope, "id": found_id}, kind=MethodKind.READ
        )
        entity = got.result.get(lookup.key.get_key) if isinstance(got.result, Mapping) else None
        return Envelope(result={lookup.key.result_key: entity}, time=got.time)

    async def _request(
        self, method: str, params: Mapping[str, Any], *, kind: MethodKind, nested: Sequence[str] = ()
    ) -> Envelope:
        failures = 0
        refreshed = False
        uncertain = False  # an earlier try may have run
        while True:
            await self._pace(method, nested)
            token = self.oauth.access_token if self.oauth is not None else None
            try:
                self.sent += 1
                response = await self.transport.send(B24Request(method, params, token))
                envelope = parse_envelope(response.status, response.body, method=method)
            except TokenExpired:
                if self.oauth is None or refreshed or token is None:
                    raise
                refreshed = True
                await self.oauth.refresh(token)
                continue
            except NotFound:
                if uncertain and kind is MethodKind.IDEMPOTENT and method.lower().endswith(".delete"):
                    # The lost try deleted it (bitrix24.md §7.4 item 4: reconcile, don't fail).
                    return Envelope(result=True)
                raise
            except B24Error as exc:
                self._note_refusal(method, exc)
                if not exc.retryable:
                    raise
                if exc.maybe_executed:
                    if kind is MethodKind.CREATE:
                        raise AmbiguousWrite(method, exc) from exc
                    uncertain = True
                failures += 1
                if failures >= self.retry.attempts:
                    raise
                if not isinstance(exc, OperationLimited):  # _pace waits for the reset instead
                    await self.clock.sleep(self.retry.delay(failures, self._rng))
                continue
            self._note_time(method, envelope.time)
            return envelope

    async def _pace(self, method: str, nested: Sequence[str]) -> None:
        if self.budget is not None:
            while True:
                now = self.clock.now()
                wait = max(self.budget.delay(name, now) for name in (method, *nested))
                if wait <= 0:
                    break
                await self.clock.sleep(wait)
        if self.bucket is not None:
            wait = self.bucket.reserve(self.clock.now())
            if wait > 0:
                await self.clock.sleep(wait)

    def _note_refusal(self, method: str, exc: B24Error) -> None:
        now = self.clock.now()
        if isinstance(exc, RateLimited) and self.bucket is not None:
            self.bucket.penalize(now)
        if isinstance(exc, OperationLimited) and self.budget is not None:
            if exc.retry_after is not None and exc.retry_after > now:
                self.budget.record(method, self.budget.limit, exc.retry_after)
            else:
                self.budget.blocked(method, now)

    def _note_time(self, method: str, info: TimeInfo | None) -> None:
        if info is not None and self.budget is not None:
            self.budget.record(method, info.operating, info.operating_reset_at)

    # -- batch ---------------------------------------------------------------------------------

    async def batch(
        self,
        commands: Sequence[BatchCommand] | Mapping[str, tuple[str, Mapping[str, Any]]],
        *,
        halt: bool = False,
    ) -> BatchResult:
        """Run up to 50 commands in one request (one unit of the rate limit).

        ``commands`` may reference earlier results: ``{"id": "$result[add][item][id]"}``. Per-command
        errors come back typed in :attr:`BatchResult.errors`; the batch itself only raises when the
        whole request failed. A batch holding creates is never repeated after a lost answer.

        Raises:
            ValueError: more than 50 commands, nested batch, duplicate ids.
            ApiError, TransportError, AmbiguousWrite: as for :meth:`call`.
        """
        if isinstance(commands, Mapping):
            commands = [BatchCommand(k, m, p) for k, (m, p) in commands.items()]
        params = build_batch(commands, halt=halt)
        kinds = {classify(c.method, c.params) for c in commands}
        kind = MethodKind.CREATE if MethodKind.CREATE in kinds else MethodKind.IDEMPOTENT
        env = await self._request("batch", params, kind=kind, nested=[c.method for c in commands])
        outcome = split_batch_result(env.result)
        by_id = {c.id: c.method for c in commands}
        times = {k: t for k, raw in outcome.times.items() if (t := TimeInfo.from_json(raw)) is not None}
        for command_id, info in times.items():
            if command_id in by_id:
                self._note_time(by_id[command_id], info)
        errors = {k: api_error(400, v, method=by_id.get(k, "")) for k, v in outcome.errors.items()}
        for command_id, error in errors.items():
            self._note_refusal(by_id.get(command_id, ""), error)
        return BatchResult(outcome.results, errors, outcome.totals, outcome.nexts, times)

    async def call_many(self, method: str, params_list: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Call one method for many parameter sets, 50 per batch; results in input order.

        Commands refused with a retryable error inside a batch (``OPERATION_TIME_LIMIT``) are sent
        again in a later batch when repeating them is safe.

        Raises:
            BatchError: some commands failed for good; ``.results`` holds the others by index.
        """
        labels = [f"c{i:06d}" for i in range(len(params_list))]
        pending = list(zip(labels, params_list, strict=True))
        results: dict[str, Any] = {}
        errors: dict[str, ApiError] = {}
        tries: dict[str, int] = {}
        while pending:
            retry: list[tuple[str, Mapping[str, Any]]] = []
            for block in chunk(pending, MAX_BATCH):
                answer = await self.batch([BatchCommand(label, method, p) for label, p in block])
                results.update(answer.results)
                for label, p in block:
                    error = answer.errors.get(label)
                    if error is None:
                        continue
                    tries[label] = tries.get(label, 0) + 1
                    safe = classify(method, p) is not MethodKind.CREATE or not error.maybe_executed
                    if error.retryable and safe and tries[label] < self.retry.attempts:
                        retry.append((label, p))
                    else:
                        errors[label] = error
            pending = retry
        ordered = [results.get(label) for label in labels]
        if errors:
            raise BatchError(
                {str(labels.index(k)): v for k, v in errors.items()},
                {str(i): r for i, r in enumerate(ordered) if labels[i] not in errors},
            )
        return ordered

    # -- lists ---------------------------------------------------------------------------------

    async def iter_pages(
        self, method: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Envelope]:
        """Page through a list method with ``start`` / ``next`` (bitrix24.md §2.5).

        An ``order`` by id is added when none is given: without it pages overlap or skip rows.
        """
        query = dict(params or {})
        query.setdefault("order", {id_field(method): "ASC"})
        start = int(query.pop("start", 0) or 0)
        while True:
            env = await self.call_envelope(method, {**query, "start": start})
            yield env
            if env.next is None:
                return
            if env.next <= start:
                raise ValueError(f"{method}: next={env.next} does not advance past start={start}")
            start = env.next

    async def iter_list(self, method: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """Every row of a list method, page by page, rows de-duplicated by id."""
        ident = id_field(method)
        seen: set[Any] = set()
        async for env in self.iter_pages(method, params):
            for row in _rows(env.result):
                key = row.get(ident) if isinstance(row, Mapping) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                yield row

    async def export(self, method: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """The fast full export: ``order id ASC``, ``filter >id``, ``start=-1`` (no COUNT).

        Repeats with ``>id`` = last id seen until a page has fewer than 50 rows (bitrix24.md §2.5,
        the official "huge data" recipe). ``select`` must include the id field when given.
        """
        ident = id_field(method)
        query = dict(params or {})
        flt = dict(query.pop("filter", None) or {})
        select = query.get("select")
        if select and ident not in select and "*" not in select:
            query["select"] = [ident, *select]
        last: Any = flt.pop(f">{ident}", 0)
        while True:
            page_params = {
                **query,
                "order": {ident: "ASC"},
                "filter": {**flt, f">{ident}": last},
                "start": -1,
            }
            rows = _rows(await self.call(method, page_params))
            for row in rows:
                yield row
            if len(rows) < PAGE_SIZE:
                return
            last = int(rows[-1][ident])

    async def export_batched(
        self, method: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Any]:
        """The fast export chained inside batches: up to 2,500 rows per request (bitrix24.md §2.5, §7.3).

        The first page (``start=0``) tells ``total``; then each batch holds up to 50 ``start=-1`` pages
        whose ``>id`` filter references the previous page's 50th id (``$result[p0][items][49][id]``).
        Stops at the first short page; rows added meanwhile are picked up by a final plain page.
        """
        ident = id_field(method)
        query = dict(params or {})
        flt = dict(query.pop("filter", None) or {})
        query.pop("start", None)
        select = query.get("select")
        if select and ident not in select and "*" not in select:
            query["select"] = [ident, *select]
        last: Any = flt.pop(f">{ident}", 0)
        order = {ident: "ASC"}
        seen: set[Any] = set()
        first = await self.call_envelope(
            method, {**query, "order": order, "filter": {**flt, f">{ident}": last}, "start": 0}
        )
        page = _rows(first.result)
        wrapper = (
            next((k for k, v in first.result.items() if isinstance(v, list)), None)
            if isinstance(first.result, Mapping)
            else None
        )
        remaining = (first.total or 0) - len(page)
        while True:
            for row in page:
                if row[ident] not in seen:
                    seen.add(row[ident])
                    yield row
            if len(page) < PAGE_SIZE:
                return
            last = page[-1][ident]
            count = max(1, min(MAX_BATCH, -(-remaining // PAGE_SIZE)))
            path = f"[{wrapper}]" if wrapper else ""
            commands = [
                BatchCommand(
                    f"p{i}",
                    method,
                    {
                        **query,
                        "order": order,
                        "start": -1,
                        "filter": {
                            **flt,
                            f">{ident}": last
                            if i == 0
                            else f"$result[p{i - 1}]{path}[{PAGE_SIZE - 1}][{ident}]",
                        },
                    },
                )
                for i in range(count)
            ]
            answer = await self.batch(commands)
            answer.raise_for_errors()
            pages = [_rows(answer.results[c.id]) for c in commands]
            remaining -= count * PAGE_SIZE
            for index, page in enumerate(pages):
                if index == len(pages) - 1 or len(page) < PAGE_SIZE:
                    break
                for row in page:
                    if row[ident] not in seen:
                        seen.add(row[ident])
                        yield row

    async def list_all(self, method: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """All rows of a list method (paged)."""
        return [row async for row in self.iter_list(method, params)]


def _portal_key(base_url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(base_url).netloc or base_url or "portal"


# Engine methods take camelCase, legacy UPPER_CASE: re-exported for callers building filters.
engine_method = is_engine
