"""The plan: which targets differ from what was last pushed. Pure: ``diff(targets, pushed)``.

``pushed`` maps ``(kind, key)`` to the hash the portal last acknowledged (``None``: never pushed)
for every entity the outbox knows. An unchanged store therefore plans nothing, and one changed price
plans one ``prices`` job.

An entity the outbox knows but the targets no longer name (a price type deselected, a warehouse
gone or ``stock_mode = "off"``, a variation or group removed) *leaves the plan*: it gets a
retirement job (:func:`retirement`), pushed once. Nothing is hard-deleted where a flag exists:

========== ===================================================================================
kind       when it leaves the plan
========== ===================================================================================
section,   ``active = N`` (looked up by ``xmlId`` when its portal id is unknown; nothing when
product,   the portal never had it)
offer
store      ``active = N``, except a store the operator named in ``[b24.stores]`` (theirs)
pricetype  kept as it is: a price type has no active flag and may serve others; its price rows
           go with the ``prices`` jobs of the goods (``catalog.price.modify`` sends the whole set)
prices     the element's price rows removed (``modify`` with no rows): a price row has no flag,
           removal is its only representation. Not when the element itself left (it is
           inactive, its last prices stay)
stock      left as it is: the element or the store is inactive, or the goods became a parent
           of variations (the portal counts the variations' stock); ``stock_mode = "off"``
           means stock is not ours to touch
images     our pictures (``<sha12>-`` names) deleted while the goods stay and images are on
========== ===================================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from b24_bridge.sync.targets import ELEMENT_KINDS, KINDS, PHASES, Target, content_hash

__all__ = ["Plan", "diff", "retirement", "warnings_of"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Jobs to enqueue, the targets considered, and what the operator should hear about."""

    jobs: tuple[Target, ...]
    considered: int
    new: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    warnings: tuple[str, ...] = ()
    retired: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not self.jobs

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: how many jobs create (never pushed), update, and retire (only when some do)."""
        retired = Counter(t.kind for t in self.jobs if t.ident in self.retired)
        staying = [t for t in self.jobs if t.ident not in self.retired]
        created = Counter(t.kind for t in staying if t.ident in self.new)
        updated = Counter(t.kind for t in staying if t.ident not in self.new)
        out: dict[str, dict[str, int]] = {}
        for kind in KINDS:
            if created[kind] or updated[kind] or retired[kind]:
                out[kind] = {"create": created[kind], "update": updated[kind]}
                if retired[kind]:
                    out[kind]["retire"] = retired[kind]
        return out

    def describe(self) -> list[str]:
        """Human lines: a header, one line per kind, then the warnings."""
        if self.empty:
            lines = [f"nothing to push ({self.considered} entities in sync)"]
        else:
            lines = [f"{len(self.jobs)} of {self.considered} entities to push:"]
            for kind, n in self.counts().items():
                line = f"  {kind:<10} {n['create']:>7} new {n['update']:>7} changed"
                if n.get("retire"):
                    line += f" {n['retire']:>7} leaving"
                lines.append(line)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return lines


def warnings_of(targets: Iterable[Target]) -> tuple[str, ...]:
    """Mapping gaps found while building targets (a 1C VAT rate missing from ``[b24.vat]`` ...)."""
    unknown_vat: Counter[str] = Counter()
    missing_images = 0
    for target in targets:
        rate = target.payload.get("vat_unknown")
        if rate is not None:
            unknown_vat[str(rate)] += 1
        if target.kind == "images":
            missing_images += int(target.payload.get("missing", 0))
    out = [
        f"VAT rate {rate!r} of {n} goods is not in [b24.vat]; they are sent without VAT"
        for rate, n in sorted(unknown_vat.items())
    ]
    if missing_images:
        out.append(f"{missing_images} image files named by 1C are missing from the package directories")
    return tuple(out)


def _element_kind(key: str) -> str:
    return "offer" if "#" in key else "product"  # variations are keyed product#characteristic


def retirement(kind: str, key: str, *, element_in_plan: bool) -> Target:
    """The job of an entity that left the plan (see the module docstring for what each kind does)."""
    payload: dict[str, object] = {"retired": True}
    if kind in ("prices", "stock", "images"):
        payload["element"] = _element_kind(key) if kind != "images" else "product"
        payload["element_retired"] = not element_in_plan
    if kind == "images":
        payload["files"] = []
    return Target(kind, key, PHASES[kind], payload, content_hash(kind, payload))


def diff(
    targets: Iterable[Target],
    pushed: Mapping[tuple[str, str], str | None],
    *,
    retire_images: bool = True,
) -> Plan:
    """The targets whose hash differs from the last pushed one, then the retirements, in phase order.

    ``retire_images``: False when images are switched off (pictures already sent are left alone).
    """
    every = list(targets)
    present = {t.ident for t in every}
    elements = {t.key for t in every if t.kind in ELEMENT_KINDS}
    jobs = [t for t in every if pushed.get(t.ident) != t.hash]
    new = frozenset(t.ident for t in jobs if pushed.get(t.ident) is None)
    leaving = []
    for (kind, key), last in sorted(pushed.items()):
        if (kind, key) in present or kind not in PHASES or (kind == "images" and not retire_images):
            continue
        target = retirement(kind, key, element_in_plan=key in elements)
        if last != target.hash:
            leaving.append(target)
    jobs.extend(leaving)
    jobs.sort(key=lambda t: (t.phase, t.kind, t.key))
    return Plan(
        jobs=tuple(jobs),
        considered=len(every),
        new=new,
        warnings=warnings_of(jobs),
        retired=frozenset(t.ident for t in leaving),
    )
