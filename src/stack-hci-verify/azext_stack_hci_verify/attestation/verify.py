# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Verify an IMDS attested document: bytes + trust + time in, checks out. No I/O, no clock."""

import math
import re
from datetime import datetime, timedelta, timezone

from cryptography import x509

from .chain import CERT_ERRORS, check_chain, not_after, not_before, subject_text
from .cms import MalformedCmsError, check_signature, parse_signed_data, signer_matches
from .document import MalformedContentError, iso_utc, parse_document_content
from .errors import MalformedResponseError
from .response import parse_attested_response
from .result import (AttestationResult, Check, DocumentSummary, Reason, SignerSummary, Status,
                     summarize)

DEFAULT_ALLOWED_SIGNERS = ("metadata.azure.com",)
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)

# A SAN dNSName must be a plain host name (ASCII letters, digits, '-', '_'; labels of 1 to 63)
# before it is compared: no spaces, NUL bytes, empty labels or wildcards.
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?:\.(?!-)[a-z0-9_-]{1,63})*")

_PASSED, _FAILED, _UNKNOWN, _SKIPPED = Status.PASSED, Status.FAILED, Status.UNKNOWN, Status.SKIPPED


def verify_attested_document(response, *, trust_roots, intermediates=(),
                             allowed_signers=DEFAULT_ALLOWED_SIGNERS, expected_nonce=None, at,
                             clock_skew=DEFAULT_CLOCK_SKEW):
    """Verify an attested-document response and report every check.

    ``response``: the response body (bytes, str or decoded dict) or an ``AttestedResponse``
    (to verify a bare DER SignedData: ``AttestedResponse("pkcs7", der)``).
    ``trust_roots`` / ``intermediates``: ``cryptography`` certificates (see ``load_pem_bundle``).
    ``allowed_signers``: DNS names; a SAN dNSName equal to one, or a subdomain of one, is allowed.
    ``expected_nonce``: the nonce sent; None skips ``nonceEchoed``.
    ``at``: the reference time, timezone-aware (required: this function never reads the clock).
    ``clock_skew``: tolerance for the document's createdOn/expiresOn.

    Never raises for bad input data (that is a Failed result); raises ``ValueError``/``TypeError``
    only for programming errors (a naive ``at``, a trust root that is not a certificate).
    """
    at = _reference_time(at)
    trust_roots = _certificates("trust_roots", trust_roots)
    intermediates = _certificates("intermediates", intermediates)
    allowed = _normalize_allowed(allowed_signers)
    skew = abs(clock_skew) if clock_skew is not None else timedelta(0)

    checks = []
    parts = document = None
    parses = _parse(response)
    if isinstance(parses, Check):
        checks.append(parses)
    else:
        parts = parses
        try:
            document = parse_document_content(parts.content)
            checks.append(Check("documentParses", _PASSED, None, "a CMS SignedData holding a JSON object",
                                _content_summary(parts)))
        except MalformedContentError as exc:
            checks.append(Check("documentParses", _FAILED, Reason.MALFORMED_CONTENT,
                                "a CMS SignedData holding a JSON object", str(exc), str(exc)))

    # The signer, from the SignerInfo's SID.
    signer_entry = None
    if parts is None:
        checks.append(_skipped("singleSigner", "documentParses"))
    else:
        signer_check, signer_entry = _resolve_signer(parts)
        checks.append(signer_check)
    signer_cert = signer_entry[1].cert if signer_entry else None
    signer_info = signer_entry[0] if signer_entry else None

    # Signature.
    if signer_cert is None:
        checks.append(_skipped("signatureValid", "singleSigner"))
    else:
        outcome = _guard("signatureValid", check_signature, parts, signer_info, signer_cert)
        checks.append(outcome if isinstance(outcome, Check) else Check(
            "signatureValid", Status(outcome.status), outcome.reason_code, outcome.expected, outcome.found,
            outcome.reason))

    # Signer name.
    san = _san_names(signer_cert) if signer_cert is not None else None
    matched = []
    expected_names = " or ".join(f"{name} (or a subdomain)" for name in allowed) or "no name (allow-list empty)"
    if signer_cert is None:
        checks.append(_skipped("signerNameAllowed", "singleSigner"))
    else:
        names, san_error = san
        matched = [n for n in names if _name_allowed(n, allowed)]
        if names:
            found = ", ".join(names)
        else:
            found = f"SAN unreadable: {san_error}" if san_error else "no dNSName in the SAN"
        if matched:
            checks.append(Check("signerNameAllowed", _PASSED, None, expected_names, found))
        else:
            checks.append(Check("signerNameAllowed", _FAILED, Reason.SIGNER_NOT_ALLOWED, expected_names, found,
                                f"the signer certificate is for {found}, which is not an allowed signer"))

    # Chain.
    if signer_cert is None:
        checks.append(_skipped("chainTrusted", "singleSigner"))
    else:
        pool = [entry.cert for entry in parts.certificates if entry.cert is not None] + list(intermediates)
        chain = _guard("chainTrusted", check_chain, signer_cert, pool=pool, trust_roots=trust_roots, at=at,
                       dns_name=_preferred_name(matched, allowed))
        checks.append(chain if isinstance(chain, Check) else Check(
            "chainTrusted", Status(chain.status), chain.reason_code, chain.expected, chain.found, chain.reason))

    # Nonce.
    if expected_nonce is None:
        checks.append(Check("nonceEchoed", _SKIPPED, Reason.NO_EXPECTED_NONCE, None,
                            document.nonce if document else None, "no nonce was sent, so none is compared"))
    elif document is None:
        checks.append(_skipped("nonceEchoed", "documentParses"))
    else:
        expected = str(expected_nonce)
        if document.nonce == expected:
            checks.append(Check("nonceEchoed", _PASSED, None, expected, document.nonce))
        else:
            checks.append(Check("nonceEchoed", _FAILED, Reason.NONCE_MISMATCH, expected, document.nonce,
                                f"the document echoes nonce {document.nonce!r}, not the {expected!r} that was sent: "
                                "it was not issued for this request"))

    # Document validity.
    if document is None:
        checks.append(_skipped("notExpired", "documentParses"))
    else:
        checks.append(_check_document_time(document, at, skew))

    # Signer certificate validity.
    if signer_cert is None:
        checks.append(_skipped("signerCertificateValid", "singleSigner"))
    else:
        checks.append(_guard("signerCertificateValid", _check_signer_validity, signer_cert, at))

    status, reason_code, reason = summarize(checks)
    if status is _PASSED:
        reason = _passed_reason(_preferred_name(matched, allowed), document)
    return AttestationResult(
        status=status,
        reason_code=reason_code,
        reason=reason,
        checks=checks,
        document=_document_summary(document),
        signer=_signer_summary(signer_cert, at, san),
    )


# -- inputs -----------------------------------------------------------------------------------

def _reference_time(at):
    if not isinstance(at, datetime):
        raise TypeError("at must be a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware (UTC); this verifier never guesses the time")
    return at.astimezone(timezone.utc)


def _certificates(name, values):
    values = list(values or ())
    for value in values:
        if not isinstance(value, x509.Certificate):
            raise TypeError(f"{name} must hold cryptography x509.Certificate objects, found {type(value).__name__}")
    return values


def _normalize_allowed(allowed_signers):
    if isinstance(allowed_signers, str):
        allowed_signers = [allowed_signers]
    names = []
    for name in allowed_signers or ():
        name = str(name).strip().lower().rstrip(".")
        if name.startswith("*."):
            name = name[2:]
        if name and name not in names:
            names.append(name)
    return names


def _parse(response):
    expected = "a CMS SignedData holding a JSON object"
    try:
        envelope = parse_attested_response(response)
    except MalformedResponseError as exc:
        return Check("documentParses", _FAILED, exc.reason_code, 'a {"encoding": "pkcs7", "signature": ...} response',
                     exc.message, exc.message)
    try:
        return parse_signed_data(envelope.signature)
    except MalformedCmsError as exc:
        return Check("documentParses", _FAILED, exc.reason_code, expected, str(exc), str(exc))


def _content_summary(parts):
    bag = len(parts.certificates)
    return (f"SignedData with {len(parts.content)} bytes of JSON, {bag} certificate(s) and "
            f"{len(parts.signer_infos)} signer(s)")


def _guard(check, function, *args, **kwargs):
    """Run a check on certificates from the document. ``cryptography`` parses some fields lazily
    (public key, names, extensions), so a corrupt certificate can raise while it is examined:
    that is bad data, reported as a Failed check, not a crash."""
    try:
        return function(*args, **kwargs)
    except CERT_ERRORS as exc:
        text = str(exc)[:160] or type(exc).__name__
        return Check(check, _FAILED, Reason.MALFORMED_CERTIFICATE, "well-formed certificates", text,
                     f"a certificate in the document could not be read: {text}")


def _skipped(check, because):
    return Check(check, _SKIPPED, Reason.NOT_EVALUATED, None, None, f"not evaluated: {because} did not pass")


# -- signer -----------------------------------------------------------------------------------

def _is_end_entity(cert):
    try:
        return not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return True
    except CERT_ERRORS:
        return True


def _resolve_signer(parts):
    """(check, (signer_info, bag_entry) or None). The signer is the bag certificate named by the
    SID of the one SignerInfo, never the first certificate of the bag."""
    expected = "one SignerInfo whose certificate is in the bag, alongside CA certificates only"
    count = len(parts.signer_infos)
    if count == 0:
        return Check("singleSigner", _FAILED, Reason.NO_SIGNER, expected, "no SignerInfo",
                     "the document has no signer"), None
    if count > 1:
        return Check("singleSigner", _FAILED, Reason.MULTIPLE_SIGNERS, "exactly one SignerInfo",
                     f"{count} SignerInfos",
                     f"the document has {count} signers; an attested document has exactly one"), None
    info = parts.signer_infos[0]
    matches, seen = [], set()
    for entry in parts.certificates:
        if signer_matches(entry, info) and entry.der not in seen:
            seen.add(entry.der)
            matches.append(entry)
    bag_text = f"{len(parts.certificates)} certificate(s) in the bag"
    if not matches:
        return Check("singleSigner", _FAILED, Reason.SIGNER_NOT_IN_BAG, f"a bag certificate with {info.describe_sid()}",
                     f"none of the {bag_text} matches",
                     "the certificate that the SignerInfo names is not in the document"), None
    if len(matches) > 1:
        return Check("singleSigner", _FAILED, Reason.AMBIGUOUS_SIGNER,
                     f"one bag certificate with {info.describe_sid()}",
                     f"{len(matches)} different certificates match",
                     "several different certificates in the bag match the signer's identifier"), None
    entry = matches[0]
    if entry.cert is None:
        return Check("singleSigner", _FAILED, Reason.MALFORMED_CERTIFICATE, "a readable X.509 certificate",
                     entry.error, f"the signer certificate does not parse: {entry.error}"), None
    others = [e.cert for e in parts.certificates
              if e.der != entry.der and e.cert is not None and _is_end_entity(e.cert)]
    if others:
        names = "; ".join(f"'{subject_text(c)}'" for c in others)
        return Check("singleSigner", _FAILED, Reason.BAG_CONFUSION, expected,
                     f"signer '{subject_text(entry.cert)}'; the bag also holds end-entity {names}",
                     "the bag holds another end-entity certificate besides the signer's: a document signed by one "
                     "key must not borrow the name of another certificate"), (info, entry)
    sid_kind = "subjectKeyIdentifier" if info.sid_kind == "subject_key_identifier" else "issuerAndSerialNumber"
    return Check("singleSigner", _PASSED, None, expected,
                 f"'{subject_text(entry.cert)}' (named by {sid_kind}); {bag_text}"), (info, entry)


def _san_names(cert):
    """(dNSNames in certificate order, error text or None)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return san.get_values_for_type(x509.DNSName), None
    except x509.ExtensionNotFound:
        return [], None
    except CERT_ERRORS as exc:
        return [], str(exc) or type(exc).__name__


def _name_allowed(name, allowed):
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]  # one trailing dot: the absolute form of the same name
    if not _HOST_NAME.fullmatch(name):
        return False  # wildcards, spaces, NUL bytes, empty labels, non-ASCII never match
    return any(name == a or name.endswith("." + a) for a in allowed)


def _preferred_name(matched, allowed):
    for name in matched:
        if name.lower().rstrip(".") in allowed:
            return name
    return matched[0] if matched else None


# -- times ------------------------------------------------------------------------------------

def _check_document_time(document, at, skew):
    created = iso_utc(document.created_on) or document.created_on_text
    expires = iso_utc(document.expires_on) or document.expires_on_text
    window = f"{created} .. {expires}"
    expected = f"createdOn .. expiresOn covering {iso_utc(at)} (tolerance {_minutes(skew)})"
    if document.created_on is None or document.expires_on is None:
        return Check("notExpired", _FAILED, Reason.TIMESTAMP_INVALID, "timeStamp.createdOn and timeStamp.expiresOn",
                     f"createdOn {document.created_on_text!r}, expiresOn {document.expires_on_text!r}",
                     "the document's timeStamp is missing or unreadable")
    if document.created_on > document.expires_on:
        return Check("notExpired", _FAILED, Reason.TIMESTAMP_INVALID, "createdOn before expiresOn", window,
                     "the document expires before it was created")
    if document.created_on > at + skew:
        return Check("notExpired", _FAILED, Reason.DOCUMENT_NOT_YET_VALID, expected, window,
                     f"the document was created {iso_utc(document.created_on)}, after {iso_utc(at)}: "
                     "check the clocks")
    if document.expires_on < at - skew:
        return Check("notExpired", _FAILED, Reason.DOCUMENT_EXPIRED, expected, window,
                     f"the document expired {iso_utc(document.expires_on)}; fetch a new one")
    return Check("notExpired", _PASSED, None, expected, window)


def _minutes(skew):
    seconds = int(skew.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _days_left(cert, at):
    return math.floor((not_after(cert) - at).total_seconds() / 86400)


def _check_signer_validity(cert, at):
    start, end = not_before(cert), not_after(cert)
    expected = f"valid at {iso_utc(at)}"
    found = f"{iso_utc(start)} .. {iso_utc(end)}"
    if at < start:
        return Check("signerCertificateValid", _FAILED, Reason.SIGNER_CERTIFICATE_NOT_YET_VALID, expected, found,
                     f"the signer certificate is not valid before {iso_utc(start)}")
    if at > end:
        return Check("signerCertificateValid", _FAILED, Reason.SIGNER_CERTIFICATE_EXPIRED, expected, found,
                     f"the signer certificate expired {iso_utc(end)}; on Azure Local it is renewed at each "
                     "sync with Azure (Sync-AzureStackHCI)")
    return Check("signerCertificateValid", _PASSED, None, expected,
                 f"{found} ({_days_left(cert, at)} days left)")


# -- summaries --------------------------------------------------------------------------------

def _document_summary(document):
    if document is None:
        return None
    return DocumentSummary(
        vm_id=document.vm_id,
        subscription_id=document.subscription_id,
        sku=document.sku,
        nonce=document.nonce,
        created_on=iso_utc(document.created_on),
        expires_on=iso_utc(document.expires_on),
        license_type=document.license_type,
        plan=document.plan,
    )


def _signer_summary(cert, at, san):
    if cert is None:
        return None
    names = san[0] if san else []
    try:
        issuer = cert.issuer.rfc4514_string()
    except ValueError:
        issuer = "?"
    return SignerSummary(
        subject=subject_text(cert),
        san=list(names),
        issuer=issuer,
        not_before=iso_utc(not_before(cert)),
        not_after=iso_utc(not_after(cert)),
        serial_number=("-" if cert.serial_number < 0 else "") + format(abs(cert.serial_number), "x"),
        days_left=_days_left(cert, at),
    )


def _passed_reason(name, document):
    who = name or "an allowed signer"
    vm = f" for VM {document.vm_id}" if document and document.vm_id else ""
    return f"the document{vm} is signed by {who}, chains to the trust roots and is current"
