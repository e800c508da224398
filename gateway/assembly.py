"""Which components make up the gateway process, chosen from the settings."""

from __future__ import annotations

from gateway.component import Component
from gateway.config import Settings
from gateway.nso import NsoSimulatorComponent, uses_simulator


def build_components(settings: Settings) -> list[Component]:
    """The components ``nsgw serve`` runs, in start order."""
    components: list[Component] = []
    # NSO: no nso_url configured -> the embedded simulator stands in for NSO.
    if uses_simulator(settings):
        components.append(NsoSimulatorComponent(settings))
    return components
