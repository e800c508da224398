"""``nsgw call``: any nsgw.v1 method with a JSON request, from a shell.

The request is the protobuf JSON form of the method's request message (field
names as in the .proto); the reply is printed the same way, one JSON object
per message of a stream.  With ``--watch``, an Operation reply is followed
live until it ends, as ``nsgw ops watch`` does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Annotated, cast

import grpc
import typer
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from gateway.cli.api_options import (
    DEFAULT_SERVER,
    CaOption,
    CertOption,
    KeyOption,
    ServerOption,
    TokenOption,
    make_client,
)
from gateway.cli.common import fail
from gateway.cli.ops import follow_operation, report_api_error
from gateway.client import ApiCallError, NsgwClient
from gateway.struct_numbers import whole_numbers
from nsgw_proto.nsgw.v1 import (  # noqa: F401 (registers the services in the descriptor pool)
    connections_pb2,
    nso_pb2,
    operations_pb2,
)

PACKAGE = "nsgw.v1"
SERVICES = ("Operations", "NsoServices", "NsoDevices", "Connections")


def method_names() -> list[str]:
    """Every callable method, as Service/Method."""
    pool = descriptor_pool.Default()
    return [
        f"{service}/{method.name}"
        for service in SERVICES
        for method in pool.FindServiceByName(f"{PACKAGE}.{service}").methods
    ]


def find_method(name: str) -> MethodDescriptor:
    """``Service/Method`` (or ``nsgw.v1.Service/Method``); ValueError naming the choices."""
    service, _, method = name.removeprefix(f"{PACKAGE}.").partition("/")
    if service in SERVICES and method:
        found = descriptor_pool.Default().FindServiceByName(f"{PACKAGE}.{service}")
        for candidate in found.methods:
            if candidate.name == method:
                return candidate
    raise ValueError(f"no method {name!r}; one of: {', '.join(method_names())}")


def parse_request(method: MethodDescriptor, text: str) -> Message:
    """The request message from its JSON form; ValueError saying what is wrong."""
    request = message_factory.GetMessageClass(method.input_type)()
    try:
        json_format.Parse(text or "{}", request)
    except json_format.ParseError as exc:
        raise ValueError(f"the request is not a valid {method.input_type.name}: {exc}") from None
    return request


def to_json(message: Message) -> str:
    """The reply as indented JSON, with payload numbers as they were written (200, not 200.0)."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return json.dumps(whole_numbers(data), indent=2)


async def _invoke(
    client: NsgwClient, token: str | None, method: MethodDescriptor, request: Message
) -> AsyncIterator[Message]:
    path = f"/{method.containing_service.full_name}/{method.name}"
    reply_type = message_factory.GetMessageClass(method.output_type)
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    try:
        if method.server_streaming:
            stream = client.channel.unary_stream(
                path,
                request_serializer=type(request).SerializeToString,
                response_deserializer=reply_type.FromString,
            )
            async for reply in stream(request, metadata=metadata):
                yield cast(Message, reply)
        else:
            unary = client.channel.unary_unary(
                path,
                request_serializer=type(request).SerializeToString,
                response_deserializer=reply_type.FromString,
            )
            yield cast(Message, await unary(request, metadata=metadata))
    except grpc.aio.AioRpcError as error:
        raise ApiCallError.from_rpc_error(error) from None


def call(
    method_name: Annotated[str, typer.Argument(metavar="METHOD", help="Service/Method")],
    request_json: Annotated[
        str, typer.Argument(metavar="JSON", help="the request as JSON; '-' reads it from stdin")
    ] = "{}",
    *,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="follow an Operation reply until it ends")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    ca: CaOption = None,
    cert: CertOption = None,
    key: KeyOption = None,
) -> None:
    """Call an nsgw.v1 method with a JSON request and print the reply as JSON.

    With --watch an operation is followed until it ends; the exit status is
    then 0 when it succeeded and 1 otherwise.
    """
    try:
        method = find_method(method_name)
        text = sys.stdin.read() if request_json == "-" else request_json
        request = parse_request(method, text)
    except ValueError as exc:
        fail(str(exc))
    watching = watch and method.output_type.full_name == f"{PACKAGE}.Operation"
    if watch and not watching:
        fail(f"--watch follows operations; {method_name} does not return one")

    async def main() -> operations_pb2.Operation | None:
        async with make_client(server, token, ca, cert, key) as client:
            last: Message | None = None
            async for reply in _invoke(client, token, method, request):
                if not watching:
                    typer.echo(to_json(reply))
                last = reply
            if watching and last is not None:
                return await follow_operation(client, cast(operations_pb2.Operation, last).name)
            return None

    try:
        final = asyncio.run(main())
    except ApiCallError as exc:
        report_api_error(exc)
    if final is not None and final.state != operations_pb2.OPERATION_STATE_SUCCEEDED:
        raise typer.Exit(1)
