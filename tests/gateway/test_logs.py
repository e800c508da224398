"""Log lines: JSON or console, with the call's request id on every line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from aiohttp import web

from gateway.grpc_server import GrpcServer
from gateway.http_server import HttpServer, create_app
from gateway.logs import configure_logging, get_logger


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream)
    yield stream
    configure_logging("console", "info")


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_every_line_of_an_http_call_carries_its_request_id(json_lines: io.StringIO) -> None:
    async def handler(_request: web.Request) -> web.Response:
        get_logger("test").info("first")
        logging.getLogger("stdlib.library").warning("second")
        return web.Response(text="ok")

    app = create_app()
    app.router.add_get("/work", handler)
    server = HttpServer(app, "127.0.0.1", 0)
    port = await server.start()
    try:
        async with httpx.AsyncClient() as http:
            given = await http.get(f"http://127.0.0.1:{port}/work", headers={"X-Request-Id": "r-1"})
            fresh = await http.get(f"http://127.0.0.1:{port}/work")
    finally:
        await server.stop()
    assert given.headers["X-Request-Id"] == "r-1"
    records = [r for r in _records(json_lines) if r["event"] in ("first", "second")]
    assert [r["request_id"] for r in records[:2]] == ["r-1", "r-1"]
    generated = fresh.headers["X-Request-Id"]
    assert generated != "r-1"
    assert [r["request_id"] for r in records[2:]] == [generated, generated]
    assert records[1]["logger"] == "stdlib.library"
    assert records[1]["level"] == "warning"


async def test_a_grpc_call_logs_with_the_callers_request_id(json_lines: io.StringIO) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        get_logger("test").info("handling")
        return request

    server = GrpcServer("127.0.0.1", 0)
    server.server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
            ),
        )
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/test.Echo/Echo", None, None)
            assert await call(b"hi", metadata=(("x-request-id", "g-7"),)) == b"hi"
            assert await call(b"again") == b"again"
    finally:
        await server.stop(1)
    handling = [r for r in _records(json_lines) if r["event"] == "handling"]
    assert handling[0]["request_id"] == "g-7"
    assert handling[1]["request_id"] not in ("g-7", "")


def test_console_format_is_one_readable_line() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream=stream)
    try:
        get_logger("test").info("hello", port=50051)
        get_logger("test").debug("hidden")
    finally:
        configure_logging("console", "info")
    text = stream.getvalue()
    assert "hello" in text
    assert "port=50051" in text
    assert "hidden" not in text
    assert not text.lstrip().startswith("{")


def test_a_logger_used_before_the_format_changes_follows_the_new_format() -> None:
    """Loggers are cached on first use; switching to JSON still renders JSON, tracebacks too."""
    log = get_logger("test.switch")
    configure_logging("console", "info", stream=io.StringIO())
    log.info("first, as a console line")
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    try:
        log.info("second", port=50051)
        try:
            _ = 1 / 0
        except ZeroDivisionError:
            log.exception("failed")
            logging.getLogger("test.stdlib").exception("failed too")
    finally:
        configure_logging("console", "info")
    second, failed, stdlib_failed = _records(stream)
    assert (second["event"], second["port"]) == ("second", 50051)
    assert "ZeroDivisionError" in failed["exception"]
    assert "ZeroDivisionError" in stdlib_failed["exception"]
