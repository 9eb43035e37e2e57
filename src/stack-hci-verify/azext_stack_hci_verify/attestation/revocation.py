# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Is the signer certificate revoked? OCSP (RFC 6960) with ``cryptography.x509.ocsp``.

The caller sends the request this module builds and hands back the responder's DER answer; this
module decides. A response counts only when it is ``successful``, is about the signer's serial
and issuer, is signed by the issuer or by a responder the issuer delegated (id-kp-OCSPSigning),
and its ``thisUpdate`` .. ``nextUpdate`` covers the reference time. ``revoked`` is Failed;
``unknown``, a bad or stale response and no response at all are Unknown.
"""

from datetime import timedelta, timezone

from asn1crypto import keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from ..core.timeutil import format_timestamp
from .chain import CERT_ERRORS, not_after, not_before, subject_text
from .result import Reason, failed, passed, skipped, unknown

CHECK = "notRevoked"
# With no nextUpdate (allowed by RFC 6960: "newer information is always available"), a response is
# taken as current for this long after its thisUpdate.
NO_NEXT_UPDATE_WINDOW = timedelta(days=1)

_OCSP_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm) + CERT_ERRORS


def build_ocsp_request(cert, issuer):
    """The DER OCSPRequest for ``cert`` (CertID with SHA-1, as responders expect)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # nosec - CertID hash
    return builder.build().public_bytes(serialization.Encoding.DER)


def not_requested():
    return skipped(CHECK, Reason.REVOCATION_NOT_CHECKED,
                   "revocation was not checked (not requested; --check-revocation asks the signer's OCSP "
                   "responder)")


def check_revocation(evidence, cert, issuer, at, skew=timedelta(minutes=5)):
    """The ``notRevoked`` check for ``cert`` (issued by ``issuer``) from ``evidence``
    (``RevocationEvidence``) at the reference time ``at``."""
    expected = f"a current, signed OCSP answer 'good' for serial {format(cert.serial_number, 'x')} at " \
               f"{format_timestamp(at)}"
    if evidence.response is None:
        where = f" from {evidence.url}" if evidence.url else ""
        return unknown(CHECK, evidence.reason_code or Reason.OCSP_UNAVAILABLE, expected,
                       evidence.reason or "no OCSP response", f"no OCSP answer{where}: {evidence.reason}")
    try:
        response = ocsp.load_der_ocsp_response(evidence.response)
    except ValueError as exc:
        return _invalid(expected, f"the responder's answer is not an OCSP response: {_short(exc)}")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        status = response.response_status.name.lower()
        return _invalid(expected, f"the responder answered '{status}' instead of a status")
    try:
        return _judge(response, cert, issuer, at, skew, expected=expected)
    except _OCSP_ERRORS as exc:
        return _invalid(expected, f"the OCSP response could not be read: {_short(exc)}")


def _judge(response, cert, issuer, at, skew, *, expected):
    single = _single_for(response, cert, issuer)
    if isinstance(single, str):
        return _invalid(expected, single)
    problem = _responder_problem(response, issuer, at)
    if problem:
        return _invalid(expected, problem)
    stale = _time_problem(single, at, skew)
    if stale:
        return unknown(CHECK, Reason.OCSP_RESPONSE_STALE, expected, stale,
                       f"the OCSP answer is not current at {format_timestamp(at)}: {stale}")
    window = _window_text(single)
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return passed(CHECK, expected, f"good ({window}), signed by '{subject_text(_signer_of(response, issuer))}'")
    if status == ocsp.OCSPCertStatus.REVOKED:
        when = _utc(single, "revocation_time")
        reason = single.revocation_reason.value if single.revocation_reason is not None else "unspecified"
        found = f"revoked {format_timestamp(when)} (reason {reason}; {window})"
        return failed(CHECK, Reason.CERTIFICATE_REVOKED, expected, found,
                      f"the signer certificate was revoked {format_timestamp(when)} ({reason}): do not trust "
                      "documents it signed")
    return unknown(CHECK, Reason.REVOCATION_UNKNOWN, expected, f"unknown ({window})",
                   "the OCSP responder does not know the signer certificate")


def _single_for(response, cert, issuer):
    """The single response about ``cert``, or why there is none."""
    for single in response.responses:
        if single.serial_number != cert.serial_number:
            continue
        algorithm = single.hash_algorithm
        name_hash = _hash(algorithm, issuer.subject.public_bytes())
        key_hash = _hash(algorithm, _key_bits(issuer))
        if single.issuer_name_hash == name_hash and single.issuer_key_hash == key_hash:
            return single
        return f"the answer for serial {format(cert.serial_number, 'x')} names another issuer"
    return f"the answer is not about serial {format(cert.serial_number, 'x')}"


def _responder_problem(response, issuer, at):
    """None when the response is signed by the issuer or a responder it delegated; else why not."""
    signer = _signer_of(response, issuer)
    if signer is None:
        return "the answer is signed neither by the issuer nor by a responder the issuer delegated"
    if signer is not issuer:
        if not _issued_by(signer, issuer):
            return f"responder '{subject_text(signer)}' is not issued by '{subject_text(issuer)}'"
        if not _has_ocsp_signing(signer):
            return f"responder '{subject_text(signer)}' is not authorized for OCSP signing (id-kp-OCSPSigning)"
        if not not_before(signer) <= at <= not_after(signer):
            return f"responder certificate '{subject_text(signer)}' is not valid at {format_timestamp(at)}"
    if not _signature_ok(response, signer.public_key()):
        return f"the answer's signature does not verify with the key of '{subject_text(signer)}'"
    return None


def _signer_of(response, issuer):
    if _names_responder(response, issuer):
        return issuer
    return next((c for c in response.certificates if _names_responder(response, c)), None)


def _names_responder(response, cert):
    if response.responder_key_hash is not None:
        return response.responder_key_hash == _hash(hashes.SHA1(), _key_bits(cert))  # nosec - RFC 6960 KeyHash
    return response.responder_name == cert.subject


def _issued_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature,) + _OCSP_ERRORS:
        return False


def _has_ocsp_signing(cert):
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in usages


def _signature_ok(response, public_key):
    algorithm = response.signature_hash_algorithm
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature,) + _OCSP_ERRORS:
        return False
    return True


def _time_problem(single, at, skew):
    this_update = _utc(single, "this_update")
    next_update = _utc(single, "next_update")
    if this_update > at + skew:
        return f"thisUpdate {format_timestamp(this_update)} is after {format_timestamp(at)}"
    if next_update is None:
        next_update = this_update + NO_NEXT_UPDATE_WINDOW
    if next_update < at - skew:
        return f"nextUpdate {format_timestamp(next_update)} is before {format_timestamp(at)}"
    return None


def _window_text(single):
    next_update = _utc(single, "next_update")
    return f"thisUpdate {format_timestamp(_utc(single, 'this_update'))}, nextUpdate " \
           f"{format_timestamp(next_update) if next_update else 'none'}"


def _utc(single, name):
    value = getattr(single, name + "_utc", None)
    if value is None:
        value = getattr(single, name, None)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
    return value


def _key_bits(cert):
    """The subjectPublicKey BIT STRING contents (without the unused-bits octet): what an OCSP
    KeyHash covers."""
    info = keys.PublicKeyInfo.load(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    return info["public_key"].contents[1:]  # drop the unused-bits octet


def _hash(algorithm, data):
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


def _invalid(expected, why):
    return unknown(CHECK, Reason.OCSP_RESPONSE_INVALID, expected, why, f"the OCSP answer cannot be used: {why}")


def _short(exc, limit=160):
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
