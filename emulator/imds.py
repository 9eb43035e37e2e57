"""Test IMDS: a throwaway PKI, an Azure-shaped attested-document signer and a plain-HTTP server.

Three layers, each usable alone:

* ``TestPki`` makes, at start-up, a root CA, an issuing CA and a leaf whose SAN is
  ``metadata.azure.com`` and ``eastus.metadata.azure.com`` (serverAuth EKU, as Azure's are),
  plus an untrusted root and leaf, a leaf with a name verifiers must refuse, a self-signed
  "attacker" certificate and an ECDSA leaf.
* ``build_signed_data`` writes a CMS SignedData shaped like Azure's attested document:
  attached JSON content, only the signer's certificate in the bag, the digest-algorithm field
  holding the sha256WithRSAEncryption OID, no signed attributes. Options produce the variants
  the verifier tests need (signed attributes, a wrong messageDigest or contentType, a
  subjectKeyIdentifier SID, extra certificates in the bag, content changed after signing).
* ``create_imds_server`` serves ``GET /metadata/attested/document`` the way IMDS does, with
  failure modes switchable at run time through ``POST /_emulator/imds/mode``.

Run alone: ``python -m emulator.imds --workdir DIR [--port N]`` prints the info JSON and serves.
Only loopback addresses are meant to be used.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import secrets
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import parse_qsl, urlsplit

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .pki import MODE_PATH as PKI_MODE_PATH
from .pki import AIA_MODES, OCSP_MODES, OCSP_PATH, PkiRepository, aia_urls

UTC = dt.timezone.utc

IMDS_TIME_FORMAT = "%m/%d/%y %H:%M:%S -0000"
ATTESTED_PATH = "/metadata/attested/document"
MODE_PATH = "/_emulator/imds/mode"
REQUESTS_PATH = "/_emulator/imds/requests"

# Modes that change the signed document (the verifier sees them) ...
DOCUMENT_MODES = (
    "valid",
    "tampered",
    "wrong-nonce",
    "expired",
    "signer-not-allowed",
    "untrusted-chain",
    "bag-confusion",
)
# ... and modes that change the HTTP exchange (the client sees them).
HTTP_MODES = ("missing-header", "throttled", "slow", "server-error")
MODES = DOCUMENT_MODES + HTTP_MODES

ALLOWED_SIGNER = "metadata.azure.com"
LEAF_NAMES = ("metadata.azure.com", "eastus.metadata.azure.com")
DISALLOWED_NAME = "metadata.attacker.example"

DEFAULT_VM_ID = "5c7a1f3e-7f7c-4e0c-9d55-3b1c2a9f6e01"
DEFAULT_SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"

TRUST_ROOT_FILE = "imds-test-root.pem"
INTERMEDIATES_FILE = "imds-test-intermediates.pem"


# --------------------------------------------------------------------------------------------
# PKI
# --------------------------------------------------------------------------------------------


@dataclass
class Credential:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: object  # RSAPrivateKey or EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, org: str = "Stack HCI Verify Test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(
    common_name: str,
    *,
    now: dt.datetime,
    issuer: Optional[Credential] = None,
    path_length: Optional[int] = None,
    days: int = 3650,
    aia: Optional[tuple] = None,
) -> Credential:
    key = _rsa_key()
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signing_key = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
    )
    if aia:
        builder = builder.add_extension(_aia_extension(*aia), critical=False)
    return Credential(builder.sign(signing_key, hashes.SHA256()), key)


def _aia_extension(ca_issuers: Optional[str], ocsp_url: Optional[str] = None) -> x509.AuthorityInformationAccess:
    """Authority Information Access naming the issuer's certificate and the OCSP responder."""
    oid = x509.oid.AuthorityInformationAccessOID
    descriptions = []
    if ocsp_url:
        descriptions.append(x509.AccessDescription(oid.OCSP, x509.UniformResourceIdentifier(ocsp_url)))
    if ca_issuers:
        descriptions.append(x509.AccessDescription(oid.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers)))
    return x509.AuthorityInformationAccess(descriptions)


def _make_leaf(
    names: Sequence[str],
    *,
    now: dt.datetime,
    issuer: Optional[Credential],
    key=None,
    days: int = 30,
    not_before: Optional[dt.datetime] = None,
    aia: Optional[tuple] = None,
) -> Credential:
    """An end-entity certificate; ``issuer=None`` makes it self-signed. ``aia``: (caIssuers URL,
    OCSP URL) for an Authority Information Access extension."""
    key = key or _rsa_key()
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stack HCI Verify Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
        ]
    )
    signing_key = issuer.key if issuer else key
    not_before = not_before or (now - dt.timedelta(hours=1))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    if aia:
        builder = builder.add_extension(_aia_extension(*aia), critical=False)
    return Credential(builder.sign(signing_key, hashes.SHA256()), key)


@dataclass
class TestPki:
    """Every certificate the emulator and the verifier tests need, made at ``created_at``."""

    __test__ = False  # not a pytest test class

    created_at: dt.datetime
    root: Credential
    intermediate: Credential
    leaf: Credential
    untrusted_root: Credential
    untrusted_leaf: Credential
    disallowed_leaf: Credential
    attacker: Credential
    ec_leaf: Credential

    @classmethod
    def create(cls, now: Optional[dt.datetime] = None, *, leaf_days: int = 30,
               aia_base: Optional[str] = None) -> "TestPki":
        """``aia_base``: the base URL of a PKI repository and OCSP responder (``emulator/pki.py``);
        the certificates then carry AIA URLs that point there."""
        now = (now or dt.datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        urls = aia_urls(aia_base) if aia_base else {}

        def points_to(issuer_name):
            return (urls[issuer_name], urls["ocsp"]) if urls else None

        root = _make_ca("Stack HCI Verify Test Root CA", now=now)
        intermediate = _make_ca(
            "Stack HCI Verify Test Issuing CA", now=now, issuer=root, path_length=0, days=1825,
            aia=points_to("root"),
        )
        untrusted_root = _make_ca("Untrusted Test Root CA", now=now)

        def leaf(names, issuer, issuer_name, **extra):
            return _make_leaf(names, now=now, issuer=issuer, days=leaf_days, aia=points_to(issuer_name), **extra)
        return cls(
            created_at=now,
            root=root,
            intermediate=intermediate,
            leaf=leaf(LEAF_NAMES, intermediate, "issuing"),
            untrusted_root=untrusted_root,
            untrusted_leaf=leaf(LEAF_NAMES, untrusted_root, "untrusted-root"),
            disallowed_leaf=leaf((DISALLOWED_NAME,), intermediate, "issuing"),
            attacker=_make_leaf(LEAF_NAMES, now=now, issuer=None, days=leaf_days),
            ec_leaf=leaf(LEAF_NAMES, intermediate, "issuing", key=ec.generate_private_key(ec.SECP256R1())),
        )

    def trust_root_pem(self) -> bytes:
        return self.root.cert_pem

    def intermediates_pem(self) -> bytes:
        return self.intermediate.cert_pem

    def write(self, workdir: Path) -> dict:
        """Write the trust root and the intermediate as PEM files; return their paths."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        root_path = workdir / TRUST_ROOT_FILE
        inter_path = workdir / INTERMEDIATES_FILE
        root_path.write_bytes(self.trust_root_pem())
        inter_path.write_bytes(self.intermediates_pem())
        return {"trustBundle": str(root_path), "intermediates": str(inter_path)}


# --------------------------------------------------------------------------------------------
# Document content and CMS
# --------------------------------------------------------------------------------------------


def format_imds_time(value: dt.datetime) -> str:
    """IMDS writes ``11/19/25 18:53:30 -0000``."""
    return value.astimezone(UTC).strftime(IMDS_TIME_FORMAT)


def timestamp_nonce(now: dt.datetime) -> str:
    """What IMDS puts in ``nonce`` when the caller sent none."""
    return now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


def document_content(
    *,
    nonce: str,
    created_on: dt.datetime,
    expires_on: dt.datetime,
    vm_id: str = DEFAULT_VM_ID,
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
    sku: str = "",
    license_type: str = "",
    plan: Optional[dict] = None,
) -> bytes:
    """The signed JSON, compact and with sorted keys like Azure's."""
    body = {
        "licenseType": license_type,
        "nonce": nonce,
        "plan": plan if plan is not None else {"name": "", "product": "", "publisher": ""},
        "sku": sku,
        "subscriptionId": subscription_id,
        "timeStamp": {
            "createdOn": format_imds_time(created_on),
            "expiresOn": format_imds_time(expires_on),
        },
        "vmId": vm_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


_HASHES = {
    "sha256": (hashes.SHA256, hashlib.sha256, "2.16.840.1.101.3.4.2.1", "1.2.840.113549.1.1.11", "1.2.840.10045.4.3.2"),
    "sha384": (hashes.SHA384, hashlib.sha384, "2.16.840.1.101.3.4.2.2", "1.2.840.113549.1.1.12", "1.2.840.10045.4.3.3"),
    "sha512": (hashes.SHA512, hashlib.sha512, "2.16.840.1.101.3.4.2.3", "1.2.840.113549.1.1.13", "1.2.840.10045.4.3.4"),
}


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _sign(key, data: bytes, hash_name: str) -> bytes:
    hash_cls = _HASHES[hash_name][0]
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hash_cls())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hash_cls()))
    raise TypeError(f"unsupported key type {type(key).__name__}")


def build_signed_data(
    content: bytes,
    *,
    signer: Credential,
    bag: Optional[Sequence[x509.Certificate]] = None,
    hash_name: str = "sha256",
    digest_field: str = "signature-oid",
    signed_attributes: bool = False,
    unsorted_attributes: bool = False,
    message_digest: Optional[bytes] = None,
    content_type_attr: str = "data",
    sid: str = "issuer-serial",
    sid_cert: Optional[x509.Certificate] = None,
    extra_signers: int = 0,
    content_after_signing: Optional[bytes] = None,
) -> bytes:
    """A DER ContentInfo holding SignedData over ``content``.

    Defaults match Azure: only ``signer.cert`` in the bag, the signature OID in the
    digest-algorithm field, no signed attributes, issuerAndSerialNumber SID.

    ``digest_field``: ``"signature-oid"`` (Azure's quirk) or ``"digest-oid"`` (RFC 5652).
    ``signed_attributes``: add contentType + messageDigest (+ signingTime) and sign those;
    ``message_digest`` / ``content_type_attr`` override the attribute values, and
    ``unsorted_attributes`` keeps the SET OF in a non-DER order (the verifier must sign-check
    the original bytes, not a re-encoding).
    ``sid``: ``"issuer-serial"`` or ``"ski"``; ``sid_cert`` names another certificate in the SID.
    ``extra_signers``: add that many more SignerInfos (copies).
    ``content_after_signing``: replace the content once signed (tampering).
    """
    is_ec = isinstance(signer.key, ec.EllipticCurvePrivateKey)
    _, hashlib_fn, digest_oid, rsa_oid, ecdsa_oid = _HASHES[hash_name]
    sig_oid = ecdsa_oid if is_ec else rsa_oid
    digest_alg_oid = sig_oid if digest_field == "signature-oid" else digest_oid
    signature_alg_oid = ecdsa_oid if is_ec else "1.2.840.113549.1.1.1"

    to_sign = content
    signed_attrs = None
    if signed_attributes:
        attrs = asn1_cms.CMSAttributes(
            [
                asn1_cms.CMSAttribute({"type": "content_type", "values": [content_type_attr]}),
                asn1_cms.CMSAttribute(
                    {
                        "type": "signing_time",
                        "values": [asn1_cms.Time({"utc_time": dt.datetime.now(UTC)})],
                    }
                ),
                asn1_cms.CMSAttribute(
                    {
                        "type": "message_digest",
                        "values": [message_digest if message_digest is not None else hashlib_fn(content).digest()],
                    }
                ),
            ]
        )
        der = attrs.dump()
        if unsorted_attributes:
            children = [a.dump() for a in attrs]
            children.sort(reverse=True)
            header = der[: len(der) - len(attrs.contents)]
            der = header + b"".join(children)
            assert der != attrs.dump()
        to_sign = der  # SET OF tag 0x31, as RFC 5652 section 5.4 says to sign
        # Parsed from bytes and left unmodified, asn1crypto keeps these exact contents.
        signed_attrs = asn1_cms.CMSAttributes.load(der)

    signature = _sign(signer.key, to_sign, hash_name)

    sid_source = sid_cert or signer.cert
    if sid == "ski":
        ski = sid_source.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        signer_id = asn1_cms.SignerIdentifier({"subject_key_identifier": ski})
        version = "v3"
    else:
        asn1_sid_cert = _asn1_cert(sid_source)
        signer_id = asn1_cms.SignerIdentifier(
            {
                "issuer_and_serial_number": {
                    "issuer": asn1_sid_cert.issuer,
                    "serial_number": asn1_sid_cert.serial_number,
                }
            }
        )
        version = "v1"

    signer_info = {
        "version": version,
        "sid": signer_id,
        "digest_algorithm": {"algorithm": digest_alg_oid},
        "signature_algorithm": {"algorithm": signature_alg_oid},
        "signature": signature,
    }
    if signed_attrs is not None:
        signer_info["signed_attrs"] = signed_attrs
    signer_infos = [asn1_cms.SignerInfo(signer_info) for _ in range(1 + extra_signers)]

    bag = list(bag) if bag is not None else [signer.cert]
    signed_data = asn1_cms.SignedData(
        {
            "version": "v3" if sid == "ski" else "v1",
            "digest_algorithms": [{"algorithm": digest_alg_oid}],
            "encap_content_info": {
                "content_type": "data",
                "content": content_after_signing if content_after_signing is not None else content,
            },
            "certificates": [_asn1_cert(c) for c in bag],
            "signer_infos": signer_infos,
        }
    )
    return asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def attested_response(signed_data_der: bytes) -> dict:
    """The IMDS response body for a SignedData."""
    return {"encoding": "pkcs7", "signature": base64.b64encode(signed_data_der).decode("ascii")}


class AttestedDocumentSigner:
    """Builds attested-document responses for each document mode."""

    def __init__(
        self,
        pki: TestPki,
        *,
        vm_id: str = DEFAULT_VM_ID,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        validity: dt.timedelta = dt.timedelta(hours=6),
    ):
        self.pki = pki
        self.vm_id = vm_id
        self.subscription_id = subscription_id
        self.validity = validity

    def content(self, *, nonce: str, now: dt.datetime, **overrides) -> bytes:
        created = now - dt.timedelta(minutes=1)
        kwargs = {
            "nonce": nonce,
            "created_on": created,
            "expires_on": created + self.validity,
            "vm_id": self.vm_id,
            "subscription_id": self.subscription_id,
        }
        kwargs.update(overrides)
        return document_content(**kwargs)

    def signed_data(self, mode: str = "valid", *, nonce: Optional[str] = None,
                    now: Optional[dt.datetime] = None) -> bytes:
        if mode not in DOCUMENT_MODES:
            raise ValueError(f"not a document mode: {mode!r}")
        now = (now or dt.datetime.now(UTC)).astimezone(UTC)
        nonce = nonce if nonce is not None else timestamp_nonce(now)
        pki = self.pki
        if mode == "wrong-nonce":
            return build_signed_data(self.content(nonce=_other_nonce(nonce), now=now), signer=pki.leaf)
        if mode == "expired":
            content = self.content(
                nonce=nonce,
                now=now,
                created_on=now - dt.timedelta(hours=7),
                expires_on=now - dt.timedelta(hours=1),
            )
            return build_signed_data(content, signer=pki.leaf)
        content = self.content(nonce=nonce, now=now)
        if mode == "valid":
            return build_signed_data(content, signer=pki.leaf)
        if mode == "tampered":
            changed = content.replace(self.vm_id.encode(), b"ffffffff-ffff-4fff-bfff-ffffffffffff")
            return build_signed_data(content, signer=pki.leaf, content_after_signing=changed)
        if mode == "signer-not-allowed":
            return build_signed_data(content, signer=pki.disallowed_leaf)
        if mode == "untrusted-chain":
            return build_signed_data(content, signer=pki.untrusted_leaf)
        # bag-confusion: the trusted leaf first in the bag, the content signed by the attacker,
        # whose certificate is also in the bag and named by the SID.
        return build_signed_data(content, signer=pki.attacker, bag=[pki.leaf.cert, pki.attacker.cert])

    def response(self, mode: str = "valid", *, nonce: Optional[str] = None, now: Optional[dt.datetime] = None) -> dict:
        return attested_response(self.signed_data(mode, nonce=nonce, now=now))


def _other_nonce(nonce: str) -> str:
    other = "".join(secrets.choice("0123456789") for _ in range(max(10, len(nonce))))
    return other if other != nonce else other + "0"


# --------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class ImdsState:
    mode: str = "valid"
    count: Optional[int] = None  # requests left in ``mode``; None = until changed
    slow_seconds: float = 5.0
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def take_mode(self) -> str:
        """The mode for this request; counts down a limited mode and falls back to valid."""
        with self.lock:
            mode = self.mode
            if self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.mode, self.count = "valid", None
            return mode

    def set_mode(self, mode: str, count: Optional[int], slow_seconds: Optional[float]) -> dict:
        with self.lock:
            self.mode = mode
            self.count = count
            if slow_seconds is not None:
                self.slow_seconds = float(slow_seconds)
            return self.snapshot()

    def snapshot(self) -> dict:
        return {"mode": self.mode, "count": self.count, "slowSeconds": self.slow_seconds}


class ImdsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, signer: Optional[AttestedDocumentSigner], state: ImdsState,
                 repository: Optional[PkiRepository] = None):
        self.signer = signer
        self.state = state
        self.repository = repository  # the PKI (AIA and OCSP) served alongside
        super().__init__(address, ImdsRequestHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def shutdown(self):
        self.state.stopping.set()
        super().shutdown()

    def handle_error(self, request, client_address):
        # A client that gave up (timeout tests) closes its socket: not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def server_close(self):
        self.state.stopping.set()
        super().server_close()


def _error_body(message: str) -> dict:
    return {"error": message}


class ImdsRequestHandler(BaseHTTPRequestHandler):
    server: ImdsHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "StackHciVerifyImdsEmulator/1.0"

    def log_message(self, format, *args):  # noqa: A002 - keep the console quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _send_json(self, status: int, body, headers: Optional[dict] = None, mode: Optional[str] = None):
        data = json.dumps(body).encode("utf-8")
        self._log(status, mode)  # before answering, so a client that got its answer sees the entry
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_bytes(self, answer, mode: Optional[str] = None):
        if answer.delay and self.server.state.stopping.wait(answer.delay):
            return
        self._log(answer.status, mode)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _log(self, status: int, mode: Optional[str]):
        if self.path.startswith("/_emulator/"):
            return
        entry = {
            "time": dt.datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "method": self.command,
            "target": self.path,
            "headers": dict(self.headers.items()),
            "status": status,
            "mode": mode,
        }
        with self.server.state.lock:
            self.server.state.requests.append(entry)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 65536)) if length > 0 else b""

    # -- verbs ------------------------------------------------------------------------------

    def do_GET(self):  # pylint: disable=invalid-name  # the name http.server dispatches to
        target = urlsplit(self.path)
        if target.path == REQUESTS_PATH:
            with self.server.state.lock:
                log = list(self.server.state.requests)
            return self._send_json(200, log)
        if target.path == MODE_PATH:
            with self.server.state.lock:
                return self._send_json(200, self.server.state.snapshot())
        if target.path == ATTESTED_PATH:
            return self._attested(target.query)
        if target.path == PKI_MODE_PATH and self.server.repository is not None:
            return self._send_json(200, self.server.repository.state.snapshot())
        answer = self.server.repository.aia(target.path, self.server.base_url) if self.server.repository else None
        if answer is not None:
            return self._send_bytes(answer, mode="aia-" + self.server.repository.state.aia)
        return self._send_json(404, _error_body("Not found"))

    def do_POST(self):  # pylint: disable=invalid-name
        target = urlsplit(self.path)
        if self.server.repository is not None and target.path in (OCSP_PATH, PKI_MODE_PATH):
            return self._pki_post(target.path)
        if target.path == MODE_PATH:
            try:
                body = json.loads(self._read_body() or b"{}")
                mode = body["mode"]
                count = body.get("count")
                slow = body.get("slowSeconds")
                if mode not in MODES:
                    raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
                if count is not None and (not isinstance(count, int) or count < 1):
                    raise ValueError("count must be a positive integer or null")
                if slow is not None and (not isinstance(slow, (int, float)) or slow < 0):
                    raise ValueError("slowSeconds must be a non-negative number")
            except (ValueError, KeyError, TypeError) as exc:
                return self._send_json(400, _error_body(f"Bad mode request: {exc}"))
            return self._send_json(200, self.server.state.set_mode(mode, count, slow))
        if target.path == ATTESTED_PATH:
            return self._send_json(405, _error_body("Bad request. Only GET is supported"))
        return self._send_json(404, _error_body("Not found"))

    def do_DELETE(self):  # pylint: disable=invalid-name
        if urlsplit(self.path).path == REQUESTS_PATH:
            with self.server.state.lock:
                self.server.state.requests.clear()
            return self._send_json(200, [])
        return self._send_json(404, _error_body("Not found"))

    do_PUT = do_PATCH = do_POST  # noqa: N815

    def _pki_post(self, path: str):
        repository = self.server.repository
        body = self._read_body()
        if path == OCSP_PATH:
            return self._send_bytes(repository.ocsp(body), mode="ocsp-" + repository.state.ocsp)
        try:
            request = json.loads(body or b"{}")
            aia, ocsp_mode, slow = request.get("aia"), request.get("ocsp"), request.get("slowSeconds")
            if aia is not None and aia not in AIA_MODES:
                raise ValueError(f"unknown aia mode {aia!r}; one of {', '.join(AIA_MODES)}")
            if ocsp_mode is not None and ocsp_mode not in OCSP_MODES:
                raise ValueError(f"unknown ocsp mode {ocsp_mode!r}; one of {', '.join(OCSP_MODES)}")
            if slow is not None and (not isinstance(slow, (int, float)) or slow < 0):
                raise ValueError("slowSeconds must be a non-negative number")
        except (ValueError, AttributeError) as exc:
            return self._send_json(400, _error_body(f"Bad mode request: {exc}"))
        return self._send_json(200, repository.state.set(aia, ocsp_mode, slow))

    # -- the attested document --------------------------------------------------------------

    def _attested(self, query: str):
        state = self.server.state
        mode = state.take_mode()
        if self.headers.get("X-Forwarded-For") is not None:
            return self._send_json(400, _error_body("Bad request. X-Forwarded-For header is not allowed"), mode=mode)
        if mode == "missing-header" or (self.headers.get("Metadata") or "").lower() != "true":
            return self._send_json(400, _error_body("Bad request. Required metadata header not specified"), mode=mode)
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            return self._send_json(400, _error_body("Bad request. Malformed query string"), mode=mode)
        names = [k for k, _ in pairs]
        if len(names) != len(set(names)):
            return self._send_json(400, _error_body("Bad request. Duplicate query parameters are not allowed"),
                                   mode=mode)
        params = dict(pairs)
        if not params.get("api-version"):
            return self._send_json(
                400,
                {
                    "error": "Bad request. api-version is invalid or was not specified in the request. "
                    "For more information refer to aka.ms/azureimds",
                    "newest-versions": ["2021-02-01", "2020-12-01", "2018-10-01"],
                },
                mode=mode,
            )
        if mode == "throttled":
            return self._send_json(429, _error_body("Too many requests"), headers={"Retry-After": "1"}, mode=mode)
        if mode == "server-error":
            return self._send_json(500, _error_body("Internal server error"), mode=mode)
        if mode == "slow":
            if state.stopping.wait(state.slow_seconds):
                return None
            mode = "valid"
        now = dt.datetime.now(UTC)
        nonce = params.get("nonce") or None
        body = self.server.signer.response(mode, nonce=nonce, now=now)
        return self._send_json(200, body, mode=mode)


def create_imds_server(
    workdir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    pki: Optional[TestPki] = None,
    slow_seconds: float = 5.0,
):
    """Bind the server, make the PKI (unless given; its certificates' AIA URLs point at this
    server, which also serves them and answers OCSP, see ``emulator/pki.py``), write its PEM files
    to ``workdir``.

    Returns ``(server, info)``; the caller runs ``server.serve_forever()`` (for example with
    ``serve_in_thread``) and later ``server.shutdown(); server.server_close()``.
    ``info``: ``imdsUrl``, ``pkiUrl`` (the same server), ``trustBundle``, ``intermediates``,
    ``allowedSigner``.
    """
    server = ImdsHTTPServer((host, port), None, ImdsState(slow_seconds=slow_seconds))
    pki = pki or TestPki.create(aia_base=server.base_url)
    server.signer = AttestedDocumentSigner(pki)
    server.repository = PkiRepository(pki)
    paths = pki.write(Path(workdir))
    info = {
        "imdsUrl": server.base_url,
        "pkiUrl": server.base_url,
        "trustBundle": paths["trustBundle"],
        "intermediates": paths["intermediates"],
        "allowedSigner": ALLOWED_SIGNER,
    }
    return server, info


def serve_in_thread(server: ImdsHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="imds-emulator", daemon=True)
    thread.start()
    return thread


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.imds", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=Path, help="where the test trust root PEM is written")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of the 'slow' mode")
    args = parser.parse_args(argv)
    server, info = create_imds_server(args.workdir, args.host, args.port, slow_seconds=args.slow_seconds)
    print(json.dumps(info), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
