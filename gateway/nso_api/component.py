"""The NSO part of the orchestrator API as a gateway component.

It builds the gateway's NSO client from the settings, registers the NSO
operation kinds on the operations engine and serves ``nsgw.v1.NsoServices``
and ``nsgw.v1.NsoDevices``.
"""

from __future__ import annotations

import grpc
from aiohttp import web

from adapters.nso_restconf import NsoClient
from gateway.config import Settings
from gateway.nso import nso_client_from_settings, nso_config_from_settings
from gateway.nso_api.device_kinds import device_kinds
from gateway.nso_api.devices import NsoDevicesServicer
from gateway.nso_api.service_kinds import service_kinds
from gateway.nso_api.services import NsoServicesServicer
from gateway.operations.component import OperationsComponent
from nsgw_proto.nsgw.v1 import nso_pb2, nso_pb2_grpc


class NsoApiComponent:
    """Serves the NSO calls; register it after (and with) the OperationsComponent."""

    name = "nso-api"

    def __init__(self, settings: Settings, operations: OperationsComponent) -> None:
        nso_config_from_settings(settings)  # refuse bad NSO settings at start-up
        self._settings = settings
        self._client: NsoClient | None = None
        self._starter = operations.starter
        for kind in [*service_kinds(self.client), *device_kinds(self.client)]:
            operations.engine.register(kind)

    def client(self) -> NsoClient:
        """The gateway's NSO client (made on first use, closed when the component stops)."""
        if self._client is None:
            self._client = nso_client_from_settings(self._settings)
        return self._client

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        nso_pb2_grpc.add_NsoServicesServicer_to_server(
            NsoServicesServicer(self._starter, self.client), server
        )
        nso_pb2_grpc.add_NsoDevicesServicer_to_server(
            NsoDevicesServicer(self._starter, self.client), server
        )
        services = nso_pb2.DESCRIPTOR.services_by_name
        return [services["NsoServices"].full_name, services["NsoDevices"].full_name]

    def add_to_http(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
