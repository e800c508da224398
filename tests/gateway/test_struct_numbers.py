"""Whole numbers back from a google.protobuf.Struct."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from gateway.struct_numbers import whole_numbers


def test_integral_numbers_come_back_as_integers_at_any_depth() -> None:
    struct = struct_pb2.Struct()
    struct.update({"vlan-id": 200, "ratio": 0.5, "ports": [{"mtu": 9000}], "name": "pe1"})
    plain = json_format.MessageToDict(struct)
    assert plain["vlan-id"] == 200.0  # what the Struct gives back
    assert whole_numbers(plain) == {
        "vlan-id": 200,
        "ratio": 0.5,
        "ports": [{"mtu": 9000}],
        "name": "pe1",
    }
    assert isinstance(whole_numbers(plain)["ports"][0]["mtu"], int)
