"""Reservation criteria: schedule, serviceType and the point-to-point service (p2ps).

Mapping rules the contract cannot express by itself:

- Schedule times: an absent ``startTime``/``endTime`` leaves the Timestamp
  unset; a nil one (``xsi:nil="true"``: start now / no end) is the Unix epoch
  (``NIL_TIME``).  In a first reserve both mean the same; in a modify absent
  means "unchanged" and nil means "now"/"indefinite".  The reverse mapping is
  the same, so nil and absent survive a round trip.
- A modify may carry a full ``p2ps`` or a bare ``<p2p:capacity>``; both
  become ``ptps`` (the bare form with only ``capacity`` set).
- ``ero`` members are ordered by their ``order`` attribute; ``parameter``
  elements become the ``parameters`` map (type -> value).
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from adapters.nsi_soap.elements import (
    Element,
    child,
    children,
    format_datetime,
    is_nil,
    local_name,
    namespace_of,
    optional_text,
    parse_bool,
    parse_datetime,
    parse_int,
    path_of,
    required,
    required_text,
    sub,
    sub_nil,
    text,
    xml_bool,
)
from adapters.nsi_soap.faults import payload_error, unsupported_parameter
from adapters.nsi_soap.namespaces import POINT2POINT
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import connection_requester_pb2 as requester_pb2
from nsgw_proto.nsi import services_pb2

NIL_TIME = Timestamp(seconds=0, nanos=0)

_DIRECTIONALITY = {
    "Bidirectional": services_pb2.BI_DIRECTIONAL,
    "Unidirectional": services_pb2.UNI_DIRECTIONAL,
}
_DIRECTIONALITY_NAMES = {value: name for name, value in _DIRECTIONALITY.items()}


# --- schedule -----------------------------------------------------------------


def _read_time(schedule: Element, name: str, target: Timestamp) -> None:
    element = child(schedule, None, name)
    if element is None:
        return
    target.SetInParent()
    if is_nil(element):
        target.CopyFrom(NIL_TIME)
    else:
        target.CopyFrom(parse_datetime(element))


def read_schedule(element: Element) -> common_pb2.Schedule:
    schedule = common_pb2.Schedule()
    _read_time(element, "startTime", schedule.start_time)
    _read_time(element, "endTime", schedule.end_time)
    # CopyFrom on a submessage marks it present even when copying the epoch.
    return schedule


def add_schedule(parent: Element, schedule: common_pb2.Schedule) -> None:
    element = sub(parent, None, "schedule")
    times = (
        ("startTime", schedule.HasField("start_time"), schedule.start_time),
        ("endTime", schedule.HasField("end_time"), schedule.end_time),
    )
    for name, present, stamp in times:
        if not present:
            continue
        if stamp == NIL_TIME:
            sub_nil(element, None, name)
        else:
            sub(element, None, name, format_datetime(stamp))


# --- point-to-point service ----------------------------------------------------------


def read_p2ps(element: Element) -> services_pb2.PointToPointService:
    service = services_pb2.PointToPointService(
        capacity=parse_int(required(element, None, "capacity")),
        source_stp=required_text(element, None, "sourceSTP"),
        dest_stp=required_text(element, None, "destSTP"),
    )
    direction = child(element, None, "directionality")
    if direction is not None:
        try:
            service.directionality = _DIRECTIONALITY[text(direction)]
        except KeyError:
            raise payload_error(
                path_of(direction), f"'{text(direction)}' is not a direction"
            ) from None
    symmetric = child(element, None, "symmetricPath")
    if symmetric is not None:
        service.symmetric_path = parse_bool(symmetric)
    ero = child(element, None, "ero")
    if ero is not None:
        members = [
            (parse_int(item, item.get("order")), required_text(item, None, "stp"))
            for item in children(ero, None, "orderedSTP")
        ]
        service.eros.extend(stp for _, stp in sorted(members))
    for parameter in children(element, None, "parameter"):
        kind = parameter.get("type")
        if not kind:
            raise payload_error(path_of(parameter) + "/@type", "a parameter needs a type")
        service.parameters[kind] = parameter.text or ""
    for item in element:
        if not isinstance(item.tag, str):
            continue
        if local_name(item) in ("inclusion", "exclusion") or namespace_of(item) is not None:
            raise unsupported_parameter(path_of(item), "not supported by this provider")
    return service


def add_p2ps(parent: Element, service: services_pb2.PointToPointService) -> Element:
    element = sub(parent, POINT2POINT, "p2ps")
    sub(element, None, "capacity", str(service.capacity))
    sub(element, None, "directionality", _DIRECTIONALITY_NAMES[service.directionality])
    sub(element, None, "symmetricPath", xml_bool(service.symmetric_path))
    sub(element, None, "sourceSTP", service.source_stp)
    sub(element, None, "destSTP", service.dest_stp)
    if service.eros:
        ero = sub(element, None, "ero")
        for order, stp in enumerate(service.eros):
            member = sub(ero, None, "orderedSTP")
            member.set("order", str(order))
            sub(member, None, "stp", stp)
    for kind, value in sorted(service.parameters.items()):
        sub(element, None, "parameter", value).set("type", kind)
    return element


# --- criteria ----------------------------------------------------------------------


def _read_version(element: Element, required_attribute: bool) -> int:
    raw = element.get("version")
    if raw is None:
        if required_attribute:
            raise payload_error(path_of(element) + "/@version", "version is required")
        return 0
    return parse_int(element, raw)


def _read_service(element: Element) -> services_pb2.PointToPointService | None:
    """The p2ps (or bare capacity) among the criteria's extension elements."""
    service: services_pb2.PointToPointService | None = None
    for item in element:
        if not isinstance(item.tag, str) or namespace_of(item) is None:
            continue
        name = local_name(item)
        if namespace_of(item) == POINT2POINT and name in ("p2ps", "capacity") and service is None:
            if name == "p2ps":
                service = read_p2ps(item)
            else:
                service = services_pb2.PointToPointService(capacity=parse_int(item))
            continue
        raise unsupported_parameter(path_of(item), "service element not supported")
    return service


def read_request_criteria(element: Element) -> provider_pb2.ReservationRequestCriteria:
    criteria = provider_pb2.ReservationRequestCriteria(version=_read_version(element, False))
    schedule = child(element, None, "schedule")
    if schedule is not None:
        criteria.schedule.CopyFrom(read_schedule(schedule))
    criteria.service_type = optional_text(element, None, "serviceType")
    service = _read_service(element)
    if service is not None:
        criteria.ptps.CopyFrom(service)
    return criteria


def add_request_criteria(
    parent: Element, criteria: provider_pb2.ReservationRequestCriteria
) -> None:
    element = sub(parent, None, "criteria")
    element.set("version", str(criteria.version))
    if criteria.HasField("schedule"):
        add_schedule(element, criteria.schedule)
    if criteria.service_type:
        sub(element, None, "serviceType", criteria.service_type)
    if criteria.HasField("ptps"):
        service = criteria.ptps
        if service.source_stp or service.dest_stp:
            add_p2ps(element, service)
        else:
            sub(element, POINT2POINT, "capacity", str(service.capacity))


def read_confirm_criteria(element: Element) -> requester_pb2.ReservationConfirmCriteria:
    criteria = requester_pb2.ReservationConfirmCriteria(version=_read_version(element, True))
    criteria.schedule.CopyFrom(read_schedule(required(element, None, "schedule")))
    criteria.serviceType = required_text(element, None, "serviceType")
    service = _read_service(element)
    if service is not None:
        criteria.ptps.CopyFrom(service)
    return criteria


def add_confirm_criteria(
    parent: Element, criteria: requester_pb2.ReservationConfirmCriteria
) -> None:
    element = sub(parent, None, "criteria")
    element.set("version", str(criteria.version))
    add_schedule(element, criteria.schedule)
    sub(element, None, "serviceType", criteria.serviceType)
    if criteria.HasField("ptps"):
        add_p2ps(element, criteria.ptps)


def add_result_criteria(
    parent: Element, criteria: requester_pb2.QueryResultCriteria, *, with_children: bool
) -> None:
    element = sub(parent, None, "criteria")
    element.set("version", str(criteria.version))
    add_schedule(element, criteria.schedule)
    sub(element, None, "serviceType", criteria.service_type)
    if with_children and criteria.child:
        holder = sub(element, None, "children")
        for item in criteria.child:
            child_element = sub(holder, None, "child")
            child_element.set("order", str(item.order))
            sub(child_element, None, "connectionId", item.connection_id)
            sub(child_element, None, "providerNSA", item.provider_nsa)
            sub(child_element, None, "serviceType", item.service_type)
    if criteria.HasField("ptps"):
        add_p2ps(element, criteria.ptps)


def read_result_criteria(element: Element) -> requester_pb2.QueryResultCriteria:
    criteria = requester_pb2.QueryResultCriteria(version=_read_version(element, True))
    criteria.schedule.CopyFrom(read_schedule(required(element, None, "schedule")))
    criteria.service_type = required_text(element, None, "serviceType")
    holder = child(element, None, "children")
    if holder is not None:
        for item in children(holder, None, "child"):
            criteria.child.add(
                order=parse_int(item, item.get("order", "0")),
                connection_id=required_text(item, None, "connectionId"),
                provider_nsa=required_text(item, None, "providerNSA"),
                service_type=optional_text(item, None, "serviceType"),
            )
    service = _read_service(element)
    if service is not None:
        criteria.ptps.CopyFrom(service)
    return criteria
