"""The NSA discovery and NML topology documents, validated against the official schemas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import xmlschema
from aiohttp import web
from lxml import etree

from gateway.agent.component import load_ports
from gateway.agent.documents import Documents, DocumentSettings, topology_document
from gateway.agent.domain.topology import make_port
from gateway.db import Database
from tests.conftest import NSI_SCHEMAS
from tests.gateway.agent.conftest import DEFAULT_PORTS, NET, NSA

SETTINGS = DocumentSettings(
    nsa_id=NSA,
    network_id=NET,
    name="nsgw test",
    public_url="http://127.0.0.1:8080",
    provider_url="http://127.0.0.1:8080/nsi/v2/provider",
    label_swapping=False,
)
NML = "{http://schemas.ogf.org/nml/2013/05/base#}"


def schemas() -> Path:
    """The official schemas: beside the checkout, or beside an ancestor (worktrees)."""
    if NSI_SCHEMAS.is_dir():
        return NSI_SCHEMAS
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "nsi-schemas"
        if candidate.is_dir():
            return candidate
    pytest.fail(f"the NSI schemas are not at {NSI_SCHEMAS}")


@pytest.fixture(scope="module")
def discovery_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(schemas() / "discovery" / "ogf_nsi_discovery_nsa_v1_0.xsd"))


@pytest.fixture(scope="module")
def topology_schema() -> xmlschema.XMLSchema:
    base = schemas() / "topology"
    return xmlschema.XMLSchema(
        [
            str(base / "nmlbase.xsd"),
            str(base / "nml-ethernet.xsd"),
            str(schemas() / "ogf_nsi_services_definition_v2_0.xsd"),
        ]
    )


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def served(sqlite_db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    clock = Clock()
    app = web.Application()
    Documents(sqlite_db, SETTINGS, clock=clock).add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client, clock
    await runner.cleanup()


async def test_discovery_document_is_valid_and_names_the_interfaces(
    served: tuple[httpx.AsyncClient, Clock], discovery_schema: xmlschema.XMLSchema
) -> None:
    client, _ = served
    response = await client.get("/nsi/discovery")
    assert response.status_code == 200
    discovery_schema.validate(response.content)
    doc = etree.fromstring(response.content)
    assert doc.get("id") == NSA
    assert doc.findtext("networkId") == f"urn:ogf:network:{NET}"
    types = {i.findtext("type"): i.findtext("href") for i in doc.findall("interface")}
    assert str(types["application/vnd.ogf.nsi.topology.v2+xml"]).endswith("/nsi/topology")
    assert str(types["application/vnd.ogf.nsi.cs.v2.provider+soap"]).endswith("/nsi/v2/provider")
    feature = doc.find("feature")
    assert feature is not None
    assert feature.get("type") == "vnd.ogf.nsi.cs.v2.role.uPA"


async def test_topology_document_is_valid_and_lists_enabled_stps(
    served: tuple[httpx.AsyncClient, Clock], topology_schema: xmlschema.XMLSchema
) -> None:
    client, _ = served
    response = await client.get("/nsi/topology")
    assert response.status_code == 200
    topology_schema.validate(response.content)
    doc = etree.fromstring(response.content)
    ports = [p.get("id") for p in doc.findall(f"{NML}BidirectionalPort")]
    enabled = [p.id for p in DEFAULT_PORTS if p.enabled]
    assert ports == [f"urn:ogf:network:{NET}:{p}" for p in enabled]
    labels = doc.findall(f".//{NML}PortGroup/{NML}LabelGroup")
    assert labels[0].text == "100-109"
    service = doc.find(f".//{NML}SwitchingService")
    assert service is not None
    assert service.get("labelSwapping") == "false"


def test_aliases_and_capacities_are_in_the_topology(topology_schema: xmlschema.XMLSchema) -> None:
    port = make_port(
        "p1", port="Gi0/1", vlans="10-20", capacity=10000, alias="urn:ogf:network:peer:2025:x"
    )
    body = topology_document(SETTINGS, [port], datetime(2030, 1, 1, tzinfo=UTC))
    topology_schema.validate(body)
    doc = etree.fromstring(body)
    alias = doc.find(f".//{NML}Relation[@type='{NML[1:-1]}isAlias']/{NML}PortGroup")
    assert alias is not None
    assert alias.get("id") in ("urn:ogf:network:peer:2025:x-out", "urn:ogf:network:peer:2025:x-in")
    capacity = doc.find(".//{http://schemas.ogf.org/nml/2012/10/ethernet}capacity")
    assert capacity is not None
    assert capacity.text == str(10000 * 10**6)


async def test_if_modified_since_until_the_stps_change(
    served: tuple[httpx.AsyncClient, Clock], sqlite_db: Database
) -> None:
    client, clock = served
    first = await client.get("/nsi/topology")
    stamp = first.headers["Last-Modified"]
    again = await client.get("/nsi/discovery", headers={"If-Modified-Since": stamp})
    assert again.status_code == 304
    clock.now += timedelta(hours=1)
    await load_ports(sqlite_db, [make_port("new", port="Gi0/9", vlans="5", capacity=10)])
    changed = await client.get("/nsi/topology", headers={"If-Modified-Since": stamp})
    assert changed.status_code == 200
    assert b":new" in changed.content
    assert changed.headers["Last-Modified"] != stamp
