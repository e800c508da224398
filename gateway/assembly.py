"""Which components make up the gateway process, chosen from the settings."""

from __future__ import annotations

from gateway.agent.component import AgentComponent
from gateway.component import Component
from gateway.config import Settings
from gateway.nsi_proxy import NsiSoapProxy
from gateway.nso import NsoSimulatorComponent, uses_simulator
from gateway.operations.component import OperationsComponent
from gateway.requester.component import RequesterComponent
from gateway.state import DatabaseComponent, OutboxComponent, open_state


def build_components(settings: Settings) -> list[Component]:
    """The components ``nsgw serve`` runs, in start order (stopped in reverse)."""
    db, outbox = open_state(settings)
    components: list[Component] = [DatabaseComponent(db)]
    # NSO: no nso_url configured -> the embedded simulator stands in for NSO.
    if uses_simulator(settings):
        components.append(NsoSimulatorComponent(settings))
    # Parts that deliver through the outbox register their channels here,
    # before the outbox starts.
    components.append(NsiSoapProxy(settings, db, outbox))
    operations = OperationsComponent(settings, db, outbox)
    components.append(operations)
    components.append(AgentComponent(settings, db, outbox))
    # NSI requester: nsgw.v1.Connections at any NSI provider, ours included.
    components.append(RequesterComponent(settings, db, operations))
    components.append(OutboxComponent(outbox))
    return components
