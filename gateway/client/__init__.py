"""A small typed client of the nsgw.v1 API, for scripts and the ``nsgw`` command line.

async with NsgwClient("127.0.0.1:50051", token=...) as client:
    op = await client.operations.wait("operations/...")
"""

from gateway.client.connection import NsgwClient, TlsOptions
from gateway.client.connections import ConnectionsClient
from gateway.client.errors import ApiCallError
from gateway.client.operations import OperationsClient

__all__ = ["ApiCallError", "ConnectionsClient", "NsgwClient", "OperationsClient", "TlsOptions"]
