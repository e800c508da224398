"""NSI errors as the proxy raises them, and their SOAP fault form.

An :class:`NsiError` carries what a ``serviceException`` needs; the
endpoint turns it into a SOAP 1.1 fault (``soap:Server``, HTTP 500) with the
serviceException in ``detail`` (the ``*Sync`` queries use the ``error``
element instead, as the WSDL declares).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from adapters.nsi_soap.namespaces import CONNECTION_TYPES, NSMAP, SOAP_ENV, qname
from nsgw_proto.nsi import connection_common_pb2 as common_pb2

ERROR_NAMES: dict[str, str] = {
    "00100": "GENERIC_MESSAGE_PAYLOAD_ERROR",
    "00101": "MISSING_PARAMETER",
    "00102": "UNSUPPORTED_PARAMETER",
    "00103": "NOT_IMPLEMENTED",
    "00104": "VERSION_NOT_SUPPORTED",
    "00200": "GENERIC_CONNECTION_ERROR",
    "00201": "INVALID_TRANSITION",
    "00203": "RESERVATION_NONEXISTENT",
    "00300": "GENERIC_SECURITY_ERROR",
    "00302": "UNAUTHORIZED",
    "00500": "GENERIC_INTERNAL_ERROR",
    "00503": "MESSAGE_DELIVERY_ERROR",
}

ERROR_DESCRIPTIONS: dict[str, str] = {
    "00100": "Illegal message payload",
    "00101": "Invalid or missing parameter",
    "00102": "Provided parameter contains an unsupported value that MUST be processed",
    "00103": "Requested feature has not been implemented",
    "00104": "Protocol version requested is not supported",
    "00302": "Insufficient authorization to perform requested operation",
    "00500": "An internal error has caused a message processing failure",
    "00503": "Failed message delivery to peer NSA",
}

# The variable type that names the element at fault.
ELEMENT_VARIABLE = "element"


class NsiError(Exception):
    """A refusal with an NSI error id; ``element`` names the input at fault, if any."""

    def __init__(
        self,
        error_id: str,
        detail: str,
        *,
        element: str | None = None,
        connection_id: str = "",
    ) -> None:
        self.error_id = error_id
        self.detail = detail
        self.element = element
        self.connection_id = connection_id
        super().__init__(self.text)

    @property
    def text(self) -> str:
        name = ERROR_NAMES.get(self.error_id, "ERROR")
        description = ERROR_DESCRIPTIONS.get(self.error_id, name.replace("_", " ").lower())
        return f"{name}: {description} [{self.detail}]"

    def to_proto(self, nsa_id: str) -> common_pb2.ServiceException:
        exception = common_pb2.ServiceException(
            nsa_id=nsa_id,
            connection_id=self.connection_id,
            error_id=self.error_id,
            text=self.text,
        )
        if self.element:
            exception.variables.add(type=ELEMENT_VARIABLE, value=self.element)
        return exception


def payload_error(element: str, detail: str) -> NsiError:
    return NsiError("00100", f"{element}: {detail}", element=element)


def missing_parameter(element: str) -> NsiError:
    return NsiError("00101", f"{element} is required", element=element)


def unsupported_parameter(element: str, detail: str) -> NsiError:
    return NsiError("00102", f"{element}: {detail}", element=element)


def unauthorized(detail: str) -> NsiError:
    return NsiError("00302", detail)


def internal_error(detail: str) -> NsiError:
    return NsiError("00500", detail)


def add_service_exception(
    parent: etree._Element, exception: common_pb2.ServiceException, namespace: str | None = None
) -> etree._Element:
    """Append ``serviceException`` (qualified with ``namespace``, or unqualified)."""
    tag = qname(namespace, "serviceException") if namespace else "serviceException"
    element = etree.SubElement(parent, tag)
    _fill_service_exception(element, exception)
    return element


def _fill_service_exception(
    element: etree._Element, exception: common_pb2.ServiceException
) -> None:
    etree.SubElement(element, "nsaId").text = exception.nsa_id
    if exception.connection_id:
        etree.SubElement(element, "connectionId").text = exception.connection_id
    if exception.service_type:
        etree.SubElement(element, "serviceType").text = exception.service_type
    etree.SubElement(element, "errorId").text = exception.error_id
    etree.SubElement(element, "text").text = exception.text
    if exception.variables:
        add_type_value_pairs(
            etree.SubElement(element, "variables"), "variable", exception.variables
        )
    for nested in exception.child_exception:
        _fill_service_exception(etree.SubElement(element, "childException"), nested)


def add_type_value_pairs(
    parent: etree._Element, name: str, pairs: Sequence[common_pb2.TypeValuePair]
) -> None:
    for pair in pairs:
        item = etree.SubElement(parent, name)
        if pair.type:
            item.set("type", pair.type)
        if pair.namespace:
            item.set("namespace", pair.namespace)
        etree.SubElement(item, "value").text = pair.value
        if pair.feedback:
            etree.SubElement(item, "feedback").text = pair.feedback


def read_type_value_pairs(parent: etree._Element, name: str) -> list[common_pb2.TypeValuePair]:
    pairs = []
    for item in parent.findall(name):
        value = item.find("value")
        feedback = item.find("feedback")
        pairs.append(
            common_pb2.TypeValuePair(
                type=item.get("type", ""),
                namespace=item.get("namespace", ""),
                value=(value.text or "") if value is not None else "",
                feedback=(feedback.text or "") if feedback is not None else "",
            )
        )
    return pairs


def read_service_exception(element: etree._Element) -> common_pb2.ServiceException:
    def text_of(name: str) -> str:
        found = element.find(name)
        return (found.text or "").strip() if found is not None else ""

    exception = common_pb2.ServiceException(
        nsa_id=text_of("nsaId"),
        connection_id=text_of("connectionId"),
        service_type=text_of("serviceType"),
        error_id=text_of("errorId"),
        text=text_of("text"),
    )
    variables = element.find("variables")
    if variables is not None:
        exception.variables.extend(read_type_value_pairs(variables, "variable"))
    for nested in element.findall("childException"):
        exception.child_exception.append(read_service_exception(nested))
    return exception


def build_fault(
    exception: common_pb2.ServiceException,
    *,
    header: etree._Element | None = None,
    sync: bool = False,
) -> bytes:
    """A SOAP 1.1 fault envelope carrying ``exception``."""
    envelope = etree.Element(qname(SOAP_ENV, "Envelope"), nsmap=NSMAP)
    if header is not None:
        etree.SubElement(envelope, qname(SOAP_ENV, "Header")).append(header)
    body = etree.SubElement(envelope, qname(SOAP_ENV, "Body"))
    fault = etree.SubElement(body, qname(SOAP_ENV, "Fault"))
    etree.SubElement(fault, "faultcode").text = "soapenv:Server"
    etree.SubElement(fault, "faultstring").text = exception.text or exception.error_id
    detail = etree.SubElement(fault, "detail")
    if sync:
        error = etree.SubElement(detail, qname(CONNECTION_TYPES, "error"))
        add_service_exception(error, exception)
    else:
        add_service_exception(detail, exception, CONNECTION_TYPES)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
