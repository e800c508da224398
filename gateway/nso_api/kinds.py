"""What the NSO operation kinds share: where their NSO client comes from."""

from __future__ import annotations

from collections.abc import Callable

from adapters.nso_restconf import NsoClient

# Gives the gateway's NSO client (built from the settings when the component starts).
ClientSource = Callable[[], NsoClient]
