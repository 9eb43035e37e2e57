"""A throw-away certificate authority and a TLS server certificate for 127.0.0.1.

azure-core refuses to send bearer tokens over plain HTTP, so the emulator must speak HTTPS,
and the clients (az, requests, urllib) must trust it. One self-signed leaf is fragile under
the strict X.509 checks of newer Pythons, so we make a small CA and sign a leaf with it:

* CA: basicConstraints CA:TRUE (critical, pathlen 0), keyUsage keyCertSign+cRLSign (critical),
  subjectKeyIdentifier.
* leaf: SAN IP:127.0.0.1 and DNS:localhost, basicConstraints CA:FALSE (critical), keyUsage
  digitalSignature (critical), extendedKeyUsage serverAuth, subjectKeyIdentifier and an
  authorityKeyIdentifier that points at the CA.

Keys are ECDSA P-256: generation takes milliseconds, which matters because every emulator
start (and so every ``scripts/az-emulated`` run) makes a fresh CA.
"""

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files written by :func:`write_tls_files`."""

    ca_cert: str  # the trust bundle clients use (REQUESTS_CA_BUNDLE)
    server_cert: str  # leaf followed by the CA certificate (the chain the server presents)
    server_key: str  # the leaf's private key (unencrypted, file mode 0600)


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stack-hci-verify emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(now, lifetime):
    """Return ``(key, certificate)`` of a new self-signed CA valid from ``now - 1h``."""
    key = _new_key()
    name = _name("stack-hci-verify emulator CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(ca_key, ca_cert, now, lifetime, ip=LOOPBACK):
    """Return ``(key, certificate)`` of a TLS server leaf for ``ip`` signed by the CA."""
    key = _new_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ip))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address(ip)),
            x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write_tls_files(directory, lifetime=datetime.timedelta(days=30)):
    """Make a fresh CA and a 127.0.0.1 leaf; write them into ``directory``.

    Files: ``ca.pem`` (trust this), ``server.pem`` (leaf + CA), ``server-key.pem``.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, ca_cert = make_ca(now, lifetime)
    key, cert = make_server_cert(ca_key, ca_cert, now, lifetime)
    os.makedirs(directory, exist_ok=True)
    files = TlsFiles(
        ca_cert=os.path.join(directory, "ca.pem"),
        server_cert=os.path.join(directory, "server.pem"),
        server_key=os.path.join(directory, "server-key.pem"),
    )
    with open(files.ca_cert, "wb") as handle:
        handle.write(_pem(ca_cert))
    with open(files.server_cert, "wb") as handle:
        handle.write(_pem(cert) + _pem(ca_cert))
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    fd = os.open(files.server_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    return files
