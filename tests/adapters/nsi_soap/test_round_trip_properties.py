"""Property tests: any text the contract can carry survives SOAP and back, or is refused."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.nsi_soap.faults import NsiError
from adapters.nsi_soap.requester_messages import build_callback
from adapters.nsi_soap.requester_readers import read_requester_message
from nsgw_proto.nsi import services_pb2
from tests.adapters.nsi_soap import samples

# Characters XML 1.0 can carry, minus leading/trailing whitespace where the codec trims.
XML_TEXT = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=["Cs"],
            blacklist_characters="\x00\ufffe\uffff",
            min_codepoint=0x20,
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


def xml_safe(text: str) -> bool:
    """Whether XML 1.0 can carry every character of ``text``."""
    return all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in text
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    description=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r"),
        max_size=60,
    ),
    stps=st.lists(XML_TEXT, min_size=2, max_size=5),
    parameters=st.dictionaries(XML_TEXT, XML_TEXT, max_size=3),
    capacity=st.integers(min_value=0, max_value=2**62),
)
def test_reserve_confirmed_round_trip(
    description: str, stps: list[str], parameters: dict[str, str], capacity: int
) -> None:
    message = samples.reserve_confirmed()
    message.description = description
    message.criteria.ptps.CopyFrom(
        services_pb2.PointToPointService(
            capacity=capacity,
            source_stp=stps[0],
            dest_stp=stps[-1],
            eros=stps[1:-1],
            parameters=parameters,
        )
    )
    try:
        data = build_callback("reserveConfirmed", message)
    except (ValueError, NsiError):
        assert not xml_safe(description)  # only text XML cannot hold is refused
        return
    assert xml_safe(description)
    _, back, _ = read_requester_message(data)
    assert back.description == description
    assert back.criteria.ptps == message.criteria.ptps
