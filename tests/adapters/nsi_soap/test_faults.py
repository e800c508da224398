"""NSI errors become valid SOAP faults with a precise serviceException."""

from __future__ import annotations

from adapters.nsi_soap.faults import build_fault, missing_parameter, unauthorized
from adapters.nsi_soap.namespaces import CONNECTION_TYPES, SOAP_ENV, qname
from tests.adapters.nsi_soap.schemas import NsiSchemas

NSA = "urn:ogf:network:example.net:2025:nsa"


def test_missing_parameter_fault_names_the_element(nsi_schemas: NsiSchemas) -> None:
    error = missing_parameter("reserve/criteria")
    root = nsi_schemas.check(build_fault(error.to_proto(NSA)))
    exception = root.find(f".//{qname(CONNECTION_TYPES, 'serviceException')}")
    assert exception is not None
    assert exception.findtext("errorId") == "00101"
    assert exception.findtext("nsaId") == NSA
    assert exception.findtext("text", "").startswith("MISSING_PARAMETER: ")
    assert exception.findtext("variables/variable/value") == "reserve/criteria"
    fault = root.find(f".//{qname(SOAP_ENV, 'Fault')}")
    assert fault is not None
    assert fault.findtext("faultcode") == "soapenv:Server"


def test_sync_fault_uses_the_error_element(nsi_schemas: NsiSchemas) -> None:
    root = nsi_schemas.check(build_fault(unauthorized("who?").to_proto(NSA), sync=True))
    error = root.find(f".//{qname(CONNECTION_TYPES, 'error')}")
    assert error is not None
    assert error.findtext("serviceException/errorId") == "00302"
    assert error.findtext("serviceException/text") == (
        "UNAUTHORIZED: Insufficient authorization to perform requested operation [who?]"
    )
