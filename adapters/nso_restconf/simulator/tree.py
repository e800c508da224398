"""The simulator's data tree: RFC 7951 JSON addressed by RESTCONF paths.

Top-level nodes are stored module-qualified (``tailf-ncs:devices``), nodes
below them by their local name.  List entries are found by their keys
(:data:`LIST_KEYS`, ``name`` for lists not named there).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

LIST_KEYS: dict[str, tuple[str, ...]] = {
    "device": ("name",),
    "interface": ("name",),
    "vlan": ("id",),
    "queue-item": ("id",),
    "endpoint": ("device", "interface"),
    "l2vlan": ("name",),
}


class TreeError(Exception):
    """A path or body problem; ``tag`` and ``status`` say how RESTCONF reports it."""

    def __init__(self, status: int, tag: str, message: str, path: str = "") -> None:
        super().__init__(message)
        self.status, self.tag, self.message, self.path = status, tag, message, path


@dataclass(frozen=True)
class Segment:
    name: str
    keys: tuple[str, ...] | None = None

    @property
    def local(self) -> str:
        return local_name(self.name)

    def text(self) -> str:
        return self.name if self.keys is None else f"{self.name}={','.join(self.keys)}"


def local_name(name: str) -> str:
    return name.split(":", 1)[-1]


def keys_of(list_name: str) -> tuple[str, ...]:
    return LIST_KEYS.get(local_name(list_name), ("name",))


def parse_path(path: str) -> list[Segment]:
    """``tailf-ncs:devices/device=pe0/config`` -> segments with decoded keys."""
    segments = []
    for raw in path.strip("/").split("/"):
        if not raw:
            continue
        name, sep, keys = raw.partition("=")
        if not name:
            raise TreeError(400, "invalid-value", f"bad path segment {raw!r}")
        segments.append(
            Segment(unquote(name), tuple(unquote(k) for k in keys.split(",")) if sep else None)
        )
    if segments and ":" not in segments[0].name:
        raise TreeError(400, "invalid-value", f"top node {segments[0].name!r} not qualified")
    return segments


def keypath(segments: list[Segment]) -> str:
    """NSO-style keypath for messages: ``/ncs:devices/device{pe0}``."""
    parts = []
    for s in segments:
        parts.append(s.name if s.keys is None else f"{s.name}{{{' '.join(s.keys)}}}")
    return "/" + "/".join(parts)


def child_key(node: dict[str, Any], name: str) -> str | None:
    """The key under which ``name`` is stored (exact, else by local name)."""
    if name in node:
        return name
    wanted = local_name(name)
    for key in node:
        if local_name(key) == wanted:
            return key
    return None


def entry_matches(entry: Any, list_name: str, keys: tuple[str, ...]) -> bool:
    if not isinstance(entry, dict):
        return False
    names = keys_of(list_name)
    if len(names) != len(keys):
        return False
    return all(_key_text(entry.get(n)) == k for n, k in zip(names, keys, strict=True))


def _key_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def find_entry(entries: list[Any], list_name: str, keys: tuple[str, ...]) -> int | None:
    for index, entry in enumerate(entries):
        if entry_matches(entry, list_name, keys):
            return index
    return None


def lookup(root: dict[str, Any], segments: list[Segment]) -> Any:
    """The value at the path; TreeError 404 ``invalid-value`` when missing."""
    node: Any = root
    for depth, seg in enumerate(segments):
        if not isinstance(node, dict):
            raise _missing(segments)
        key = child_key(node, seg.name)
        if key is None:
            raise _missing(segments)
        node = node[key]
        if seg.keys is not None:
            if not isinstance(node, list):
                raise _missing(segments[: depth + 1])
            index = find_entry(node, seg.name, seg.keys)
            if index is None:
                raise _missing(segments)
            node = node[index]
    return node


def _missing(segments: list[Segment]) -> TreeError:
    return TreeError(404, "invalid-value", "uri keypath not found", keypath(segments))


def exists(root: dict[str, Any], segments: list[Segment]) -> bool:
    try:
        lookup(root, segments)
    except TreeError:
        return False
    return True


def unwrap_body(body: Any, target: Segment) -> Any:
    """The value of a PUT/PATCH body for ``target``: ``{"mod:name": value}``."""
    if not isinstance(body, dict) or len(body) != 1:
        raise TreeError(400, "malformed-message", "body must hold exactly the target node")
    ((name, value),) = body.items()
    if local_name(name) != target.local:
        raise TreeError(
            400,
            "malformed-message",
            f"body node {name!r} does not match the target {target.name!r}",
        )
    if target.keys is not None:
        if isinstance(value, list):
            if len(value) != 1:
                raise TreeError(400, "malformed-message", "body must hold exactly one list entry")
            value = value[0]
        if not entry_matches(value, target.name, target.keys):
            raise TreeError(400, "invalid-value", "key values in the body do not match the path")
    return normalise(value)


def normalise(value: Any) -> Any:
    """A deep copy with module prefixes removed below the top level."""
    if isinstance(value, dict):
        return {local_name(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def set_node(root: dict[str, Any], segments: list[Segment], value: Any) -> bool:
    """Create or replace the node; True when it was created.  The parent must exist."""
    parent = lookup(root, segments[:-1]) if len(segments) > 1 else root
    target = segments[-1]
    if not isinstance(parent, dict):
        raise TreeError(400, "invalid-value", "parent is not a container")
    key = child_key(parent, target.name)
    if target.keys is None:
        created = key is None
        parent[key or (target.name if len(segments) == 1 else target.local)] = value
        return created
    if key is None:
        key = target.name if len(segments) == 1 else target.local
        parent[key] = []
    entries = parent[key]
    index = find_entry(entries, target.name, target.keys)
    if index is None:
        entries.append(value)
        return True
    entries[index] = value
    return False


def create_child(root: dict[str, Any], parent_segments: list[Segment], body: Any) -> str:
    """POST: add the body's node under the parent; returns the new node's path segment."""
    parent = lookup(root, parent_segments) if parent_segments else root
    if not isinstance(body, dict) or len(body) != 1 or not isinstance(parent, dict):
        raise TreeError(400, "malformed-message", "body must hold exactly one node")
    ((name, value),) = body.items()
    top = not parent_segments
    if top and ":" not in name:
        raise TreeError(400, "malformed-message", f"top node {name!r} must be module-qualified")
    stored = name if top else local_name(name)
    key = child_key(parent, name)
    entry_value = value[0] if isinstance(value, list) and len(value) == 1 else value
    if isinstance(value, list):
        if len(value) != 1:
            raise TreeError(400, "malformed-message", "POST creates exactly one list entry")
        names = keys_of(name)
        try:
            keys = tuple(_key_text(entry_value[n]) for n in names)
        except (KeyError, TypeError):
            raise TreeError(
                400, "malformed-message", f"list entry needs its keys {names}"
            ) from None
        entries = parent.setdefault(key or stored, [])
        seg = Segment(name, keys)
        if find_entry(entries, name, keys) is not None:
            raise TreeError(
                409, "data-exists", f"object already exists: {keypath([*parent_segments, seg])}"
            )
        entries.append(normalise(entry_value))
        return seg_text(seg)
    if key is not None:
        raise TreeError(
            409,
            "data-exists",
            f"object already exists: {keypath([*parent_segments, Segment(name)])}",
        )
    parent[stored] = normalise(value)
    return str(name)


def seg_text(seg: Segment) -> str:
    if seg.keys is None:
        return seg.name
    return f"{seg.name}={','.join(quote(k, safe='') for k in seg.keys)}"


def delete_node(root: dict[str, Any], segments: list[Segment]) -> None:
    lookup(root, segments)  # 404 when missing
    parent = lookup(root, segments[:-1]) if len(segments) > 1 else root
    target = segments[-1]
    key = child_key(parent, target.name)
    assert key is not None
    if target.keys is None:
        del parent[key]
        return
    entries = parent[key]
    index = find_entry(entries, target.name, target.keys)
    assert index is not None
    del entries[index]


def merge_into(target: Any, value: Any, list_name: str = "") -> Any:
    """RFC 8040 merge: containers merged, list entries merged by key, leaves replaced."""
    if isinstance(target, dict) and isinstance(value, dict):
        for name, child in value.items():
            key = child_key(target, name) or name
            target[key] = merge_into(target[key], child, key) if key in target else child
        return target
    if isinstance(target, list) and isinstance(value, list):
        names = keys_of(list_name)
        for entry in value:
            keys = tuple(_key_text(entry.get(n)) for n in names) if isinstance(entry, dict) else ()
            index = find_entry(target, list_name, keys) if keys else None
            if index is None:
                target.append(entry)
            else:
                target[index] = merge_into(target[index], entry, list_name)
        return target
    return value


def merge_node(root: dict[str, Any], segments: list[Segment], value: Any) -> None:
    current = lookup(root, segments)
    merged = merge_into(current, value, segments[-1].name)
    if merged is not current:
        set_node(root, segments, merged)


def wrap(segments: list[Segment], value: Any) -> dict[str, Any]:
    """A GET body: the node under its qualified name (a list entry inside a list)."""
    module = ""
    for seg in segments:
        if ":" in seg.name:
            module = seg.name.split(":", 1)[0]
    last = segments[-1]
    name = last.name if ":" in last.name else f"{module}:{last.name}"
    return {name: [value] if last.keys is not None else value}


def clone(value: Any) -> Any:
    return copy.deepcopy(value)


def parse_path_relative(path: str) -> list[Segment]:
    """A YANG Patch edit target (``/device=pe0/config``): like a path, top may be unqualified."""
    segments = []
    for raw in path.strip("/").split("/"):
        if raw:
            name, sep, keys = raw.partition("=")
            segments.append(
                Segment(unquote(name), tuple(unquote(k) for k in keys.split(",")) if sep else None)
            )
    return segments
