"""GET query parameters: content, depth, fields, with-defaults (RFC 8040 section 4.8)."""

from __future__ import annotations

from typing import Any

from adapters.nso_restconf.simulator.tree import TreeError, keys_of, local_name

NONCONFIG = {"platform", "commit-queue", "oper-state"}
"""Nodes NSO models as operational (config false)."""

DEFAULTS: dict[str, dict[str, Any]] = {
    "device": {"port": 22, "authgroup": "default"},
    "state": {"admin-state": "unlocked"},
}
"""Default leaves by parent node name, for with-defaults."""

FieldTree = dict[str, "FieldTree"]


def parse_fields(text: str) -> FieldTree:
    """``a;b/c;d(e;f)`` -> ``{"a": {}, "b": {"c": {}}, "d": {"e": {}, "f": {}}}``."""
    tree, rest = _parse_list(text, 0)
    if rest != len(text) or not tree:
        raise TreeError(400, "invalid-value", f"invalid fields expression {text!r}")
    return tree


def _parse_list(text: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while pos < len(text):
        node = tree
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ";/()":
                pos += 1
            name = local_name(text[start:pos])
            if not name:
                raise TreeError(400, "invalid-value", f"invalid fields expression {text!r}")
            node = node.setdefault(name, {})
            if pos < len(text) and text[pos] == "/":
                pos += 1
                continue
            break
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise TreeError(400, "invalid-value", f"unbalanced ( in fields {text!r}")
            node.update(sub)
            pos += 1
        if pos < len(text) and text[pos] == ")":
            return tree, pos
        if pos < len(text) and text[pos] == ";":
            pos += 1
    return tree, pos


def select_fields(value: Any, fields: FieldTree) -> Any:
    if isinstance(value, list):
        return [select_fields(v, fields) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, child in value.items():
        sub = fields.get(local_name(name))
        if sub is None:
            continue
        out[name] = select_fields(child, sub) if sub else child
    return out


def exclude_fields(value: Any, fields: FieldTree) -> Any:
    """NSO's ``exclude``: everything but the named nodes."""
    if isinstance(value, list):
        return [exclude_fields(v, fields) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, child in value.items():
        sub = fields.get(local_name(name))
        if sub is None:
            out[name] = child
        elif sub:
            out[name] = exclude_fields(child, sub)
    return out


def prune_depth(value: Any, depth: int) -> Any:
    """Keep leaves of the node; descend into containers and lists while depth lasts."""
    if isinstance(value, list):
        return [prune_depth(v, depth) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, child in value.items():
        if not isinstance(child, dict | list) or (
            isinstance(child, list) and not any(isinstance(c, dict) for c in child)
        ):
            out[name] = child
        elif depth > 1:
            out[name] = prune_depth(child, depth - 1)
    return out


def filter_content(value: Any, content: str, name: str = "") -> Any:
    """``config`` drops operational nodes; ``nonconfig`` keeps them (and list keys) only."""
    if content == "all":
        return value
    if local_name(name) in NONCONFIG:
        return value if content == "nonconfig" else None
    if isinstance(value, list):
        kept = [filter_content(v, content, name) for v in value]
        return [v for v in kept if v is not None]
    if not isinstance(value, dict):
        return value if content == "config" else None
    keys = keys_of(name) if name else ()
    out = {}
    for child_name, child in value.items():
        if content == "nonconfig" and child_name in keys:
            out[child_name] = child
            continue
        kept = filter_content(child, content, child_name)
        if kept is not None and kept not in ({}, []):
            out[child_name] = kept
    if content == "nonconfig" and set(out) <= set(keys):
        return None
    return out


def with_defaults(value: Any, mode: str, name: str = "") -> Any:
    """``report-all`` adds default leaves; ``trim`` drops leaves equal to their default."""
    if mode not in ("report-all", "trim", "explicit", "report-all-tagged"):
        raise TreeError(400, "invalid-value", f"invalid with-defaults {mode!r}")
    if mode == "explicit":
        return value
    if isinstance(value, list):
        return [with_defaults(v, mode, name) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: with_defaults(v, mode, k) for k, v in value.items()}
    for leaf, default in DEFAULTS.get(local_name(name), {}).items():
        if mode == "trim" and out.get(leaf) == default:
            del out[leaf]
        elif mode != "trim" and leaf not in out:
            out[leaf] = default
    return out
