"""The NSI SOAP proxy component: callbacks through the real outbox, the whole process."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx
import pytest
from aiohttp import web
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from lxml import etree
from sqlalchemy import Connection, select

from adapters.nsi_soap.header import HeaderExtras
from adapters.nsi_soap.namespaces import soap_action
from adapters.nsi_soap.provider_messages import build_provider_request
from adapters.nsi_soap.requester_service import RememberedRequest
from bench.servers import free_port
from gateway.assembly import build_components
from gateway.config import Settings
from gateway.db import Base, Database
from gateway.nsi_proxy import DatabaseRequestRecords, NsiSoapProxy, RequestRecordRow
from gateway.outbox import Outbox
from gateway.process import Gateway
from nsgw_proto.nsi import connection_provider_pb2_grpc as provider_grpc
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import connection_requester_pb2_grpc as requester_grpc
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.certificates import TestCa, subject
from tests.adapters.nsi_soap.provider_double import RecordingProvider, serve_provider
from tests.adapters.nsi_soap.requests import provider_requests
from tests.adapters.nsi_soap.servers import SoapSink, serve_app


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    await db.migrate()
    yield db
    await db.dispose()


def confirmed(connection_id: str, reply_to: str) -> requester_pb2.GenericConfirmedRequest:
    message = samples.confirmed()
    message.connection_id = connection_id
    message.header.reply_to = reply_to
    message.header.correlation_id = samples.correlation_id()
    return message


async def test_callback_endpoint_down_then_back(sqlite: Database, tmp_path: Path) -> None:
    """Every callback delivered, in order per connection, exactly once."""
    port = free_port()
    reply_to = f"http://127.0.0.1:{port}/requester"
    settings = Settings(state_dir=tmp_path, soap_callback_timeout=2.0)
    outbox = Outbox(sqlite, base_delay=0.05, max_delay=0.2, poll_interval=0.05)
    proxy = NsiSoapProxy(settings, sqlite, outbox)
    server = grpc.aio.server()
    proxy.add_to_grpc(server)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await outbox.start()
    sent: list[tuple[str, str]] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = requester_grpc.ConnectionRequesterStub(channel)
        for round_ in range(5):
            for connection in ("conn-a", "conn-b", "conn-c"):
                message = confirmed(connection, reply_to)
                method = stub.ProvisionConfirmed if round_ % 2 == 0 else stub.ReleaseConfirmed
                ack = await method(message)
                assert not ack.HasField("service_exception")
                sent.append((connection, message.header.correlation_id))
    await asyncio.sleep(0.3)  # attempts fail meanwhile: nobody listens
    assert await outbox.pending("nsi-soap-callback") == 15
    sink = SoapSink()
    async with serve_app(sink.app(), port=port):
        await sink.wait_for(15)
        await asyncio.sleep(0.3)  # nothing more may arrive
    await outbox.stop()
    await server.stop(None)
    await proxy.stop()
    assert len(sink.received) == 15
    arrived: list[tuple[str, str]] = []
    for _, body in sink.received:
        root = etree.fromstring(body)
        body_element = root.find("{*}Body")
        assert body_element is not None
        arrived.append(
            (body_element[0].findtext("connectionId", ""), root.findtext(".//correlationId", ""))
        )
    assert sorted(arrived) == sorted(sent)  # each once
    for connection in ("conn-a", "conn-b", "conn-c"):
        order = [c for k, c in arrived if k == connection]
        assert order == [c for k, c in sent if k == connection]  # in order
    assert await outbox.pending() == 0


async def test_refused_callback_is_recorded_and_counted(sqlite: Database, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    outbox = Outbox(sqlite, base_delay=0.05, max_delay=0.1, poll_interval=0.05)
    proxy = NsiSoapProxy(settings, sqlite, outbox)
    sink = SoapSink(status=404)
    async with serve_app(sink.app()) as base:
        await proxy.requester._queue.put(
            "conn-1", f"{base}/requester", b"<x/>", {"operation": "provisionConfirmed"}
        )
        for _ in range(50):
            await outbox.run_once()
            if not await outbox.pending():
                break
    assert await proxy.callback_counts() == {"refused": 1}
    assert proxy.given_up == 1
    await proxy.stop()


async def test_the_gateway_process_serves_the_proxy(tmp_path: Path) -> None:
    """nsgw with its real assembly: SOAP in, gRPC to a provider, callback out via the outbox."""
    provider = RecordingProvider()
    sink = SoapSink()
    async with serve_provider(provider) as target, serve_app(sink.app()) as base:
        settings = Settings(
            state_dir=tmp_path,
            grpc_port=0,
            http_port=0,
            soap_provider_target=target,
            soap_provider_nsa=samples.PROVIDER_NSA,
        )
        gateway = Gateway(settings, build_components(settings))
        await gateway.start()
        try:
            assert gateway.grpc is not None
            url = f"http://127.0.0.1:{gateway.http.port}"
            request = provider_requests(reply_to=f"{base}/requester")["reserve"]
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{url}/nsi/v2/provider",
                    content=build_provider_request(
                        "reserve", request, HeaderExtras([samples.CONNECTION_TRACE])
                    ),
                    headers={"SOAPAction": soap_action("reserve")},
                )
                assert response.status_code == 200
                assert provider.calls[0][0] == "Reserve"
                confirmed_message = samples.reserve_confirmed()
                confirmed_message.header.CopyFrom(provider.calls[0][1].header)
                async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc.port}") as channel:
                    stub = requester_grpc.ConnectionRequesterStub(channel)
                    await stub.ReserveConfirmed(confirmed_message)
                await sink.wait_for(1)
                # The outbox settles the row just after the receiver answered.
                for _ in range(100):
                    metrics = (await client.get(f"{url}/metrics/nsi-soap")).text
                    if 'nsgw_nsi_soap_callbacks{state="pending"} 0' in metrics:
                        break
                    await asyncio.sleep(0.05)
        finally:
            await gateway.stop()
    assert sink.received[0][0] == soap_action("reserveConfirmed")
    # the connectionTrace the request carried is back on its callback
    assert b"ConnectionTrace" in sink.received[0][1]
    assert 'nsgw_nsi_soap_callbacks{state="pending"} 0' in metrics


async def test_queued_callbacks_survive_a_restart(sqlite: Database, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    sink = SoapSink()
    async with serve_app(sink.app()) as base:
        before = NsiSoapProxy(settings, sqlite, Outbox(sqlite))
        for number in range(3):
            message = confirmed("conn-r", f"{base}/requester")
            message.header.correlation_id = f"urn:uuid:00000000-0000-4000-8000-00000000000{number}"
            await before.requester.ReserveCommitConfirmed(message, None)
        await before.stop()  # the process stops before delivering anything
        assert sink.received == []
        outbox = Outbox(sqlite, poll_interval=0.05)
        after = NsiSoapProxy(settings, sqlite, outbox)
        await outbox.start()
        await sink.wait_for(3)
        await outbox.stop()
        await after.stop()
    correlations = [
        etree.fromstring(body).findtext(".//correlationId") for _, body in sink.received
    ]
    assert correlations == [f"urn:uuid:00000000-0000-4000-8000-00000000000{n}" for n in range(3)]


async def test_the_process_serves_mutual_tls(tmp_path: Path) -> None:
    """soap_tls_* settings make the process's HTTP server HTTPS with client certificates."""
    ca = TestCa(tmp_path)
    server = ca.issue("server", "localhost", server=True)
    peer = ca.issue("peer", "requester-a")
    provider = RecordingProvider()
    async with serve_provider(provider) as target:
        settings = Settings(
            state_dir=tmp_path,
            grpc_port=0,
            http_port=0,
            soap_provider_target=target,
            soap_tls_cert=server.cert,
            soap_tls_key=server.key,
            soap_tls_ca=ca.path,
            soap_allowed_dns=[subject("requester-a")],
        )
        gateway = Gateway(settings, build_components(settings))
        await gateway.start()
        try:
            url = f"https://127.0.0.1:{gateway.http.port}/nsi/v2/provider"
            data = build_provider_request("terminate", provider_requests()["terminate"])
            with_cert = ssl.create_default_context(cafile=str(ca.path))
            with_cert.load_cert_chain(peer.cert, peer.key)
            async with httpx.AsyncClient(verify=with_cert) as client:
                allowed = await client.post(url, content=data)
            no_cert = ssl.create_default_context(cafile=str(ca.path))
            async with httpx.AsyncClient(verify=no_cert) as client:
                refused = await client.post(url, content=data)
        finally:
            await gateway.stop()
    assert allowed.status_code == 200
    assert refused.status_code == 500
    assert b"<errorId>00302</errorId>" in refused.content
    assert [method for method, _ in provider.calls] == ["Terminate"]


async def test_tls_to_the_connection_provider(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    issued = ca.issue("provider", "localhost", server=True)
    provider = RecordingProvider()
    server = grpc.aio.server()
    provider_grpc.add_ConnectionProviderServicer_to_server(provider, server)
    credentials = grpc.ssl_server_credentials([(issued.key.read_bytes(), issued.cert.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    settings = Settings(
        state_dir=tmp_path,
        grpc_port=0,
        http_port=0,
        soap_provider_target=f"localhost:{port}",
        soap_provider_tls_ca=ca.path,
    )
    gateway = Gateway(settings, build_components(settings))
    await gateway.start()
    try:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{gateway.http.port}/nsi/v2/provider",
                content=build_provider_request("release", provider_requests()["release"]),
            )
    finally:
        await gateway.stop()
        await server.stop(None)
    assert response.status_code == 200
    assert [method for method, _ in provider.calls] == ["Release"]


async def test_undeliverable_after_the_configured_time_shows_in_metrics(
    sqlite: Database, tmp_path: Path
) -> None:
    settings = Settings(state_dir=tmp_path, soap_callback_give_up_after=0.3)
    outbox = Outbox(sqlite, base_delay=0.05, max_delay=0.1, poll_interval=0.05)
    proxy = NsiSoapProxy(settings, sqlite, outbox)
    message = confirmed("conn-lost", f"http://127.0.0.1:{free_port()}/requester")
    ack = await proxy.requester.ProvisionConfirmed(message, None)
    assert not ack.HasField("service_exception")
    for _ in range(100):
        await outbox.run_once()
        if not await outbox.pending():
            break
        await asyncio.sleep(0.05)
    assert await proxy.callback_counts() == {"expired": 1}
    assert proxy.given_up == 1
    app = web.Application()
    proxy.add_to_http(app)
    async with serve_app(app) as base, httpx.AsyncClient() as client:
        metrics = (await client.get(f"{base}/metrics/nsi-soap")).text
    await proxy.stop()
    assert 'nsgw_nsi_soap_callbacks{state="expired"} 1' in metrics
    assert "nsgw_nsi_soap_callbacks_undeliverable 1" in metrics


async def test_header_extensions_survive_a_restart(sqlite: Database, tmp_path: Path) -> None:
    """A callback sent after a restart still carries the request's connectionTrace."""
    provider = RecordingProvider()
    sink = SoapSink()
    async with serve_provider(provider) as target, serve_app(sink.app()) as base:
        settings = Settings(state_dir=tmp_path, soap_provider_target=target)
        before = NsiSoapProxy(settings, sqlite, Outbox(sqlite))
        app = web.Application()
        before.add_to_http(app)
        requests = provider_requests(reply_to=f"{base}/requester")
        async with serve_app(app) as proxy_base, httpx.AsyncClient() as client:
            for operation, extras in (
                ("reserve", HeaderExtras([samples.CONNECTION_TRACE])),
                ("provision", HeaderExtras()),
            ):
                response = await client.post(
                    f"{proxy_base}/nsi/v2/provider",
                    content=build_provider_request(operation, requests[operation], extras),
                    headers={"SOAPAction": soap_action(operation)},
                )
                assert response.status_code == 200
        await before.stop()  # the process stops; what it held in memory is gone

        outbox = Outbox(sqlite)
        after = NsiSoapProxy(settings, sqlite, outbox)
        message = samples.reserve_confirmed()
        message.header.CopyFrom(provider.calls[0][1].header)
        message.header.reply_to = ""  # an agent that does not echo replyTo
        ack = await after.requester.ReserveConfirmed(message, None)
        assert not ack.HasField("service_exception")
        await outbox.run_once()
        await sink.wait_for(1)
        await after.stop()
    assert sink.received[0][0] == soap_action("reserveConfirmed")
    assert b"ConnectionTrace" in sink.received[0][1]
    async with sqlite.reading() as session:
        kept = (await session.execute(select(RequestRecordRow.correlation_id))).scalars().all()
    assert kept == [provider.calls[0][1].header.correlation_id]  # only the one with extensions


async def test_the_migrated_schema_matches_the_request_records(database: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert [c for c in changes if RequestRecordRow.__tablename__ in repr(c)] == []


async def test_request_records_are_kept_replaced_and_pruned(database: Database) -> None:
    """On SQLite and PostgreSQL: what a callback finds of a request, and how long."""
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    records = DatabaseRequestRecords(database, retention=3600, clock=lambda: now[0])
    records.PRUNE_EVERY = 3
    trace = HeaderExtras([samples.CONNECTION_TRACE])
    await records.save("urn:uuid:old", RememberedRequest("http://127.0.0.1:1/a", trace))
    await records.save("urn:uuid:again", RememberedRequest("http://127.0.0.1:1/a", trace))
    # the same correlation id sent again: what was kept of it is replaced
    await records.save("urn:uuid:again", RememberedRequest("http://127.0.0.1:1/b", trace))
    found = await records.load("urn:uuid:again")
    assert found is not None
    assert found.reply_to == "http://127.0.0.1:1/b"
    assert list(found.extras.extensions) == [samples.CONNECTION_TRACE]
    assert await records.load("urn:uuid:unknown") is None
    now[0] += timedelta(hours=2)
    for n in range(3):  # the third save prunes what is older than the retention
        await records.save(f"urn:uuid:new-{n}", RememberedRequest("http://127.0.0.1:1/c", trace))
    assert await records.load("urn:uuid:old") is None
    assert await records.load("urn:uuid:again") is None
    assert await records.load("urn:uuid:new-0") is not None
