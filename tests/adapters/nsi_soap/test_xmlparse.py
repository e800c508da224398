"""The hardened parser refuses what could harm the process, and parses the rest."""

from __future__ import annotations

import pytest

from adapters.nsi_soap.xmlparse import UnsafeXmlError, XmlLimits, parse_document, parse_fragment

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="document type declarations"):
        parse_document(BILLION_LAUGHS)


def test_external_entity_is_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="document type declarations"):
        parse_document(XXE)


def test_doctype_in_utf16_is_refused_too() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'
    with pytest.raises(UnsafeXmlError):
        parse_document(data.encode("utf-16"))


def test_size_limit() -> None:
    with pytest.raises(UnsafeXmlError, match="exceeds the limit of 100"):
        parse_document(b"<a>" + b"x" * 200 + b"</a>", XmlLimits(max_bytes=100))


def test_depth_limit() -> None:
    deep = b"<a>" * 20 + b"</a>" * 20
    assert parse_document(deep, XmlLimits(max_depth=20)).tag == "a"
    with pytest.raises(UnsafeXmlError, match="deeper than 19"):
        parse_document(deep, XmlLimits(max_depth=19))


def test_malformed_xml_names_the_problem() -> None:
    with pytest.raises(UnsafeXmlError, match="malformed XML"):
        parse_document(b"<a><b></a>")


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse_document(b"<a><!-- note --><?pi x?><b>1</b></a>")
    assert [child.tag for child in root] == ["b"]


def test_fragment_with_siblings() -> None:
    elements = parse_fragment('<x xmlns="urn:a">1</x><y>2</y>')
    assert [element.text for element in elements] == ["1", "2"]
    assert parse_fragment("  ") == []
