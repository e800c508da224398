"""The NSO calls are part of every gateway, and stop after the engine that runs them."""

from __future__ import annotations

from pathlib import Path

from gateway.assembly import build_components
from gateway.nso_api.component import NsoApiComponent
from gateway.operations.component import OperationsComponent
from tests.gateway.nso_api.harness import settings_for


def test_the_nso_kinds_are_registered_and_the_client_outlives_the_engine(tmp_path: Path) -> None:
    components = build_components(settings_for(tmp_path, "http://127.0.0.1:9"))
    names = [c.name for c in components]
    assert names.index("nso-api") < names.index("operations")  # stopped in reverse order
    operations = next(c for c in components if isinstance(c, OperationsComponent))
    assert {"nso.ApplyService", "devices.CheckSync", "devices.LiveStatusExec"} <= set(
        operations.engine.kinds
    )
    assert any(isinstance(c, NsoApiComponent) for c in components)
