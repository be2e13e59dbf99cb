"""TLS checks a replica (or a clone recipient) makes when it connects to a source with SSL.

A replication or clone connection inside the simulator is not a real socket, so the certificate checks the
MySQL client library would make are done here on the source instance's real certificate: VERIFY_CA (the
certificate chains to a CA in SOURCE_SSL_CA / SOURCE_SSL_CAPATH) and VERIFY_IDENTITY
(SOURCE_SSL_VERIFY_SERVER_CERT=1: the host name or IP used is in the certificate's subjectAltName).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

if TYPE_CHECKING:
    from mysqlsim.instance import Instance

VERIFY_FAILED = "error:0A000086:SSL routines::certificate verify failed"
IDENTITY_FAILED = "Failed to verify the server certificate via X509 certificate matching functions"


def _source_cert(src: Instance) -> x509.Certificate | None:
    pem = getattr(src, "cert_pem", None)
    if pem is None:
        path = getattr(src, "tls_cert_path", None)
        if path is None:
            return None
        pem = Path(path).read_bytes()
    if isinstance(pem, str):
        pem = pem.encode()
    return x509.load_pem_x509_certificate(pem)


def _load_cas(ca_file: str, capath: str) -> list[x509.Certificate] | None:
    cas: list[x509.Certificate] = []
    files: list[str] = []
    if ca_file:
        if not os.path.isfile(ca_file):
            return None
        files.append(ca_file)
    if capath and os.path.isdir(capath):
        files.extend(os.path.join(capath, f) for f in sorted(os.listdir(capath)))
    for f in files:
        try:
            cas.extend(x509.load_pem_x509_certificates(Path(f).read_bytes()))
        except (ValueError, OSError):
            continue
    return cas


def _chains(cert: x509.Certificate, cas: list[x509.Certificate]) -> bool:
    for ca in cas:
        if ca.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, Exception):
            continue
        return True
    return False


def _matches_host(cert: x509.Certificate, host: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower() in [d.lower() for d in san.get_values_for_type(x509.DNSName)]
    return ip in san.get_values_for_type(x509.IPAddress)


def verify_source(
    replica: Instance, src: Instance, *, host: str, ca_file: str, capath: str, verify_identity: bool
) -> str:
    """Return '' when the TLS handshake would succeed, else the client library's error text."""
    del replica
    cert = _source_cert(src)
    if cert is None:
        return "SSL is required but the server doesn't support it"
    if not ca_file and not capath:
        if verify_identity:
            return VERIFY_FAILED
        return ""
    cas = _load_cas(ca_file, capath)
    if cas is None:
        return f"Unable to get certificate from '{ca_file}'"
    if not _chains(cert, cas):
        return VERIFY_FAILED
    if verify_identity and not _matches_host(cert, host):
        return IDENTITY_FAILED
    return ""


def account_requires_ssl(src: Instance, user: str, client_host: str) -> bool:
    """Whether the account used on the source was created with REQUIRE SSL/X509/ISSUER/SUBJECT."""
    fn = getattr(src.accounts, "requires_ssl", None)
    if fn is None:
        return False
    return bool(fn(user, client_host))
