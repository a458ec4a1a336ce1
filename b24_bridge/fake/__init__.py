"""A faithful fake Bitrix24 portal: one pure core (``FakePortal``) and two adapters (HTTP, in-process).

Shipped with the package (like httpx's ``MockTransport``) so integrators can test against it.
"""

from b24_bridge.fake.events import Delivery, DeliveryConfig
from b24_bridge.fake.faults import Fault, FaultPlan, FaultRule
from b24_bridge.fake.portal import FakePortal, PortalConfig, Reply, Stats
from b24_bridge.fake.transport import InProcessTokenEndpoint, InProcessTransport
from b24_bridge.fake.virtual_time import VirtualTimeLoop, run_virtual

__all__ = [
    "Delivery",
    "DeliveryConfig",
    "FakePortal",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "InProcessTokenEndpoint",
    "InProcessTransport",
    "PortalConfig",
    "Reply",
    "Stats",
    "VirtualTimeLoop",
    "run_virtual",
]
