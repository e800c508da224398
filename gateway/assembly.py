"""Which components make up the gateway process, chosen from the settings."""

from __future__ import annotations

from gateway.agent.component import AgentComponent
from gateway.agent.in_process import InProcessProvider
from gateway.agent.service import CHANNEL as AGENT_CALLBACKS
from gateway.component import Component
from gateway.config import Settings
from gateway.nsi_proxy import NsiSoapProxy
from gateway.nso import NsoSimulatorComponent, uses_simulator
from gateway.nso_api.component import NsoApiComponent
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
    proxy = NsiSoapProxy(settings, db, outbox)
    components.append(proxy)
    operations = OperationsComponent(settings, db, outbox)
    # The NSO calls of the orchestrator API (NsoServices, NsoDevices) on the operations
    # engine; listed first so it stops (closing the NSO client) after the engine.
    components.append(NsoApiComponent(settings, operations))
    components.append(operations)
    agent = AgentComponent(settings, db, outbox)
    components.append(agent)
    join_nsi_halves(settings, proxy, agent)
    # NSI requester: nsgw.v1.Connections at any NSI provider, ours included.
    components.append(RequesterComponent(settings, db, operations))
    components.append(OutboxComponent(outbox))
    return components


# The name of the SOAP proxy of this process as the agent's requester.
IN_PROCESS = "in-process"


def join_nsi_halves(settings: Settings, proxy: NsiSoapProxy, agent: AgentComponent) -> None:
    """Unless told to use other ones, the proxy and the agent of this process call each other
    directly: no gRPC round trip on loopback, and one outbox message per callback."""
    if not settings.soap_provider_target:
        proxy.call_in_process(InProcessProvider(agent.servicer))
    if not settings.agent_requester_target:
        agent.call_back_in_process(IN_PROCESS, proxy)
        # the agent's callbacks are this proxy's SOAP callbacks, whatever peer they are for
        proxy.count_callbacks_of(AGENT_CALLBACKS)
