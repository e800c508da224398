"""Subject distinguished names compared as RFC 4514 names.

Attribute types are compared by OID, values case-insensitively with
insignificant spaces removed; RDN order is significant.  Kept apart from the
TLS plumbing in ``security.py`` so that configuration can check DNs without
loading the HTTP stack.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import NameOID

CanonicalDn = tuple[tuple[tuple[str, str], ...], ...]


class InvalidDnError(ValueError):
    """A configured or forwarded DN is not an RFC 4514 name."""


def _normalise(value: str) -> str:
    return " ".join(value.split()).casefold()


def canonical_name(name: x509.Name) -> CanonicalDn:
    return tuple(
        tuple(
            sorted(
                (attribute.oid.dotted_string, _normalise(str(attribute.value))) for attribute in rdn
            )
        )
        for rdn in name.rdns
    )


# Attribute type keywords are case-insensitive (RFC 4514 section 3).
_KEYWORDS = {
    keyword.casefold(): keyword
    for keyword in ("CN", "L", "ST", "O", "OU", "C", "STREET", "DC", "UID")
}
_KEYWORD_OIDS = {
    "emailaddress": NameOID.EMAIL_ADDRESS,
    "serialnumber": NameOID.SERIAL_NUMBER,
}
_SEPARATOR = re.compile(r"(?<!\\)([,+])")


def _tidy(text: str) -> str:
    """Keywords in upper case, spaces around separators dropped (a common laxity)."""
    tidy: list[str] = []
    for part in _SEPARATOR.split(text.strip()):
        if part in (",", "+"):
            tidy.append(part)
            continue
        kind, equals, value = part.partition("=")
        if not equals:
            raise InvalidDnError(f"'{text}' is not an RFC 4514 distinguished name")
        kind = kind.strip()
        folded = kind.casefold()
        if folded in _KEYWORD_OIDS:
            kind = _KEYWORD_OIDS[folded].dotted_string
        tidy.append(f"{_KEYWORDS.get(folded, kind)}={value.strip()}")
    return "".join(tidy)


def canonical_dn(text: str) -> CanonicalDn:
    """The comparable form of an RFC 4514 DN string."""
    try:
        name = x509.Name.from_rfc4514_string(_tidy(text))
    except InvalidDnError:
        raise
    except ValueError as exc:
        raise InvalidDnError(f"'{text}' is not an RFC 4514 distinguished name: {exc}") from None
    if not name.rdns:
        raise InvalidDnError("an empty distinguished name")
    return canonical_name(name)
