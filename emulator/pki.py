"""A PKI repository (AIA caIssuers) and an OCSP responder for the test PKI, on loopback.

Served by the IMDS emulator's HTTP server (``emulator/imds.py``), so the base URL of the PKI is
the IMDS URL; the extension's PKI mirror setting points there.

AIA: ``GET /certs/<name>.crt`` (DER) and ``GET /certs/<name>.pem`` (PEM) for ``test-root-ca``,
``test-issuing-ca`` and ``untrusted-root-ca``; and the public Azure sample's issuing CA at its
real path, ``/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt``
(DER, from ``fixtures/azure-imds-sample``). Modes (``POST /_emulator/pki/mode {"aia": ...}``):

* ``normal``; ``pem`` (PEM at every path); ``slow`` (answer after ``slowSeconds``);
* ``redirect`` (302 to the same path on ``localhost``: another host); ``redirect-same-host``
  (302 to ``/redirected/<path>`` on this host, which serves normally); ``oversize`` (200 KiB);
* ``not-found`` (404 with an HTML page).

OCSP: ``POST /ocsp`` (RFC 6960, DER) answers for certificates issued by the test issuing CA or
the untrusted root, signed by that issuer. Modes (``{"ocsp": ...}``): ``good``, ``revoked``,
``unknown``, ``stale`` (nextUpdate a day ago), ``wrong-key`` (signed by a key that is not the
issuer's). Requests about other issuers get ``unauthorized``.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

UTC = dt.timezone.utc
MODE_PATH = "/_emulator/pki/mode"
OCSP_PATH = "/ocsp"
REDIRECTED_PREFIX = "/redirected"
AIA_MODES = ("normal", "pem", "slow", "redirect", "redirect-same-host", "oversize", "not-found")
OCSP_MODES = ("good", "revoked", "unknown", "stale", "wrong-key")
OVERSIZE_BYTES = 200 * 1024
SAMPLE_DIR = Path(__file__).resolve().parent / "fixtures" / "azure-imds-sample"
SAMPLE_ISSUER_FILE = "microsoft-azure-rsa-tls-issuing-ca-07-xsign.pem"
SAMPLE_ISSUER_PATH = "/pkiops/certs/Microsoft Azure RSA TLS Issuing CA 07 - xsign.crt"  # unquoted


def aia_urls(base_url: str) -> dict:
    """The AIA URLs the test PKI's certificates carry, for a PKI served at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "root": f"{base}/certs/test-root-ca.crt",
        "issuing": f"{base}/certs/test-issuing-ca.crt",
        "untrusted-root": f"{base}/certs/untrusted-root-ca.crt",
        "ocsp": f"{base}{OCSP_PATH}",
    }


@dataclass
class PkiState:
    aia: str = "normal"
    ocsp: str = "good"
    slow_seconds: float = 5.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, aia: Optional[str], ocsp_mode: Optional[str], slow_seconds: Optional[float]) -> dict:
        with self.lock:
            if aia is not None:
                self.aia = aia
            if ocsp_mode is not None:
                self.ocsp = ocsp_mode
            if slow_seconds is not None:
                self.slow_seconds = float(slow_seconds)
            return self.snapshot()

    def snapshot(self) -> dict:
        return {"aia": self.aia, "ocsp": self.ocsp, "slowSeconds": self.slow_seconds}


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/octet-stream"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class PkiRepository:
    """What the AIA and OCSP routes answer, for one test PKI."""

    def __init__(self, pki, *, sample_dir: Path = SAMPLE_DIR):
        self.pki = pki
        self.state = PkiState()
        self.certificates = {
            "test-root-ca": pki.root.cert,
            "test-issuing-ca": pki.intermediate.cert,
            "untrusted-root-ca": pki.untrusted_root.cert,
        }
        sample = sample_dir / SAMPLE_ISSUER_FILE
        self.sample_issuer = x509.load_pem_x509_certificate(sample.read_bytes()) if sample.is_file() else None
        # issuers the responder answers for: (key hash, credential)
        self.responders = [pki.intermediate, pki.untrusted_root]

    # -- AIA ----------------------------------------------------------------------------------

    def certificate_for(self, path: str) -> Optional[tuple]:
        """(certificate, "der" or "pem") for an AIA path, or None."""
        path = unquote(path)
        if path.startswith(REDIRECTED_PREFIX + "/"):
            path = path[len(REDIRECTED_PREFIX):]
        if path == SAMPLE_ISSUER_PATH and self.sample_issuer is not None:
            return self.sample_issuer, "der"
        if path.startswith("/certs/"):
            name, _, extension = path[len("/certs/"):].rpartition(".")
            if name in self.certificates and extension in ("crt", "cer", "pem"):
                return self.certificates[name], "pem" if extension == "pem" else "der"
        return None

    def aia(self, path: str, host_base: str) -> Optional[Answer]:
        found = self.certificate_for(path)
        if found is None:
            return None
        mode = self.state.aia
        if mode == "not-found":
            page = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
            return Answer(404, page, "text/html")
        if mode == "redirect":
            return Answer(302, b"", headers={"Location": host_base.replace("127.0.0.1", "localhost") + path})
        if mode == "redirect-same-host" and not path.startswith(REDIRECTED_PREFIX):
            return Answer(302, b"", headers={"Location": host_base + REDIRECTED_PREFIX + path})
        if mode == "oversize":
            return Answer(200, b"0" * OVERSIZE_BYTES)
        cert, form = found
        if mode == "pem":
            form = "pem"
        encoding = serialization.Encoding.PEM if form == "pem" else serialization.Encoding.DER
        content_type = "application/x-pem-file" if form == "pem" else "application/pkix-cert"
        delay = self.state.slow_seconds if mode == "slow" else 0.0
        return Answer(200, cert.public_bytes(encoding), content_type, delay=delay)

    # -- OCSP ---------------------------------------------------------------------------------

    def ocsp(self, body: bytes, now: Optional[dt.datetime] = None) -> Answer:
        now = (now or dt.datetime.now(UTC)).replace(microsecond=0)
        try:
            request = ocsp.load_der_ocsp_request(body)
        except ValueError:
            return self._unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        issuer = self._issuer_for(request)
        if issuer is None:
            return self._unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        mode = self.state.ocsp
        status = {"revoked": ocsp.OCSPCertStatus.REVOKED, "unknown": ocsp.OCSPCertStatus.UNKNOWN}.get(
            mode, ocsp.OCSPCertStatus.GOOD)
        this_update, next_update = (now - dt.timedelta(days=2), now - dt.timedelta(days=1)) if mode == "stale" \
            else (now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm, cert_status=status,
            this_update=this_update, next_update=next_update,
            revocation_time=now - dt.timedelta(days=3) if status == ocsp.OCSPCertStatus.REVOKED else None,
            revocation_reason=x509.ReasonFlags.key_compromise if status == ocsp.OCSPCertStatus.REVOKED else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        der = builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        if mode == "wrong-key":
            der = _signed_by_another_key(der)
        return Answer(200, der, "application/ocsp-response")

    def _issuer_for(self, request):
        for credential in self.responders:
            digest = hashes.Hash(request.hash_algorithm)
            digest.update(_key_bits(credential.cert))
            if digest.finalize() == request.issuer_key_hash:
                return credential
        return None

    @staticmethod
    def _unsuccessful(status) -> Answer:
        response = ocsp.OCSPResponseBuilder.build_unsuccessful(status)
        return Answer(200, response.public_bytes(serialization.Encoding.DER), "application/ocsp-response")


def _signed_by_another_key(der: bytes) -> bytes:
    """The same response (naming the issuer as responder) with its signature made by a fresh key:
    cryptography refuses to sign for a responder with a key that is not its own, so the
    BasicOCSPResponse is re-assembled with asn1crypto."""
    from asn1crypto import ocsp as asn1_ocsp
    from cryptography.hazmat.primitives.asymmetric import padding
    response = asn1_ocsp.OCSPResponse.load(der)
    basic = response["response_bytes"]["response"].parsed
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = key.sign(basic["tbs_response_data"].dump(), padding.PKCS1v15(), hashes.SHA256())
    forged = asn1_ocsp.BasicOCSPResponse({"tbs_response_data": basic["tbs_response_data"],
                                          "signature_algorithm": basic["signature_algorithm"],
                                          "signature": signature})
    return asn1_ocsp.OCSPResponse({"response_status": "successful", "response_bytes": {
        "response_type": "basic_ocsp_response", "response": forged}}).dump()


def _key_bits(cert) -> bytes:
    from asn1crypto import keys
    info = keys.PublicKeyInfo.load(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    return info["public_key"].contents[1:]
