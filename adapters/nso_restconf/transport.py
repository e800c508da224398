"""HTTP beneath the client: auth, timeouts, a concurrency limit, retries, error mapping.

Retries happen only where repeating a request cannot do harm: a connection
that was never established, a 503 (NSO refused the request before acting on
it), and a 409 ``in-use`` on a call the caller marked idempotent.  Delays
double from ``backoff`` with +-50% jitter so clients do not retry in step.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from adapters.nso_restconf.config import NsoConfig
from adapters.nso_restconf.errors import (
    InUse,
    InvalidResponse,
    NsoConnectionError,
    NsoError,
    NsoTimeout,
    ServiceUnavailable,
    error_from_reply,
)

log = logging.getLogger(__name__)

YANG_JSON = "application/yang-data+json"
YANG_PATCH_JSON = "application/yang-patch+json"

Query = dict[str, str]
POOL_SHARD_SIZE = 5


@dataclass(frozen=True)
class Reply:
    """A successful reply: status, headers and the raw body."""

    status: int
    headers: httpx.Headers
    content: bytes
    context: str

    def json(self) -> Any:
        """The body as JSON; None for an empty body; :class:`InvalidResponse` if not JSON."""
        if not self.content.strip():
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            snippet = self.content[:120].decode("utf-8", "replace")
            raise InvalidResponse(
                f"{self.context}: HTTP {self.status} with a body that is not JSON: {snippet!r}",
                status=self.status,
            ) from None


class _ConnectFailed(NsoConnectionError):
    """The connection was never established: the request was not sent."""


def build_ssl_context(config: NsoConfig) -> ssl.SSLContext:
    """TLS settings: CA file or system CAs, verification on or off, optional client cert."""
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.client_cert is not None:
        key = str(config.client_key) if config.client_key else None
        context.load_cert_chain(str(config.client_cert), key)
    return context


def encode_query(query: Query | None) -> str:
    """``?a=1&flag`` with RFC 3986 escaping; an empty value gives a bare flag."""
    if not query:
        return ""
    parts = [
        name if value == "" else f"{name}={quote(value, safe=',;:/()')}"
        for name, value in query.items()
    ]
    return "?" + "&".join(parts)


class Transport:
    """One ``httpx.AsyncClient`` per NSO, shared by all calls of a client."""

    def __init__(
        self, config: NsoConfig, *, http_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        headers = {"Accept": YANG_JSON}
        if config.token is not None:
            headers["X-Auth-Token"] = config.token.get_secret_value()
        else:
            # A fixed header rather than httpx.BasicAuth: NSO wants Basic on every
            # request, and the header skips httpx's per-request auth flow.
            pair = f"{config.username}:{config.password.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        verify: ssl.SSLContext | bool = True
        if config.url.startswith("https"):
            verify = build_ssl_context(config)
        # The connections are split over several small pools: httpcore's pool
        # bookkeeping costs grow with the square of its size, and at 20
        # connections they outweigh the request itself.
        sizes = [POOL_SHARD_SIZE] * (config.max_concurrency // POOL_SHARD_SIZE)
        if config.max_concurrency % POOL_SHARD_SIZE:
            sizes.append(config.max_concurrency % POOL_SHARD_SIZE)
        self._pools = [
            httpx.AsyncClient(
                base_url=config.restconf_url,
                headers=headers,
                verify=verify,
                timeout=httpx.Timeout(
                    config.timeout,
                    connect=config.connect_timeout,
                    write=config.write_timeout,
                    pool=config.pool_timeout,
                ),
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                transport=http_transport,
                follow_redirects=False,
            )
            for size in sizes
        ]
        self._pool_free = list(sizes)
        self._limit = asyncio.Semaphore(config.max_concurrency)
        self.in_flight = 0
        self.peak_in_flight = 0

    def __repr__(self) -> str:
        return f"Transport(url={self.config.url!r}, user={self.config.username!r})"

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

    def _take_pool(self) -> int:
        """The pool with the most free connections (one always has one, under the limit)."""
        index = max(range(len(self._pools)), key=self._pool_free.__getitem__)
        self._pool_free[index] -= 1
        return index

    def _delay(self, attempt: int) -> float:
        base = min(self.config.max_backoff, self.config.backoff * (2**attempt))
        return float(base * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not security

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        content_type: str = YANG_JSON,
        headers: dict[str, str] | None = None,
        idempotent: bool = False,
        ok: tuple[int, ...] = (),
    ) -> Reply:
        """Send one request (retrying where safe); raise the typed error for a failure.

        ``path`` is relative to the RESTCONF root (``data/tailf-ncs:devices``).
        Statuses below 300, and those in ``ok`` (e.g. 304), are returned.
        """
        url = "/" + path.lstrip("/") + encode_query(query)
        context = f"{method} {self.config.root.rstrip('/')}{url}"
        send_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            send_headers["Content-Type"] = content_type
        attempt = 0
        while True:
            try:
                return await self._send(method, url, content, send_headers, context, ok)
            except NsoError as exc:
                if isinstance(exc, _ConnectFailed | ServiceUnavailable):
                    retry = True  # NSO never acted on the request
                else:
                    retry = idempotent and isinstance(exc, NsoConnectionError | InUse)
                if not retry or attempt >= self.config.retries:
                    raise
                delay = self._delay(attempt)
                log.info("retrying %s after %s (%.2fs)", context, type(exc).__name__, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _send(  # noqa: PLR0917 - private
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        context: str,
        ok: tuple[int, ...],
    ) -> Reply:
        async with self._limit:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            pool = self._take_pool()
            started = time.perf_counter()
            try:
                response = await self._pools[pool].request(
                    method, url, content=content, headers=headers
                )
            except httpx.ConnectError as exc:
                raise _ConnectFailed(
                    f"{context}: cannot connect to NSO at {self.config.url}: {exc}"
                ) from None
            except httpx.ConnectTimeout:
                raise _ConnectFailed(
                    f"{context}: connecting to NSO at {self.config.url} timed out"
                ) from None
            except httpx.TimeoutException as exc:
                raise NsoTimeout(
                    f"{context}: NSO did not answer in time ({type(exc).__name__})"
                ) from None
            except httpx.TransportError as exc:
                raise NsoConnectionError(
                    f"{context}: connection to NSO failed: {type(exc).__name__}: {exc}"
                ) from None
            finally:
                self.in_flight -= 1
                self._pool_free[pool] += 1
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            log.debug("%s -> %s in %.1f ms", context, response.status_code, elapsed)
        status = response.status_code
        if status < 300 or status in ok:
            return Reply(status, response.headers, response.content, context)
        raise error_from_reply(status, response.content, context)
