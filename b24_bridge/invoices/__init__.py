"""Invoices both ways between Bitrix24 and 1C, through a status-mapping table.

Public API::

    from b24_bridge.invoices import InvoiceSync, StatusMap, setup_invoices
    setup_invoices(app)                       # routes + the sync service when CML_B24_WEBHOOK_URL is set
    await sync.poll_once()                    # the safety-net poll (runs every CML_B24_POLL_SECONDS)
    remarks = await sync.after_import(pkg)    # apply 1C's uploaded orders to their invoices

Pure parts: :mod:`.statusmap` (table, validation, diff), :mod:`.mapping` (invoice <-> Документ).
See docs/invoices.md.
"""

from b24_bridge.invoices.mapping import (
    InvoiceSnapshot,
    OneCFacts,
    UpdatePlan,
    plan_update,
    read_facts,
    to_document,
)
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.statusmap import (
    PortalStage,
    Problem,
    StatusMap,
    StatusRow,
    StatusRules,
    check,
    default_map,
)

__all__ = [
    "InvoiceSettings",
    "InvoiceSnapshot",
    "OneCFacts",
    "PortalStage",
    "Problem",
    "StatusMap",
    "StatusRow",
    "StatusRules",
    "UpdatePlan",
    "check",
    "default_map",
    "plan_update",
    "read_facts",
    "to_document",
]
