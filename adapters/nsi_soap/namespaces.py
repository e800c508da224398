"""XML namespaces, protocol versions, operation names and SOAPAction values of NSI CS v2."""

from __future__ import annotations

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CONNECTION_TYPES = "http://schemas.ogf.org/nsi/2013/12/connection/types"
HEADERS = "http://schemas.ogf.org/nsi/2013/12/framework/headers"
FRAMEWORK_TYPES = "http://schemas.ogf.org/nsi/2013/12/framework/types"
SERVICES_TYPES = "http://schemas.ogf.org/nsi/2013/12/services/types"
POINT2POINT = "http://schemas.ogf.org/nsi/2013/12/services/point2point"
PATH_TRACE = "http://schemas.ogf.org/nsi/2015/04/connection/pathtrace"
CONNECTION_TRACE = "http://nordu.net/namespaces/2013/12/gnsbod"

# Prefixes used on the messages the proxy builds.
NSMAP: dict[str | None, str] = {
    "soapenv": SOAP_ENV,
    "head": HEADERS,
    "ctypes": CONNECTION_TYPES,
    "ftypes": FRAMEWORK_TYPES,
    "p2p": POINT2POINT,
    "stypes": SERVICES_TYPES,
}

PROVIDER_PROTOCOL = "application/vnd.ogf.nsi.cs.v2.provider+soap"
REQUESTER_PROTOCOL = "application/vnd.ogf.nsi.cs.v2.requester+soap"

CONTENT_TYPE = "text/xml; charset=utf-8"
SOAP_ACTION_BASE = "http://schemas.ogf.org/nsi/2013/12/connection/service/"

PROVIDER_OPERATIONS: tuple[str, ...] = (
    "reserve",
    "reserveCommit",
    "reserveAbort",
    "provision",
    "release",
    "terminate",
    "querySummary",
    "querySummarySync",
    "queryRecursive",
    "queryNotification",
    "queryNotificationSync",
    "queryResult",
    "queryResultSync",
)

REQUESTER_OPERATIONS: tuple[str, ...] = (
    "reserveConfirmed",
    "reserveFailed",
    "reserveCommitConfirmed",
    "reserveCommitFailed",
    "reserveAbortConfirmed",
    "provisionConfirmed",
    "releaseConfirmed",
    "terminateConfirmed",
    "querySummaryConfirmed",
    "queryRecursiveConfirmed",
    "queryNotificationConfirmed",
    "queryResultConfirmed",
    "error",
    "errorEvent",
    "dataPlaneStateChange",
    "reserveTimeout",
    "messageDeliveryTimeout",
)


def soap_action(operation: str) -> str:
    """The quoted SOAPAction header value of an operation."""
    return f'"{SOAP_ACTION_BASE}{operation}"'


def qname(namespace: str, local: str) -> str:
    """Clark notation ``{namespace}local`` as lxml uses it."""
    return f"{{{namespace}}}{local}"
