"""Pages of lists NSO returns whole (devices, service instances): opaque offset tokens."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50


def _key(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def page(items: Sequence[T], page_size: int, token: str, scope: str) -> tuple[list[T], str]:
    """(this page, next token or ""); ValueError for a token not issued for ``scope``."""
    size = page_size or DEFAULT_PAGE_SIZE
    start = 0
    if token:
        try:
            start, key = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = int(start)
        except (ValueError, TypeError) as exc:
            raise ValueError("is not a page token this server gave out") from exc
        if key != _key(scope) or start < 0:
            raise ValueError("belongs to another list")
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    if end >= len(items):
        return chunk, ""
    return chunk, base64.urlsafe_b64encode(json.dumps([end, _key(scope)]).encode()).decode()
