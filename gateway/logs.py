"""Structured logging: human-readable console lines or JSON lines.

Both structlog loggers and the standard library's (grpc, aiohttp, SQLAlchemy)
go through the same processors, so every line has the same shape.  Values
bound with :func:`bind_request_id` (a contextvar) appear on every line logged
while a call is handled.
"""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any, Literal

import structlog
from structlog.types import Processor

REQUEST_ID_KEY = "request_id"


def configure_logging(
    fmt: Literal["console", "json"] = "console",
    level: str = "info",
    stream: Any = None,
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in one format."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    # What differs between the formats lives in the handler's formatter, so the
    # structlog chain is the same whatever the format: loggers cache it on first
    # use (a logger bound anew on every call costs more than most calls it logs).
    rendering: list[Processor]
    if fmt == "json":
        rendering = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        rendering = [structlog.dev.ConsoleRenderer(colors=False)]

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that are chatty at INFO level.
    for noisy in ("aiohttp.access", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def new_request_id() -> str:
    return uuid.uuid4().hex


def bind_request_id(request_id: str | None = None) -> str:
    """Bind a request id (given, or a new one) to every log line of the current task."""
    rid = request_id or new_request_id()
    structlog.contextvars.bind_contextvars(**{REQUEST_ID_KEY: rid})
    return rid


def clear_request_id() -> None:
    structlog.contextvars.unbind_contextvars(REQUEST_ID_KEY)
