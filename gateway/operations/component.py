"""The orchestrator API as a gateway component: operations engine, servicer, access control."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import grpc
from aiohttp import web

from gateway.access.audit import AuditLog
from gateway.access.interceptor import AccessInterceptor, check_exposure
from gateway.access.tokens import TokenVerifier
from gateway.config import Settings
from gateway.db import Database
from gateway.logs import get_logger
from gateway.operations import callbacks
from gateway.operations.engine import OperationEngine
from gateway.operations.grpc_service import OperationsServicer
from gateway.operations.starter import OperationStarter
from gateway.outbox import Outbox
from nsgw_proto.nsgw.v1 import operations_pb2, operations_pb2_grpc

PURGE_INTERVAL_SECONDS = 3600.0
log = get_logger(__name__)


class OperationsComponent:
    """Serves ``nsgw.v1.Operations``.

    Other parts register their operation kinds on ``engine`` and start
    operations from their servicers with ``starter``.
    """

    name = "operations"

    def __init__(self, settings: Settings, db: Database, outbox: Outbox) -> None:
        check_exposure(settings)
        self.sender = callbacks.CallbackSender(settings.operations_callback_timeout)
        callbacks.register(outbox, self.sender, settings.operations_callback_give_up_after)
        self.engine = OperationEngine(db, notifier=callbacks.CallbackNotifier(outbox))
        # What the mutating servicers of nsgw.v1 start their operations with.
        self.starter = OperationStarter(self.engine, settings.operations_callback_hosts)
        self.audit = AuditLog(db)
        self._interceptor = AccessInterceptor(TokenVerifier(settings.api_tokens), self.audit)
        self._retention = timedelta(days=settings.operations_retention_days)
        self._purger: asyncio.Task[None] | None = None

    def add_to_grpc(self, server: grpc.aio.Server) -> list[str]:
        operations_pb2_grpc.add_OperationsServicer_to_server(
            OperationsServicer(self.engine), server
        )
        return [operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name]

    def add_to_http(self, app: web.Application) -> None:
        return None

    def grpc_interceptors(self) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
        return [self._interceptor]

    async def start(self) -> None:
        await self.engine.start()
        self._purger = asyncio.create_task(self._purge_periodically(), name="operations-purge")

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self.engine.stop()
        await self.sender.close()

    async def _purge_periodically(self) -> None:
        while True:
            try:
                await self.engine.purge(self._retention)
            except Exception:
                log.exception("purging ended operations failed; trying again later")
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
