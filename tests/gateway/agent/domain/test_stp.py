"""STP identifiers and VLAN ranges."""

from __future__ import annotations

import pytest

from gateway.agent.domain.errors import NsiError
from gateway.agent.domain.stp import VlanRanges, parse_stp


def test_parses_network_local_id_and_vlan_ranges() -> None:
    stp = parse_stp("urn:ogf:network:example.net:2025:topology:port-1?vlan=100-199,300")
    assert stp.network_id == "example.net:2025:topology"
    assert stp.local_id == "port-1"
    assert stp.vlans == VlanRanges(((100, 199), (300, 300)))
    assert str(stp) == "urn:ogf:network:example.net:2025:topology:port-1?vlan=100-199,300"
    assert stp.with_vlan(120) == "urn:ogf:network:example.net:2025:topology:port-1?vlan=120"


def test_an_stp_without_label_has_no_vlans() -> None:
    assert parse_stp("urn:ogf:network:example.net:2025:x:p").vlans is None


def test_ranges_are_merged_and_sorted() -> None:
    assert str(VlanRanges.parse("300,100-150,151-160,120")) == "100-160,300"
    assert 155 in VlanRanges.parse("100-160")
    assert 161 not in VlanRanges.parse("100-160")


@pytest.mark.parametrize(
    ("text", "error_id"),
    [
        ("port-1", "00701"),
        ("urn:ogf:network:nocolon", "00701"),
        ("urn:ogf:network::port", "00701"),
        ("urn:ogf:network:net:port?vlan=", "00709"),
        ("urn:ogf:network:net:port?vlan=abc", "00709"),
        ("urn:ogf:network:net:port?vlan=200-100", "00709"),
        ("urn:ogf:network:net:port?vlan=0-10", "00709"),
        ("urn:ogf:network:net:port?vlan=4000-4095", "00709"),
        ("urn:ogf:network:net:port?vlan=1-2-3", "00709"),
        ("urn:ogf:network:net:port?vlan", "00709"),
        ("urn:ogf:network:net:port?mpls=16", "00708"),
        ("urn:ogf:network:net:port?vlan=1&vlan=2", "00709"),
    ],
)
def test_bad_identifiers_name_the_variable(text: str, error_id: str) -> None:
    with pytest.raises(NsiError) as caught:
        parse_stp(text, variable="sourceSTP")
    assert caught.value.error_id == error_id
    assert caught.value.variables == [("sourceSTP", text)]


def test_intersection_and_subset() -> None:
    a, b = VlanRanges.parse("100-200"), VlanRanges.parse("150-250,300")
    assert str(a.intersect(b)) == "150-200"
    assert VlanRanges.parse("150-160").is_subset_of(a)
    assert not b.is_subset_of(a)
    assert not VlanRanges.parse("10").intersect(a)
