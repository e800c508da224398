"""Reservation -> NSO service instance: path, default l2vlan payload, templates, callables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.agent.backends.nso_mapping import (
    DevicePort,
    MappingError,
    ServiceRequest,
    load_mapping,
)

REQUEST = ServiceRequest(
    name="c-1",
    connection_id="c-1",
    description="for the lab",
    version=1,
    capacity=250,
    source_stp="urn:ogf:network:net:a",
    dest_stp="urn:ogf:network:net:b",
    source_device="pe0",
    source_interface="GigabitEthernet0/0/0/2",
    source_vlan=210,
    dest_device="pe1",
    dest_interface="GigabitEthernet0/0/0/3",
    dest_vlan=210,
)


def custom(request: ServiceRequest) -> dict[str, Any]:
    return {"my:circuit": [{"id": request.name, "mbps": request.capacity}]}


def not_a_dict(request: ServiceRequest) -> Any:
    return [request.name]


def test_default_is_the_simulators_l2vlan_service() -> None:
    mapping = load_mapping("l2vlan:l2vlan={name}", "")
    assert mapping.path("c-1") == "l2vlan:l2vlan=c-1"
    assert mapping.payload(REQUEST) == {
        "l2vlan:l2vlan": [
            {
                "name": "c-1",
                "vlan-id": 210,
                "capacity-mbps": 250,
                "endpoint": [
                    {"device": "pe0", "interface": "GigabitEthernet0/0/0/2"},
                    {"device": "pe1", "interface": "GigabitEthernet0/0/0/3"},
                ],
            }
        ]
    }


def test_instance_names_are_percent_encoded_in_the_path() -> None:
    assert load_mapping("svc:svc={name}", "").path("a/b c") == "svc:svc=a%2Fb%20c"


def test_l2vlan_cannot_carry_two_vlans() -> None:
    swapped = ServiceRequest(**{**REQUEST.__dict__, "dest_vlan": 211})
    with pytest.raises(MappingError, match="one VLAN"):
        load_mapping("l2vlan:l2vlan={name}", "").payload(swapped)


def test_a_jinja2_template_renders_the_payload(tmp_path: Path) -> None:
    template = tmp_path / "svc.j2"
    template.write_text(
        '{"evc:evc": [{"name": "{{ name }}", "s-vlan": {{ source_vlan }}, '
        '"a": "{{ source_device }} {{ source_interface }}", "note": "{{ description }}"}]}'
    )
    body = load_mapping("evc:evc={name}", str(template)).payload(REQUEST)
    assert body == {
        "evc:evc": [
            {
                "name": "c-1",
                "s-vlan": 210,
                "a": "pe0 GigabitEthernet0/0/0/2",
                "note": "for the lab",
            }
        ]
    }


def test_a_template_that_does_not_render_json_is_refused_by_name(tmp_path: Path) -> None:
    template = tmp_path / "bad.j2"
    template.write_text("vlan {{ source_vlan }}")
    mapping = load_mapping("x:x={name}", str(template))
    with pytest.raises(MappingError, match=r"bad\.j2 did not render JSON"):
        mapping.payload(REQUEST)


def test_a_template_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "typo.j2"
    template.write_text('{"v": {{ vlan_id }}}')
    with pytest.raises(MappingError, match="vlan_id"):
        load_mapping("x:x={name}", str(template)).payload(REQUEST)


def test_a_missing_template_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping("x:x={name}", str(tmp_path / "nope.j2"))


def test_a_python_callable_builds_the_payload() -> None:
    spec = f"{__name__}:custom"
    assert load_mapping("my:circuit={name}", spec).payload(REQUEST) == {
        "my:circuit": [{"id": "c-1", "mbps": 250}]
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:f", "cannot import"),
        (f"{__name__}:missing", "no callable missing"),
        ("justaname", "expected module:function"),
    ],
)
def test_bad_callables_are_refused_at_load(spec: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping("x:x={name}", spec)


def test_a_callable_returning_no_object_is_refused() -> None:
    with pytest.raises(MappingError, match="not a JSON object"):
        load_mapping("x:x={name}", f"{__name__}:not_a_dict").payload(REQUEST)


def test_the_path_must_name_the_instance() -> None:
    with pytest.raises(MappingError, match=r"\{name\}"):
        load_mapping("l2vlan:l2vlan=fixed", "")


@pytest.mark.parametrize("port", ["Gi0/1", ":Gi0/1", "pe0:", "pe0"])
def test_ports_must_name_device_and_interface(port: str) -> None:
    with pytest.raises(MappingError, match="device:interface"):
        DevicePort.parse(port, "stp-1")


def test_port_splits_at_the_first_colon() -> None:
    assert DevicePort.parse("pe0:GigabitEthernet0/0/0/1") == DevicePort(
        "pe0", "GigabitEthernet0/0/0/1"
    )
