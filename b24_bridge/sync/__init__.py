"""Goods one way: the 1C catalog in the store to the Bitrix24 catalog, only what changed.

Pure core: :mod:`~b24_bridge.sync.mapping` (the ``[b24]`` settings), :mod:`~b24_bridge.sync.targets`
(store snapshot -> portal entities with content hashes), :mod:`~b24_bridge.sync.plan` (the diff against
what was last pushed), :mod:`~b24_bridge.sync.commands` (portal fields). I/O shells:
:mod:`~b24_bridge.sync.store_reader`, :mod:`~b24_bridge.sync.pusher` (drains the outbox of
``exchange_server.outbox`` in batches of 50), :mod:`~b24_bridge.sync.service` (plan + enqueue, the
background worker) and :mod:`~b24_bridge.sync.cli` (``cml-exchange b24 plan|push``).
"""

from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.plan import Plan, diff
from b24_bridge.sync.snapshot import CatalogSnapshot
from b24_bridge.sync.targets import Target, build_targets

__all__ = ["CatalogSnapshot", "MappingConfig", "Plan", "Target", "build_targets", "diff"]
