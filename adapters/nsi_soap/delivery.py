"""Sending a SOAP message to a requester over HTTP(S), and what the outcome means.

- a 2xx answer: delivered;
- connection errors, timeouts, 408/429 and 5xx answers that are not a SOAP
  fault: :class:`RetryLater`;
- a SOAP fault or any other 4xx: :class:`Refused` (the requester read the
  message and will not take it; sending it again cannot help).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.nsi_soap.namespaces import CONTENT_TYPE

SOAP_ACTION_ATTRIBUTE = "soap_action"


class DeliveryFailedError(Exception):
    """The message was not delivered."""


class RetryLaterError(DeliveryFailedError):
    """Not delivered now; a later attempt may succeed."""


class RefusedError(DeliveryFailedError):
    """The receiver refused the message for good."""


def _is_soap_fault(response: httpx.Response) -> bool:
    return b"Fault>" in response.content[:65536] and b"Envelope" in response.content[:65536]


class SoapSender:
    """POSTs SOAP messages with one shared HTTP client (TLS settings fixed at creation)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, destination: str, payload: bytes, attributes: Mapping[str, Any]) -> None:
        headers = {"Content-Type": CONTENT_TYPE}
        action = attributes.get(SOAP_ACTION_ATTRIBUTE)
        if action:
            headers["SOAPAction"] = str(action)
        if not destination.startswith(("http://", "https://")):
            raise RefusedError(f"replyTo '{destination}' is not an http(s) URL")
        try:
            response = await self._client.post(destination, content=payload, headers=headers)
        except httpx.TimeoutException:
            raise RetryLaterError(f"{destination}: timed out") from None
        except httpx.HTTPError as exc:
            raise RetryLaterError(f"{destination}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if _is_soap_fault(response):
            raise RefusedError(f"{destination}: SOAP fault (HTTP {status})")
        if status in (408, 429) or status >= 500:
            raise RetryLaterError(f"{destination}: HTTP {status}")
        raise RefusedError(f"{destination}: HTTP {status}")

    async def aclose(self) -> None:
        await self._client.aclose()


def create_sender(
    *,
    timeout: float = 30.0,
    verify: Any = True,
) -> SoapSender:
    """A sender; ``verify`` is httpx's: True, False or an ``ssl.SSLContext`` (client cert)."""
    client = httpx.AsyncClient(timeout=timeout, verify=verify, follow_redirects=False)
    return SoapSender(client)
