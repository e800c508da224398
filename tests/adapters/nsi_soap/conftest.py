"""Fixtures of the NSI SOAP adapter tests."""

from __future__ import annotations

import pytest

from tests.adapters.nsi_soap.schemas import NsiSchemas, schema_directory


@pytest.fixture(scope="session")
def nsi_schemas() -> NsiSchemas:
    """The official NSI schemas, compiled once per session."""
    return NsiSchemas(schema_directory())
