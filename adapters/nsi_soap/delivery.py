"""Sending a SOAP message to a requester over HTTP(S), and what the outcome means.

- a 2xx answer: delivered;
- connection errors, timeouts, 408/429 and 5xx answers that are not a SOAP
  fault: :class:`RetryLater`;
- a SOAP fault or any other 4xx: :class:`Refused` (the requester read the
  message and will not take it; sending it again cannot help).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from adapters.nsi_soap.namespaces import CONTENT_TYPE

SOAP_ACTION_ATTRIBUTE = "soap_action"


class DeliveryFailedError(Exception):
    """The message was not delivered."""


class RetryLaterError(DeliveryFailedError):
    """Not delivered now; a later attempt may succeed."""


class RefusedError(DeliveryFailedError):
    """The receiver refused the message for good."""


FAULT_SNIFF_BYTES = 65536  # how much of a refusal is read to tell a SOAP fault


def _is_soap_fault(content: bytes) -> bool:
    return b"Fault>" in content and b"Envelope" in content


class SoapSender:
    """POSTs SOAP messages over one shared HTTP client session (TLS settings fixed at creation).

    aiohttp rather than httpx: the callbacks of a busy proxy are many small
    POSTs on the event loop that also serves the peers, and aiohttp's client
    costs a fraction of httpx's per request.  The session (and its pool of
    kept-alive connections) is opened on the first send, in the running loop.
    """

    def __init__(self, *, timeout: float, verify: ssl.SSLContext | bool) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._verify, limit=100),
                timeout=self._timeout,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def send(self, destination: str, payload: bytes, attributes: Mapping[str, Any]) -> None:
        headers = {"Content-Type": CONTENT_TYPE}
        action = attributes.get(SOAP_ACTION_ATTRIBUTE)
        if action:
            headers["SOAPAction"] = str(action)
        if not destination.startswith(("http://", "https://")):
            raise RefusedError(f"replyTo '{destination}' is not an http(s) URL")
        try:
            async with self._client().post(
                destination, data=payload, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    await response.read()  # the whole answer, so the connection is reused
                    return
                sniffed = await response.content.read(FAULT_SNIFF_BYTES)
        except aiohttp.InvalidURL:
            raise RefusedError(f"replyTo '{destination}' is not a valid URL") from None
        except TimeoutError:
            raise RetryLaterError(f"{destination}: timed out") from None
        except aiohttp.ClientError as exc:
            raise RetryLaterError(f"{destination}: {type(exc).__name__}: {exc}") from None
        if _is_soap_fault(sniffed):
            raise RefusedError(f"{destination}: SOAP fault (HTTP {status})")
        if status in (408, 429) or status >= 500:
            raise RetryLaterError(f"{destination}: HTTP {status}")
        raise RefusedError(f"{destination}: HTTP {status}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def create_sender(
    *,
    timeout: float = 30.0,
    verify: ssl.SSLContext | bool = True,
) -> SoapSender:
    """A sender; ``verify``: True (system CAs), False, or an ``ssl.SSLContext`` (client cert)."""
    return SoapSender(timeout=timeout, verify=verify)
