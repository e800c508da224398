"""Which components make up the gateway process, chosen from the settings."""

from __future__ import annotations

from gateway.agent.component import AgentComponent
from gateway.component import Component
from gateway.config import Settings
from gateway.state import DatabaseComponent, OutboxComponent, open_state


def build_components(settings: Settings) -> list[Component]:
    """The components ``nsgw serve`` runs, in start order (stopped in reverse)."""
    db, outbox = open_state(settings)
    components: list[Component] = [DatabaseComponent(db)]
    # Parts that deliver through the outbox register their channels here,
    # before the outbox starts.
    components.append(AgentComponent(settings, db, outbox))
    components.append(OutboxComponent(outbox))
    return components
