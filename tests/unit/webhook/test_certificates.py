"""The CA and serving certificate the operator issues for its webhook.

Checked the way the API server uses them: a TLS handshake (in memory, no
socket) from a client that trusts only the CA and dials a Service name.
"""

from __future__ import annotations

import ipaddress
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from okr_operator.adapters.webhook_certificates import (
    BACKDATE,
    VALIDITY,
    issue_webhook_certificates,
    service_hostnames,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
SERVICE_NAMES = [
    "okr-operator-webhook.okr-system.svc",
    "okr-operator-webhook.okr-system.svc.cluster.local",
    "okr-operator-webhook.okr-system",
    "okr-operator-webhook",
]


def _handshake(certs_dir: Path, ca_file: Path, server_name: str) -> None:
    """Run a TLS handshake between a server with the issued pair and a CA-only client."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certs_dir / "tls.crt", certs_dir / "tls.key")
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(ca_file)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")


def test_service_hostnames_should_be_every_name_a_service_is_dialled_by() -> None:
    assert service_hostnames("okr-operator-webhook", "okr-system") == SERVICE_NAMES


def test_the_issued_certificate_should_carry_exactly_the_names_and_ips(tmp_path: Path) -> None:
    certs = issue_webhook_certificates(tmp_path, ["127.0.0.1", *SERVICE_NAMES], now=NOW)
    cert = x509.load_pem_x509_certificate(certs.cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == SERVICE_NAMES
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (NOW - BACKDATE, NOW + VALIDITY)
    ca = x509.load_pem_x509_certificate(certs.ca_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert stat.S_IMODE(certs.key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]


def test_a_client_trusting_the_ca_should_accept_the_service_name(tmp_path: Path) -> None:
    certs = issue_webhook_certificates(
        tmp_path, SERVICE_NAMES, now=datetime.now(UTC) - timedelta(seconds=1)
    )
    _handshake(tmp_path, certs.ca_file, "okr-operator-webhook.okr-system.svc")


def test_a_client_dialling_another_name_should_refuse_the_certificate(tmp_path: Path) -> None:
    certs = issue_webhook_certificates(tmp_path, SERVICE_NAMES, now=datetime.now(UTC))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(tmp_path, certs.ca_file, "other.okr-system.svc")


def test_each_start_should_issue_a_new_ca(tmp_path: Path) -> None:
    first = issue_webhook_certificates(tmp_path / "a", ["okr"], now=NOW).ca_file.read_bytes()
    second = issue_webhook_certificates(tmp_path / "b", ["okr"], now=NOW).ca_file.read_bytes()
    assert first != second


def test_no_hostname_should_be_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one hostname"):
        issue_webhook_certificates(tmp_path, [], now=NOW)
