"""The simulator's certificate authority and per-instance server certificates.

Why it exists: the five sslMode values (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY) can
only be exercised for real with certificates: every instance's certificate is issued by DIR/ca.pem and
carries its own host IP as subject alternative name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


class CertificateAuthority:
    """A CA under ``state_dir`` (ca.pem, ca-key.pem) issuing server certificates."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.ca_path = state_dir / "ca.pem"
        self.key_path = state_dir / "ca-key.pem"
        if self.ca_path.exists() and self.key_path.exists():
            self.cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            self.key = key
            return
        self.key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mysqlsim CA")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        _write_key(self.key, self.key_path)

    def issue(self, name: str, host: str) -> tuple[Path, Path]:
        """Server certificate for ``host`` (an IP): returns (cert path, key path) under state_dir/tls/."""
        d = self.dir / "tls"
        d.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = d / f"{name}.pem", d / f"{name}-key.pem"
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path
        key = _key()
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} ({host})")]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx
