"""Small helpers to read and write the elements of NSI messages.

Readers are strict about what the schema requires: a missing required
element is a MISSING_PARAMETER (00101) fault and a value of the wrong form a
GENERIC_MESSAGE_PAYLOAD_ERROR (00100), both naming the element at fault.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from lxml import etree

from adapters.nsi_soap.faults import missing_parameter, payload_error
from adapters.nsi_soap.namespaces import XSI, qname

Element = etree._Element


def local_name(element: Element) -> str:
    tag = element.tag
    if isinstance(tag, str):
        return tag.rpartition("}")[2]
    return etree.QName(element).localname


def namespace_of(element: Element) -> str | None:
    tag = element.tag
    if isinstance(tag, str):
        return tag[1:].partition("}")[0] if tag.startswith("{") else None
    return etree.QName(element).namespace


def path_of(element: Element) -> str:
    """A readable location such as ``reserve/criteria/schedule``."""
    names: list[str] = []
    node: Element | None = element
    while node is not None and local_name(node) not in ("Body", "Header"):
        names.append(local_name(node))
        node = node.getparent()
    return "/".join(reversed(names))


def child(parent: Element, namespace: str | None, name: str) -> Element | None:
    """The first child called ``name`` (namespace None: unqualified)."""
    tag = qname(namespace, name) if namespace else name
    for item in parent:
        if item.tag == tag:
            return item
    return None


def children(parent: Element, namespace: str | None, name: str) -> list[Element]:
    tag = qname(namespace, name) if namespace else name
    return [item for item in parent if item.tag == tag]


def required(parent: Element, namespace: str | None, name: str) -> Element:
    found = child(parent, namespace, name)
    if found is None:
        raise missing_parameter(f"{path_of(parent)}/{name}")
    return found


def text(element: Element) -> str:
    return (element.text or "").strip()


def required_text(parent: Element, namespace: str | None, name: str) -> str:
    element = required(parent, namespace, name)
    value = text(element)
    if not value:
        raise missing_parameter(path_of(element))
    return value


def optional_text(parent: Element, namespace: str | None, name: str) -> str:
    element = child(parent, namespace, name)
    return "" if element is None else text(element)


def is_nil(element: Element) -> bool:
    return element.get(qname(XSI, "nil")) in ("true", "1")


def parse_int(element: Element, value: str | None = None) -> int:
    raw = text(element) if value is None else value
    try:
        return int(raw)
    except ValueError:
        raise payload_error(path_of(element), f"'{raw}' is not an integer") from None


def parse_bool(element: Element) -> bool:
    raw = text(element)
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise payload_error(path_of(element), f"'{raw}' is not a boolean")


def parse_datetime(element: Element) -> Timestamp:
    raw = text(element)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise payload_error(path_of(element), f"'{raw}' is not a dateTime") from None
    if moment.tzinfo is None:
        raise payload_error(path_of(element), f"'{raw}' has no time zone (Z or an offset)")
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_datetime(stamp: Timestamp) -> str:
    """xsd:dateTime in UTC (``Z``), microseconds only when there are any, and the
    year always in four digits (``strftime`` drops the zeros of years before 1000)."""
    moment = _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
    return moment.isoformat().removesuffix("+00:00") + "Z"


def sub(parent: Element, namespace: str | None, name: str, value: str | None = None) -> Element:
    """Append a child element (unqualified when namespace is None) with optional text."""
    tag = qname(namespace, name) if namespace else name
    element = etree.SubElement(parent, tag)
    if value is not None:
        element.text = value
    return element


def sub_nil(parent: Element, namespace: str | None, name: str) -> Element:
    element = sub(parent, namespace, name)
    element.set(qname(XSI, "nil"), "true")
    return element


def xml_bool(value: bool) -> str:
    return "true" if value else "false"
