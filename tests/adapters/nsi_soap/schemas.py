"""Validation of NSI SOAP messages against the official XSDs (test-time only)."""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from adapters.nsi_soap.namespaces import (
    CONNECTION_TRACE,
    CONNECTION_TYPES,
    HEADERS,
    PATH_TRACE,
    POINT2POINT,
    SOAP_ENV,
    qname,
)
from tests.conftest import NSI_SCHEMAS, REPO_ROOT

SCHEMA_FILES = {
    SOAP_ENV: "envelope.xsd",
    CONNECTION_TYPES: "ogf_nsi_connection_types_v2_0.xsd",
    HEADERS: "ogf_nsi_framework_headers_v2_0.xsd",
    POINT2POINT: "ogf_nsi_services_p2p_v2_0.xsd",
    PATH_TRACE: "pathtrace.xsd",
    CONNECTION_TRACE: "extensions/gnsbod.xsd",
}


def schema_directory() -> Path:
    """The official schemas: ``NSI_SCHEMAS`` (sibling of the checkout), else the nearest
    ``shared/nsi-schemas`` above the checkout (a worktree sits one level deeper)."""
    if (NSI_SCHEMAS / "envelope.xsd").is_file():
        return NSI_SCHEMAS
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "nsi-schemas"
        if (candidate / "envelope.xsd").is_file():
            return candidate
    raise FileNotFoundError(f"the official NSI schemas are not in {NSI_SCHEMAS} or above")


class NsiSchemas:
    """One compiled schema set; :meth:`check` validates a whole message strictly."""

    def __init__(self, directory: Path) -> None:
        for name in SCHEMA_FILES.values():
            if not (directory / name).is_file():
                raise FileNotFoundError(directory / name)
        imports = "".join(
            f'<xsd:import namespace="{ns}" schemaLocation="{name}"/>'
            for ns, name in SCHEMA_FILES.items()
        )
        driver = (
            '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            f'targetNamespace="urn:nsgw:test:driver">{imports}</xsd:schema>'
        )
        self.schema = etree.XMLSchema(
            etree.fromstring(driver.encode(), base_url=(directory / "driver.xsd").as_uri())
        )

    def _strict(self, element: etree._Element) -> None:
        """Validate ``element`` as a document root (so it must be a declared element)."""
        standalone = etree.ElementTree(copy.deepcopy(element))
        if not self.schema.validate(standalone):
            raise AssertionError(
                f"{etree.QName(element).localname} is not valid: {self.schema.error_log}\n"
                + etree.tostring(element, pretty_print=True).decode()
            )

    def check(self, data: bytes) -> etree._Element:
        """The parsed envelope, after asserting every part of it is valid."""
        root = etree.fromstring(data)
        self._strict(root)
        assert root.tag == qname(SOAP_ENV, "Envelope")
        header = root.find(f"{qname(SOAP_ENV, 'Header')}/{qname(HEADERS, 'nsiHeader')}")
        body = root.find(qname(SOAP_ENV, "Body"))
        assert body is not None
        assert len(body) == 1
        message = body[0]
        self._strict(message)
        if message.tag == qname(SOAP_ENV, "Fault"):
            detail = message.find("detail")
            assert detail is not None
            assert len(detail) == 1
            self._strict(detail[0])
        else:
            assert header is not None, "an NSI message needs an nsiHeader"
        if header is not None:
            self._strict(header)
            for extension in header:
                if etree.QName(extension).namespace not in (None, HEADERS):
                    self._strict(extension)
        for service in root.iter(qname(POINT2POINT, "p2ps"), qname(POINT2POINT, "capacity")):
            self._strict(service)
        return root
