"""Criteria and p2ps: nil vs absent times, both modify forms, ERO, parameters, refusals."""

from __future__ import annotations

import pytest
from lxml import etree

from adapters.nsi_soap.criteria import (
    NIL_TIME,
    add_request_criteria,
    read_request_criteria,
)
from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.namespaces import CONNECTION_TYPES, XSI
from adapters.nsi_soap.provider_messages import build_provider_request
from nsgw_proto.nsi import connection_common_pb2 as common_pb2
from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from nsgw_proto.nsi import services_pb2
from tests.adapters.nsi_soap import samples
from tests.adapters.nsi_soap.schemas import NsiSchemas

P2P = "http://schemas.ogf.org/nsi/2013/12/services/point2point"


def criteria(inner: str, version: str = ' version="2"') -> etree._Element:
    return etree.fromstring(
        f'<criteria{version} xmlns:xsi="{XSI}" xmlns:p="{P2P}">{inner}</criteria>'
    )


def modify(criteria_proto: provider_pb2.ReservationRequestCriteria) -> bytes:
    request = provider_pb2.ReserveRequest(
        header=samples.header(), connection_id="conn-1", criteria=criteria_proto
    )
    return build_provider_request("reserve", request)


def test_nil_and_absent_times_are_told_apart() -> None:
    read = read_request_criteria(criteria('<schedule><startTime xsi:nil="true"/></schedule>'))
    assert read.schedule.HasField("start_time")
    assert read.schedule.start_time == NIL_TIME
    assert not read.schedule.HasField("end_time")


def test_nil_and_absent_times_survive_a_round_trip(nsi_schemas: NsiSchemas) -> None:
    schedule = common_pb2.Schedule()
    schedule.end_time.CopyFrom(NIL_TIME)
    data = modify(provider_pb2.ReservationRequestCriteria(version=3, schedule=schedule))
    root = nsi_schemas.check(data)
    element = root.find(f".//{{{CONNECTION_TYPES}}}reserve/criteria/schedule")
    assert element is not None
    assert element.find("startTime") is None
    end = element.find("endTime")
    assert end is not None
    assert end.get(f"{{{XSI}}}nil") == "true"
    back = read_request_criteria(element.getparent())  # type: ignore[arg-type]
    assert back.schedule == schedule


def test_bare_capacity_modify(nsi_schemas: NsiSchemas) -> None:
    read = read_request_criteria(criteria("<p:capacity>500</p:capacity>"))
    assert read.ptps == services_pb2.PointToPointService(capacity=500)
    assert read.version == 2
    assert not read.HasField("schedule")
    # and back out as the same bare form, valid against both schemas
    root = nsi_schemas.check(modify(read))
    assert root.find(f".//{{{P2P}}}capacity") is not None
    assert root.find(f".//{{{P2P}}}p2ps") is None


def test_full_p2ps_modify_keeps_every_field(nsi_schemas: NsiSchemas) -> None:
    wanted = provider_pb2.ReservationRequestCriteria(version=4, ptps=samples.p2ps())
    root = nsi_schemas.check(modify(wanted))
    element = root.find(f".//{{{CONNECTION_TYPES}}}reserve/criteria")
    assert element is not None
    assert read_request_criteria(element) == wanted


def test_parameters_and_symmetric_path() -> None:
    read = read_request_criteria(
        criteria(
            "<p:p2ps><capacity>1</capacity><directionality>Bidirectional</directionality>"
            "<symmetricPath>false</symmetricPath><sourceSTP>a</sourceSTP><destSTP>b</destSTP>"
            '<parameter type="mtu">1500</parameter></p:p2ps>'
        )
    )
    assert dict(read.ptps.parameters) == {"mtu": "1500"}
    assert read.ptps.symmetric_path is False


@pytest.mark.parametrize(
    ("inner", "error_id", "element"),
    [
        ("<p:p2ps><capacity>x</capacity></p:p2ps>", "00100", "criteria/p2ps/capacity"),
        (
            "<p:p2ps><capacity>1</capacity><directionality>Sideways</directionality>"
            "<sourceSTP>a</sourceSTP><destSTP>b</destSTP></p:p2ps>",
            "00100",
            "criteria/p2ps/directionality",
        ),
        (
            "<p:p2ps><capacity>1</capacity><sourceSTP>a</sourceSTP></p:p2ps>",
            "00101",
            "criteria/p2ps/destSTP",
        ),
        (
            "<p:p2ps><capacity>1</capacity><sourceSTP>a</sourceSTP><destSTP>b</destSTP>"
            '<inclusion type="vlan"/></p:p2ps>',
            "00102",
            "criteria/p2ps/inclusion",
        ),
        ('<x:other xmlns:x="urn:x"/>', "00102", "criteria/other"),
        (
            "<schedule><startTime>2026-12-01T10:00:00</startTime></schedule>",
            "00100",
            "criteria/schedule/startTime",
        ),
    ],
)
def test_bad_criteria_name_the_element(inner: str, error_id: str, element: str) -> None:
    with pytest.raises(NsiError) as caught:
        read_request_criteria(criteria(inner))
    assert caught.value.error_id == error_id
    assert caught.value.element == element


def test_missing_version_on_first_reserve_is_zero() -> None:
    assert read_request_criteria(criteria("", version="")).version == 0
    parent = etree.Element("x")
    add_request_criteria(parent, provider_pb2.ReservationRequestCriteria(version=0))
    assert parent.find("criteria").get("version") == "0"  # type: ignore[union-attr]
