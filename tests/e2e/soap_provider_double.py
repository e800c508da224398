"""An NSI provider over SOAP, written with lxml and string templates from the schemas.

Independent of nsgw's codec: it reads requests with XPath and writes replies
and callbacks as literal XML.  Every request it receives is validated against
the official XSDs (``invalid`` collects problems), and so is every message it
sends.  Per operation it can behave normally, answer with a fault, call back
late, call back twice, or never call back; it can also drop callbacks (as if
the requester were down) while still recording them for the queries.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web
from lxml import etree

from tests.adapters.nsi_soap.schemas import NsiSchemas

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
CT = "http://schemas.ogf.org/nsi/2013/12/connection/types"
HEAD = "http://schemas.ogf.org/nsi/2013/12/framework/headers"
P2P = "http://schemas.ogf.org/nsi/2013/12/services/point2point"
NS = {"s": SOAP, "ct": CT, "h": HEAD, "p2p": P2P}
ACTION = "http://schemas.ogf.org/nsi/2013/12/connection/service/"
NSA = "urn:ogf:network:double.example:2025:nsa"

CONFIRMED = {
    "reserve": "reserveConfirmed",
    "reserveCommit": "reserveCommitConfirmed",
    "reserveAbort": "reserveAbortConfirmed",
    "provision": "provisionConfirmed",
    "release": "releaseConfirmed",
    "terminate": "terminateConfirmed",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _envelope(header: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<S:Envelope xmlns:S="{SOAP}" xmlns:h="{HEAD}" xmlns:ct="{CT}" xmlns:p2p="{P2P}">'
        f"<S:Header>{header}</S:Header><S:Body>{body}</S:Body></S:Envelope>"
    ).encode()


def _header(correlation_id: str, requester: str) -> str:
    return (
        "<h:nsiHeader><protocolVersion>application/vnd.ogf.nsi.cs.v2.requester+soap"
        f"</protocolVersion><correlationId>{correlation_id}</correlationId>"
        f"<requesterNSA>{requester}</requesterNSA><providerNSA>{NSA}</providerNSA></h:nsiHeader>"
    )


def _fault(error_id: str, text: str, variable: str = "", sync: bool = False) -> bytes:
    variables = (
        f'<variables><variable type="stp"><value>{variable}</value></variable></variables>'
        if variable
        else ""
    )
    exception = f"<nsaId>{NSA}</nsaId><errorId>{error_id}</errorId><text>{text}</text>{variables}"
    detail = (
        f"<ct:error><serviceException>{exception}</serviceException></ct:error>"
        if sync
        else f"<ct:serviceException>{exception}</ct:serviceException>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP}" xmlns:ct="{CT}">'
        f"<S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>{text}</faultstring>"
        f"<detail>{detail}</detail></S:Fault></S:Body></S:Envelope>"
    ).encode()


@dataclass
class Held:
    connection_id: str
    requester: str
    reply_to: str
    source: str
    dest: str
    capacity: int
    version: int = 1
    reservation: str = "ReserveStart"
    provision: str = "Released"
    lifecycle: str = "Created"
    active: bool = False
    results: list[tuple[int, str, str]] = field(default_factory=list)
    notifications: list[tuple[int, str]] = field(default_factory=list)

    def states(self) -> str:
        return (
            f"<connectionStates><reservationState>{self.reservation}</reservationState>"
            f"<provisionState>{self.provision}</provisionState>"
            f"<lifecycleState>{self.lifecycle}</lifecycleState>"
            f"<dataPlaneStatus><active>{str(self.active).lower()}</active>"
            f"<version>{self.version}</version><versionConsistent>true</versionConsistent>"
            "</dataPlaneStatus></connectionStates>"
        )

    def p2ps(self) -> str:
        return (
            f"<p2p:p2ps><capacity>{self.capacity}</capacity>"
            "<directionality>Bidirectional</directionality><symmetricPath>true</symmetricPath>"
            f"<sourceSTP>{self.source}</sourceSTP><destSTP>{self.dest}</destSTP></p2p:p2ps>"
        )


@dataclass
class SoapProviderDouble:
    schemas: NsiSchemas
    # operation -> "normal" | "fault" | "late" | "duplicate" | "silent"
    behaviour: dict[str, str] = field(default_factory=dict)
    late_delay: float = 1.5
    drop_callbacks: bool = False
    held: dict[str, Held] = field(default_factory=dict)
    received: list[tuple[str, str]] = field(default_factory=list)  # (operation, correlationId)
    invalid: list[str] = field(default_factory=list)
    callback_answers: list[int] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _check(self, data: bytes, what: str) -> None:
        try:
            self.schemas.check(data)
        except AssertionError as exc:
            self.invalid.append(f"{what}: {exc}")

    async def handle(self, request: web.Request) -> web.Response:
        data = await request.read()
        self._check(data, "request")
        root = etree.fromstring(data)
        body = root.find(f"{{{SOAP}}}Body")[0]  # type: ignore[index]
        operation = etree.QName(body).localname
        if request.headers.get("SOAPAction", "").strip('"') != ACTION + operation:
            self.invalid.append(f"SOAPAction of {operation}: {request.headers.get('SOAPAction')}")
        header = root.find(f"{{{SOAP}}}Header/{{{HEAD}}}nsiHeader")
        assert header is not None
        correlation_id = header.findtext("correlationId") or ""
        requester = header.findtext("requesterNSA") or ""
        reply_to = header.findtext("replyTo") or ""
        if header.findtext("protocolVersion") != "application/vnd.ogf.nsi.cs.v2.provider+soap":
            self.invalid.append(f"protocolVersion of {operation}")
        if header.findtext("providerNSA") != NSA:
            self.invalid.append(f"providerNSA of {operation}")
        self.received.append((operation, correlation_id))
        reply = self._answer(operation, body, correlation_id, requester, reply_to)
        self._check(reply, f"reply to {operation}")
        status = 500 if b"Fault>" in reply else 200
        return web.Response(body=reply, status=status, content_type="text/xml", charset="utf-8")

    def _answer(
        self,
        operation: str,
        body: etree._Element,
        correlation_id: str,
        requester: str,
        reply_to: str,
    ) -> bytes:
        sync = operation.endswith("Sync")
        if self.behaviour.get(operation) == "fault":
            stp = body.findtext(".//sourceSTP") or ""
            return _fault("00701", "UNKNOWN_STP: no such STP", stp, sync=sync)
        connection_id = body.findtext("connectionId") or ""
        if sync:
            return self._sync(operation, connection_id, correlation_id, requester)
        held = self.held.get(connection_id)
        if operation == "reserve" and held is None:
            if connection_id:
                return _fault("00203", "RESERVATION_NONEXISTENT: unknown connection")
            connection_id = f"double-{next(self._ids)}"
            held = Held(
                connection_id,
                requester,
                reply_to,
                body.findtext(".//sourceSTP") or "",
                body.findtext(".//destSTP") or "",
                int(body.findtext(".//capacity") or 0),
            )
            self.held[connection_id] = held
        elif held is None:
            return _fault("00203", "RESERVATION_NONEXISTENT: unknown connection")
        else:
            held.reply_to = reply_to
            if operation == "reserve":
                capacity = body.findtext(".//capacity") or body.findtext(f".//{{{P2P}}}capacity")
                held.capacity = int(capacity or held.capacity)
                held.version += 1
        self._confirm(held, operation, correlation_id)
        reply_header = _header(correlation_id, requester)
        if operation == "reserve":
            return _envelope(
                reply_header,
                f"<ct:reserveResponse><connectionId>{connection_id}</connectionId>"
                "</ct:reserveResponse>",
            )
        return _envelope(reply_header, "<ct:acknowledgment/>")

    def _confirm(self, held: Held, operation: str, correlation_id: str) -> None:
        name = CONFIRMED[operation]
        if operation == "reserve":
            held.reservation = "ReserveHeld"
            content = (
                f"<connectionId>{held.connection_id}</connectionId>"
                f'<criteria version="{held.version}"><schedule/><serviceType>'
                "http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE</serviceType>"
                f"{held.p2ps()}</criteria>"
            )
        else:
            content = f"<connectionId>{held.connection_id}</connectionId>"
            if operation in ("reserveCommit", "reserveAbort"):
                held.reservation = "ReserveStart"
            elif operation == "provision":
                held.provision, held.active = "Provisioned", True
            elif operation == "release":
                held.provision, held.active = "Released", False
            elif operation == "terminate":
                held.lifecycle, held.active = "Terminated", False
        result_body = f"<ct:{name}>{content}</ct:{name}>"
        behaviour = self.behaviour.get(operation, "normal")
        if behaviour == "silent":  # never confirmed, not even in queryResult
            return
        held.results.append((len(held.results) + 1, correlation_id, result_body))
        message = _envelope(_header(correlation_id, held.requester), result_body)
        delay = self.late_delay if behaviour == "late" else 0.05
        copies = 2 if behaviour == "duplicate" else 1
        self._spawn(self._deliver(held.reply_to, name, message, delay, copies))
        if operation in ("provision", "release"):
            self.notify(held, "dataPlaneStateChange", self._data_plane(held))

    def _data_plane(self, held: Held) -> str:
        number = len(held.notifications) + 1
        return (
            f"<ct:dataPlaneStateChange><connectionId>{held.connection_id}</connectionId>"
            f"<notificationId>{number}</notificationId><timeStamp>{_now()}</timeStamp>"
            f"<dataPlaneStatus><active>{str(held.active).lower()}</active>"
            f"<version>{held.version}</version><versionConsistent>true</versionConsistent>"
            "</dataPlaneStatus></ct:dataPlaneStateChange>"
        )

    def notify(self, held: Held, name: str, body: str) -> None:
        """Record a notification and send it (unless callbacks are dropped)."""
        held.notifications.append((len(held.notifications) + 1, body))
        message = _envelope(_header(f"urn:uuid:{uuid.uuid4()}", held.requester), body)
        self._spawn(self._deliver(held.reply_to, name, message, 0.1, 1))

    def reserve_timeout(self, connection_id: str) -> None:
        held = self.held[connection_id]
        held.reservation = "ReserveTimeout"
        number = len(held.notifications) + 1
        self.notify(
            held,
            "reserveTimeout",
            f"<ct:reserveTimeout><connectionId>{held.connection_id}</connectionId>"
            f"<notificationId>{number}</notificationId><timeStamp>{_now()}</timeStamp>"
            f"<timeoutValue>120</timeoutValue><originatingConnectionId>{held.connection_id}"
            f"</originatingConnectionId><originatingNSA>{NSA}</originatingNSA></ct:reserveTimeout>",
        )

    def error_event(self, connection_id: str, event: str) -> None:
        held = self.held[connection_id]
        if event == "forcedEnd":
            held.lifecycle, held.active = "Failed", False
        number = len(held.notifications) + 1
        self.notify(
            held,
            "errorEvent",
            f"<ct:errorEvent><connectionId>{connection_id}</connectionId>"
            f"<notificationId>{number}</notificationId><timeStamp>{_now()}</timeStamp>"
            f"<event>{event}</event><originatingConnectionId>{connection_id}"
            f"</originatingConnectionId><originatingNSA>{NSA}</originatingNSA></ct:errorEvent>",
        )

    def message_delivery_timeout(self, connection_id: str, correlation_id: str) -> None:
        held = self.held[connection_id]
        number = len(held.notifications) + 1
        self.notify(
            held,
            "messageDeliveryTimeout",
            f"<ct:messageDeliveryTimeout><connectionId>{connection_id}</connectionId>"
            f"<notificationId>{number}</notificationId><timeStamp>{_now()}</timeStamp>"
            f"<correlationId>{correlation_id}</correlationId></ct:messageDeliveryTimeout>",
        )

    def _sync(
        self, operation: str, connection_id: str, correlation_id: str, requester: str
    ) -> bytes:
        held = self.held.get(connection_id)
        items = ""
        if operation == "querySummarySync" and held is not None:
            items = (
                f"<reservation><connectionId>{held.connection_id}</connectionId>"
                f'<criteria version="{held.version}"><schedule/><serviceType>'
                "http://services.ogf.org/nsi/2013/12/descriptions/EVTS.A-GOLE</serviceType>"
                f"{held.p2ps()}</criteria><requesterNSA>{held.requester}</requesterNSA>"
                f"{held.states()}</reservation>"
            )
        elif operation == "queryResultSync" and held is not None:
            items = "".join(
                f"<result><resultId>{number}</resultId><correlationId>{cid}</correlationId>"
                f"<timeStamp>{_now()}</timeStamp>{body}</result>"
                for number, cid, body in held.results
            )
        elif operation == "queryNotificationSync" and held is not None:
            items = "".join(body for _number, body in held.notifications)
        return _envelope(
            _header(correlation_id, requester),
            f"<ct:{operation}Confirmed>{items}</ct:{operation}Confirmed>",
        )

    async def _deliver(
        self, url: str, name: str, message: bytes, delay: float, copies: int
    ) -> None:
        self._check(message, f"callback {name}")
        await asyncio.sleep(delay)
        if self.drop_callbacks:
            return
        async with httpx.AsyncClient() as client:
            for _ in range(copies):
                try:
                    answer = await client.post(
                        url,
                        content=message,
                        headers={
                            "Content-Type": "text/xml; charset=utf-8",
                            "SOAPAction": f'"{ACTION}{name}"',
                        },
                    )
                    self.callback_answers.append(answer.status_code)
                except httpx.HTTPError:
                    self.callback_answers.append(0)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@asynccontextmanager
async def serve_double(double: SoapProviderDouble) -> AsyncIterator[str]:
    """Serve the double on 127.0.0.1; yields its provider URL."""
    app = web.Application()
    app.router.add_post("/provider", double.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/provider"
    finally:
        for task in list(double._tasks):
            task.cancel()
        await runner.cleanup()
