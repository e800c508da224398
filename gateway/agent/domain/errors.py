"""The NSI error catalogue (CS 2.1) and the exception that carries one.

Every refusal names the offending input in ``variables`` as (type, value)
pairs, so a requester can tell which element was wrong.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """NSI error ids with their names, as carried in serviceException."""

    GENERIC_MESSAGE_PAYLOAD_ERROR = ("00100", "Illegal message payload")
    MISSING_PARAMETER = ("00101", "Invalid or missing parameter")
    UNSUPPORTED_PARAMETER = ("00102", "Provided parameter contains an unsupported value")
    NOT_IMPLEMENTED = ("00103", "Requested feature has not been implemented")
    VERSION_NOT_SUPPORTED = ("00104", "The protocol version requested is not supported")
    GENERIC_CONNECTION_ERROR = ("00200", "A connection error has occurred")
    INVALID_TRANSITION = (
        "00201",
        "Connection state machine is in invalid state for received message",
    )
    RESERVATION_NONEXISTENT = ("00203", "Schedule does not exist for connectionId")
    GENERIC_SECURITY_ERROR = ("00300", "A security error has occurred")
    UNAUTHORIZED = ("00302", "Insufficient authorization to perform requested operation")
    GENERIC_METADATA_ERROR = ("00400", "A topology or path computation error has occurred")
    DOMAIN_LOOKUP_ERROR = ("00405", "Unknown network for requested resource")
    NSA_LOOKUP_ERROR = ("00406", "Cannot map networkId to service interface")
    NO_SERVICEPLANE_PATH_FOUND = ("00407", "No service plane path for selected connection segments")
    GENERIC_INTERNAL_ERROR = ("00500", "An internal error has caused a message processing failure")
    CHILD_SEGMENT_ERROR = ("00502", "Child connection segment error is present")
    MESSAGE_DELIVERY_ERROR = ("00503", "Failed message delivery to peer NSA")
    GENERIC_RESOURCE_UNAVAILABLE = ("00600", "A requested resource(s) is not available")
    GENERIC_SERVICE_ERROR = ("00700", "A service specific error has occurred")
    UNKNOWN_STP = ("00701", "Could not find STP in topology database")
    LABEL_SWAPPING_NOT_SUPPORTED = ("00703", "Label swapping not supported for requested path")
    STP_UNAVALABLE = ("00704", "Specified STP already in use")
    CAPACITY_UNAVAILABLE = ("00705", "Insufficient capacity available for reservation")
    DIRECTIONALITY_MISMATCH = ("00706", "Directionality of specified STP does not match request")
    INVALID_ERO_MEMBER = ("00707", "Invalid ERO member detected")
    UNKNOWN_LABEL_TYPE = ("00708", "Specified STP contains an unknown label type")
    INVALID_LABEL_FORMAT = ("00709", "Specified STP contains an invalid label")
    NO_TRANSPORTPLANE_PATH_FOUND = ("00710", "Path computation failed to resolve route")
    GENERIC_RM_ERROR = ("00800", "An internal (N)RM error has caused a message processing failure")

    @property
    def error_id(self) -> str:
        return self.value[0]

    @property
    def description(self) -> str:
        return self.value[1]

    @classmethod
    def by_id(cls, error_id: str) -> ErrorCode:
        """The code of ``error_id``; an unknown id is understood as its class (``xx00``)."""
        for code in cls:
            if code.error_id == error_id:
                return code
        klass = error_id[:3] + "00"
        for code in cls:
            if code.error_id == klass:
                return code
        return cls.GENERIC_INTERNAL_ERROR


Variable = tuple[str, str]

# Names of the variables, as NSI requesters know the elements.
CONNECTION_ID = "connectionId"
CORRELATION_ID = "correlationId"
PROVIDER_NSA = "providerNSA"
REQUESTER_NSA = "requesterNSA"
SOURCE_STP = "sourceSTP"
DEST_STP = "destSTP"
CAPACITY = "capacity"
START_TIME = "startTime"
END_TIME = "endTime"
VERSION = "version"
DIRECTIONALITY = "directionality"
SERVICE_TYPE = "serviceType"
STP_ID = "stpId"
VLAN = "vlan"


class NsiError(Exception):
    """A refusal or failure with its NSI error id, text and offending variables."""

    def __init__(self, code: ErrorCode, detail: str = "", variables: list[Variable] | None = None):
        self.code = code
        self.detail = detail
        self.variables: list[Variable] = list(variables or [])
        super().__init__(self.text)

    @property
    def error_id(self) -> str:
        return self.code.error_id

    @property
    def text(self) -> str:
        """``CODE_NAME: description [detail]`` as NSI texts are written."""
        base = f"{self.code.name}: {self.code.description}"
        return f"{base} [{self.detail}]" if self.detail else base

    def __repr__(self) -> str:
        return f"NsiError({self.error_id}, {self.detail!r}, {self.variables!r})"
