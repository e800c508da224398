"""The NSI requester as a gateway component.

Adds the requester SOAP endpoint (callbacks) to the HTTP server and
``nsgw.v1.Connections`` to the gRPC server, registers the connection
operation kinds on the operations engine, and reconciles every open
connection with its provider when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from aiohttp import web

from adapters.nsi_soap.requester_endpoint import (
    RequesterEndpoint,
    RequesterEndpointConfig,
    add_route,
)
from adapters.nsi_soap.security import PeerPolicy
from adapters.nsi_soap.xmlparse import XmlLimits
from gateway.config import Settings
from gateway.connections_api.grpc_service import ConnectionsServicer
from gateway.connections_api.kinds import ConnectionKinds
from gateway.db import Database
from gateway.logs import get_logger
from gateway.operations.component import OperationsComponent
from gateway.requester.peers import PeerRegistry
from gateway.requester.service import RequesterService
from nsgw_proto.nsgw.v1 import connections_pb2, connections_pb2_grpc

log = get_logger(__name__)


def callback_policy(settings: Settings) -> PeerPolicy:
    """Who may send callbacks: with client CAs configured, a verified certificate (or the
    trusted ingress header); each peer's ``callback_dn`` is checked by the service."""
    return PeerPolicy(
        dn_header=settings.soap_dn_header,
        require_certificate=settings.soap_tls_ca is not None,
    )


class RequesterComponent:
    name = "nsi-requester"

    def __init__(self, settings: Settings, db: Database, operations: OperationsComponent) -> None:
        self._settings = settings
        self._db = db
        self.peers = PeerRegistry(settings)
        self.service = RequesterService(db, self.peers)
        self.service.set_reply_to(self.peers.reply_to(settings.http_port))
        self._operations = operations
        ConnectionKinds(self.service).register(operations.engine)
        self.endpoint = RequesterEndpoint(
            self.service,
            RequesterEndpointConfig(
                requester_nsa=self.peers.own_nsa,
                limits=XmlLimits(settings.soap_max_body_bytes, settings.soap_max_depth),
            ),
            callback_policy(settings),
            on_refusal=self._refused,
        )
        self._reconciler: asyncio.Task[None] | None = None

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        connections_pb2_grpc.add_ConnectionsServicer_to_server(
            ConnectionsServicer(self._db, self.service, self._operations.starter), server
        )
        return [connections_pb2.DESCRIPTOR.services_by_name["Connections"].full_name]

    def add_to_http(self, app: web.Application) -> None:
        add_route(app, self._settings.soap_requester_path, self.endpoint)

    def on_http_bound(self, port: int) -> None:
        self.peers.bind_http_port(port)
        self.service.set_reply_to(self.peers.reply_to(port))

    async def start(self) -> None:
        if self._settings.requester_reconcile_on_start:
            # The connections open when we start: what a callback may have missed.
            connections = await self.service.open_connections()
            self._reconciler = asyncio.create_task(
                self.service.reconcile_all(connections), name="requester-reconcile"
            )
        log.info(
            "NSI requester ready",
            path=self._settings.soap_requester_path,
            requester_nsa=self.peers.own_nsa,
            peers=[peer.nsa_id for peer in self.peers.all()],
        )

    async def stop(self) -> None:
        if self._reconciler is not None:
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
        await self.service.close()

    def _refused(self, error_id: str, detail: str) -> None:
        log.info("NSI callback refused", error_id=error_id, detail=detail)
