"""The plan: which targets differ from what was last pushed. Pure: ``diff(targets, pushed)``.

``pushed`` maps ``(kind, key)`` to the hash the portal last acknowledged (``None`` or absent: never
pushed). An unchanged store therefore plans nothing, and one changed price plans one ``prices`` job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from b24_bridge.sync.targets import KINDS, Target

__all__ = ["Plan", "diff", "warnings_of"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Jobs to enqueue, the targets considered, and what the operator should hear about."""

    jobs: tuple[Target, ...]
    considered: int
    new: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.jobs

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: how many jobs create (never pushed) and how many update."""
        created = Counter(t.kind for t in self.jobs if t.ident in self.new)
        updated = Counter(t.kind for t in self.jobs if t.ident not in self.new)
        return {
            kind: {"create": created[kind], "update": updated[kind]}
            for kind in KINDS
            if created[kind] or updated[kind]
        }

    def describe(self) -> list[str]:
        """Human lines: a header, one line per kind, then the warnings."""
        if self.empty:
            lines = [f"nothing to push ({self.considered} entities in sync)"]
        else:
            lines = [f"{len(self.jobs)} of {self.considered} entities to push:"]
            for kind, n in self.counts().items():
                lines.append(f"  {kind:<10} {n['create']:>7} new {n['update']:>7} changed")
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


def diff(targets: Iterable[Target], pushed: Mapping[tuple[str, str], str | None]) -> Plan:
    """The targets whose hash differs from the last pushed one, in phase order."""
    every = list(targets)
    jobs = tuple(t for t in every if pushed.get(t.ident) != t.hash)
    new = frozenset(t.ident for t in jobs if pushed.get(t.ident) is None)
    return Plan(jobs=jobs, considered=len(every), new=new, warnings=warnings_of(jobs))
