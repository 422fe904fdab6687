"""The admission webhook's own CA and serving certificate, made at start.

kopf can make a self-signed certificate itself, but only through oscrypto,
which cannot detect OpenSSL 3.0.x with a two-digit patch number (Debian 12's
3.0.19: ``LibraryNotFoundError``), so the operator issues its own with
``cryptography``: a CA that lives only as long as the process, and a serving
certificate for the webhook Service's DNS names. The CA goes into the
ValidatingWebhookConfiguration's ``caBundle``; a restart issues a new pair and
patches the bundle again, so there is nothing to rotate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough that a running operator never outlives it; a restart issues new ones.
VALIDITY = timedelta(days=365)
# Clocks of the API server and the operator's node may differ by a little.
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class WebhookCertificates:
    """PEM files of the serving certificate and its key, and the CA that signed it."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def service_hostnames(service: str, namespace: str) -> list[str]:
    """The names the API server uses for a Service (``<svc>.<ns>.svc`` is the one it dials)."""
    return [
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
        f"{service}.{namespace}",
        service,
    ]


def issue_webhook_certificates(
    directory: Path, hostnames: Iterable[str], *, now: datetime
) -> WebhookCertificates:
    """Write a fresh CA and a serving certificate for ``hostnames`` into ``directory``.

    A hostname that is an IP address (``127.0.0.1`` for an operator outside the
    cluster) becomes an IP SAN, every other one a DNS SAN.
    """
    names = list(dict.fromkeys(hostnames))
    if not names:
        raise ValueError("a webhook certificate needs at least one hostname")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("okr-operator webhook CA")
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(names[0]), ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([_san(name) for name in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certs = WebhookCertificates(
        cert_file=directory / "tls.crt",
        key_file=directory / "tls.key",
        ca_file=directory / "ca.crt",
    )
    certs.key_file.touch(mode=0o600)
    certs.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certs.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certs.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return certs


def _name(common_name: str) -> x509.Name:
    # A CN is at most 64 characters; the SANs carry the names that matter.
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
    )


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
