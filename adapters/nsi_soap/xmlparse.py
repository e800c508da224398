"""A hardened XML parser for messages from peers.

Nothing a peer sends may make the proxy read files, open connections or spend
memory out of proportion to the message: document type declarations are
refused outright (so no entity can be declared, let alone expanded), the
parser never touches the network or loads a DTD, and both the size of the
message and the nesting depth of its elements are bounded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lxml import etree

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 64


class UnsafeXmlError(Exception):
    """The document was refused before or while parsing; the message says why."""


@dataclass(frozen=True)
class XmlLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


DEFAULT_LIMITS = XmlLimits()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


# One parser for the process: the event loop runs one parse at a time.
_PARSER = _parser()


@functools.lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> etree.XPath:
    # Compiled once: is there an element at depth max_depth + 1?
    return etree.XPath("boolean(/" + "*/" * max_depth + "*)")


def _depth_exceeds(root: etree._Element, max_depth: int) -> bool:
    return bool(_too_deep(max_depth)(root))


def parse_document(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """The root element of ``data``, or UnsafeXmlError naming the problem."""
    if len(data) > limits.max_bytes:
        raise UnsafeXmlError(
            f"message of {len(data)} bytes exceeds the limit of {limits.max_bytes}"
        )
    # A cheap first line of defence for ASCII-compatible encodings; the
    # docinfo check below catches any other spelling.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeXmlError("document type declarations are not accepted")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(f"malformed XML: {exc.msg}") from None
    if root is None:
        raise UnsafeXmlError("empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("document type declarations are not accepted")
    for _ in root.iter(etree.Entity):
        raise UnsafeXmlError("entity references are not accepted")
    if _depth_exceeds(root, limits.max_depth):
        raise UnsafeXmlError(f"elements nested deeper than {limits.max_depth} levels")
    return root


def parse_fragment(text: str, limits: XmlLimits = DEFAULT_LIMITS) -> list[etree._Element]:
    """Elements of a serialized XML fragment (several siblings allowed)."""
    if not text.strip():
        return []
    wrapper = parse_document(b"<fragment>" + text.encode("utf-8") + b"</fragment>", limits)
    return list(wrapper)
