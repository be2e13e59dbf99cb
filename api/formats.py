"""Kubernetes' string formats (IP addresses, DNS-1123 names), shared by the models and the CEL library.

The pydantic models and the CRD's CEL rules must give the same verdict on every value, so both call the
functions here. They follow Kubernetes' own definitions: `isIP()` of the CEL IP library (no zones, no
IPv4 leading zeros, no IPv4-mapped IPv6) and `k8s.io/apimachinery/pkg/util/validation` for the DNS
names, with the same error texts.
"""

from __future__ import annotations

import ipaddress
import re

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = re.compile(_DNS1035_LABEL_FMT)
_ALPHANUMERIC = re.compile("[A-Za-z0-9]+")


def is_alphanumeric(value: str) -> bool:
    """CEL `self.matches('^[A-Za-z0-9]+$')` (RE2: `$` is the end of text, not before a final newline)."""
    return _ALPHANUMERIC.fullmatch(value) is not None


def is_ip(value: str) -> bool:
    """Kubernetes CEL `isIP()`: an IPv4 or IPv6 address; no zone, no CIDR, no IPv4-mapped IPv6 address."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return address.scope_id is None and address.ipv4_mapped is None
    return True


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _regex_error(what: str, fmt: str, examples: str) -> str:
    return f"{what} (e.g. {examples}, regex used for validation is '{fmt}')"


def dns1123_subdomain_errors(value: str) -> list[str]:
    """`validation.IsDNS1123Subdomain`: the reasons `value` is not a DNS-1123 subdomain ([] when it is)."""
    errors = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if _DNS1123_SUBDOMAIN.fullmatch(value) is None:
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                "'.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "'example.com'",
            )
        )
    return errors


def dns1123_label_errors(value: str) -> list[str]:
    """`validation.IsDNS1123Label`: the reasons `value` is not a DNS-1123 label ([] when it is)."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if _DNS1123_LABEL.fullmatch(value) is None:
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                "must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "'my-name',  or '123-abc'",
            )
        )
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """`validation.IsDNS1035Label`: the reasons `value` is not a DNS-1035 label ([] when it is)."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if _DNS1035_LABEL.fullmatch(value) is None:
        errors.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "'my-name',  or 'abc-123'",
            )
        )
    return errors


def is_dns1123_subdomain(value: str) -> bool:
    """Kubernetes `format.dns1123Subdomain().validate(value)` has no error."""
    return not dns1123_subdomain_errors(value)


def is_host(value: str) -> bool:
    """The endpoint host rule: an IP address or a DNS-1123 subdomain."""
    return is_ip(value) or is_dns1123_subdomain(value)
