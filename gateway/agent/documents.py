"""Documents for the NSI Document Distribution Service, built from the topology store.

- ``GET /nsi/discovery``: the NSA description (namespace
  ``http://schemas.ogf.org/nsi/2014/02/discovery/nsa``);
- ``GET /nsi/topology``: the NML topology of this network, one
  BidirectionalPort per enabled STP with inbound/outbound PortGroups carrying
  the VLAN LabelGroup, isAlias relations to the peer's port groups, capacity
  from the ethernet extension, and the EVTS switching service.

Both carry ``Last-Modified`` (the time the set of STPs last changed, as seen by
this process) and answer ``304`` to a matching ``If-Modified-Since``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from lxml import etree

from gateway import __version__
from gateway.agent import store
from gateway.agent.domain.reservation import EVTS_SERVICE_TYPE
from gateway.agent.domain.stp import URN_PREFIX
from gateway.agent.domain.topology import Port
from gateway.db import Database, utcnow

NSA_NS = "http://schemas.ogf.org/nsi/2014/02/discovery/nsa"
NML_NS = "http://schemas.ogf.org/nml/2013/05/base#"
ETH_NS = "http://schemas.ogf.org/nml/2012/10/ethernet"
SD_NS = "http://schemas.ogf.org/nsi/2013/12/services/definition"
VLAN_LABEL = f"{ETH_NS}#vlan"
TOPOLOGY_TYPE = "application/vnd.ogf.nsi.topology.v2+xml"
PROVIDER_TYPE = "application/vnd.ogf.nsi.cs.v2.provider+soap"
UPA_FEATURE = "vnd.ogf.nsi.cs.v2.role.uPA"
XML_TYPE = "application/xml"


@dataclass(frozen=True)
class DocumentSettings:
    nsa_id: str
    network_id: str
    name: str
    public_url: str  # base URL of this gateway's HTTP endpoints
    provider_url: str  # the NSI CS SOAP provider endpoint
    label_swapping: bool


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def network_urn(network_id: str) -> str:
    return f"{URN_PREFIX}{network_id}"


def discovery_document(cfg: DocumentSettings, version: datetime, started: datetime) -> bytes:
    nsa = etree.Element(
        f"{{{NSA_NS}}}nsa", nsmap={"nsa": NSA_NS}, id=cfg.nsa_id, version=_iso(version)
    )
    etree.SubElement(nsa, "name").text = cfg.name
    etree.SubElement(nsa, "softwareVersion").text = f"nsgw {__version__}"
    etree.SubElement(nsa, "startTime").text = _iso(started)
    etree.SubElement(nsa, "networkId").text = network_urn(cfg.network_id)
    for kind, href in (
        (TOPOLOGY_TYPE, f"{cfg.public_url}/nsi/topology"),
        (PROVIDER_TYPE, cfg.provider_url),
    ):
        interface = etree.SubElement(nsa, "interface")
        etree.SubElement(interface, "type").text = kind
        etree.SubElement(interface, "href").text = href
    etree.SubElement(nsa, "feature", type=UPA_FEATURE)
    return bytes(etree.tostring(nsa, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _nml(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NML_NS}}}{tag}", attrib=attrs)


def topology_document(cfg: DocumentSettings, ports: list[Port], version: datetime) -> bytes:
    """The NML topology; element order follows the schema (strict consumers rely on it)."""
    base = network_urn(cfg.network_id)
    topo = etree.Element(
        f"{{{NML_NS}}}Topology",
        nsmap={"nml": NML_NS, "eth": ETH_NS, "sd": SD_NS},
        id=base,
        version=_iso(version),
    )
    _nml(topo, "name").text = cfg.network_id
    live = [p for p in ports if p.enabled]
    for port in live:
        bidi = _nml(topo, "BidirectionalPort", id=f"{base}:{port.id}")
        _nml(bidi, "name").text = port.description or port.id
        _nml(bidi, "PortGroup", id=f"{base}:{port.id}-in")
        _nml(bidi, "PortGroup", id=f"{base}:{port.id}-out")
    service = _nml(_nml(topo, "Relation", type=f"{NML_NS}hasService"), "SwitchingService")
    service.set("id", f"{base}:switch:EVTS.A-GOLE")
    service.set("encoding", ETH_NS)
    service.set("labelSwapping", "true" if cfg.label_swapping else "false")
    service.set("labelType", VLAN_LABEL)
    definition = etree.SubElement(service, f"{{{SD_NS}}}serviceDefinition")
    definition.set("id", f"{base}:sd:EVTS.A-GOLE")
    etree.SubElement(definition, "name").text = "GLIF Automated GOLE Ethernet VLAN Transfer Service"
    etree.SubElement(definition, "serviceType").text = EVTS_SERVICE_TYPE
    for relation, suffix, peer_suffix in (
        ("hasInboundPort", "in", "out"),
        ("hasOutboundPort", "out", "in"),
    ):
        if not live:
            break
        rel = _nml(topo, "Relation", type=f"{NML_NS}{relation}")
        for port in live:
            group = _nml(rel, "PortGroup", id=f"{base}:{port.id}-{suffix}", encoding=ETH_NS)
            _nml(group, "LabelGroup", labeltype=VLAN_LABEL).text = str(port.vlans)
            if port.alias:
                alias = _nml(group, "Relation", type=f"{NML_NS}isAlias")
                _nml(alias, "PortGroup", id=f"{port.alias}-{peer_suffix}")
            for tag in ("capacity", "maximumReservableCapacity"):
                # NML ethernet capacities are in bit/s; STP capacity is in Mbit/s.
                etree.SubElement(group, f"{{{ETH_NS}}}{tag}").text = str(port.capacity * 10**6)
            etree.SubElement(group, f"{{{ETH_NS}}}minimumReservableCapacity").text = "1000000"
            etree.SubElement(group, f"{{{ETH_NS}}}granularity").text = "1000000"
    return bytes(etree.tostring(topo, xml_declaration=True, encoding="UTF-8", pretty_print=True))


class Documents:
    """The HTTP handlers; the version moves when the set of STPs changes."""

    def __init__(
        self, db: Database, cfg: DocumentSettings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db, self._cfg, self._clock = db, cfg, clock
        self._started = clock().replace(microsecond=0)
        self._digest = ""
        self._version = self._started

    async def _ports(self) -> tuple[list[Port], datetime]:
        async with self._db.sessions() as session:
            ports = await session.run_sync(store.list_ports)
        digest = hashlib.sha256(repr(ports).encode()).hexdigest()
        if digest != self._digest:
            if self._digest:
                self._version = max(self._version, self._clock().replace(microsecond=0))
            self._digest = digest
        return ports, self._version

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/nsi/discovery", self.discovery)
        app.router.add_get("/nsi/topology", self.topology)

    async def discovery(self, request: web.Request) -> web.StreamResponse:
        _, version = await self._ports()
        return _respond(
            request, version, lambda: discovery_document(self._cfg, version, self._started)
        )

    async def topology(self, request: web.Request) -> web.StreamResponse:
        ports, version = await self._ports()
        return _respond(request, version, lambda: topology_document(self._cfg, ports, version))


def _respond(
    request: web.Request, version: datetime, body: Callable[[], bytes]
) -> web.StreamResponse:
    since = request.if_modified_since
    if since is not None and version <= since:
        return web.Response(status=304, headers={"Last-Modified": _http_date(version)})
    return web.Response(
        body=body(), content_type=XML_TYPE, headers={"Last-Modified": _http_date(version)}
    )


def _http_date(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
