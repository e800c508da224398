"""Which components make up the gateway process, chosen from the settings."""

from __future__ import annotations

from gateway.component import Component
from gateway.config import Settings


def build_components(settings: Settings) -> list[Component]:
    """The components ``nsgw serve`` runs, in start order."""
    del settings  # every component is selected by its settings; none exist yet
    return []
