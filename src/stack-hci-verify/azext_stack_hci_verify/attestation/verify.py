# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Verify an IMDS attested document: bytes + trust + time in, checks out. No I/O, no clock."""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .chain import CERT_ERRORS, check_chain, not_after, not_before, subject_text
from .cms import MalformedCmsError, check_signature, parse_signed_data, signer_matches
from .document import MalformedContentError, iso_utc, parse_document_content
from .errors import MalformedResponseError
from .response import parse_attested_response
from .revocation import check_revocation, not_requested
from .result import (AttestationResult, Check, DocumentSummary, Reason, SignerSummary, Status,
                     summarize)

DEFAULT_ALLOWED_SIGNERS = ("metadata.azure.com",)
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)

# A SAN dNSName must be a plain host name (ASCII letters, digits, '-', '_'; labels of 1 to 63)
# before it is compared: no spaces, NUL bytes, empty labels or wildcards.
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?:\.(?!-)[a-z0-9_-]{1,63})*")

_PASSED, _FAILED, _UNKNOWN, _SKIPPED = Status.PASSED, Status.FAILED, Status.UNKNOWN, Status.SKIPPED


def verify_attested_document(response, *, trust_roots, intermediates=(), issuer_candidates=(), revocation=None,
                             allowed_signers=DEFAULT_ALLOWED_SIGNERS, expected_nonce=None, at,
                             clock_skew=DEFAULT_CLOCK_SKEW):
    """Verify an attested-document response and report every check.

    ``response``: the response body (bytes, str or decoded dict) or an ``AttestedResponse``
    (to verify a bare DER SignedData: ``AttestedResponse("pkcs7", der)``).
    ``trust_roots`` / ``intermediates``: ``cryptography`` certificates (see ``load_pem_bundle``).
    ``issuer_candidates``: ``IssuerCandidate`` objects, what the caller fetched from AIA URLs
    (candidates only: they must chain like any intermediate; failed fetches explain an untrusted chain).
    ``revocation``: ``RevocationEvidence`` for the signer, or None when revocation is not checked.
    ``allowed_signers``: DNS names; a SAN dNSName equal to one, or a subdomain of one, is allowed.
    ``expected_nonce``: the nonce sent; None skips ``nonceEchoed``.
    ``at``: the reference time, timezone-aware (required: this function never reads the clock).
    ``clock_skew``: tolerance for the document's createdOn/expiresOn and the OCSP answer's times.

    Never raises for bad input data (that is a Failed result); raises ``ValueError``/``TypeError``
    only for programming errors (a naive ``at``, a trust root that is not a certificate).
    """
    inputs = _Inputs(
        at=_reference_time(at),
        roots=_certificates("trust_roots", trust_roots),
        intermediates=_certificates("intermediates", intermediates),
        candidates=tuple(issuer_candidates or ()),
        allowed=_normalize_allowed(allowed_signers),
        skew=abs(clock_skew) if clock_skew is not None else timedelta(0),
        expected_nonce=expected_nonce,
        revocation=revocation,
    )
    state = _State(response_body=response)
    checks = [step(inputs, state) for step in _STEPS]
    status, reason_code, reason = summarize(checks)
    if status is _PASSED:
        reason = _passed_reason(_preferred_name(state.matched, inputs.allowed), state.document)
    return AttestationResult(
        status=status,
        reason_code=reason_code,
        reason=reason,
        checks=checks,
        document=_document_summary(state.document),
        signer=_signer_summary(state.signer_cert, inputs.at, state.san),
        signer_certificate=state.signer_cert,
        path=state.path,
        issuer_wanted=state.wanted,
    )


@dataclass
class _Inputs:  # pylint: disable=too-many-instance-attributes
    at: datetime
    roots: list
    intermediates: list
    candidates: tuple
    allowed: list
    skew: timedelta
    expected_nonce: Optional[str]
    revocation: object


@dataclass
class _State:  # pylint: disable=too-many-instance-attributes
    """What the steps learn, in order: later steps read what earlier ones found."""

    response_body: object = None
    parts: object = None
    document: object = None
    signer_info: object = None
    signer_cert: Optional[x509.Certificate] = None
    san: Optional[tuple] = None
    matched: list = field(default_factory=list)
    path: Optional[list] = None
    wanted: object = None


# -- the steps, in report order (CHECK_ORDER) ---------------------------------------------------

def _step_parses(inputs, state):
    del inputs
    parses = _parse(state.response_body)
    if isinstance(parses, Check):
        return parses
    state.parts = parses
    try:
        state.document = parse_document_content(parses.content)
    except MalformedContentError as exc:
        return Check("documentParses", _FAILED, Reason.MALFORMED_CONTENT, "a CMS SignedData holding a JSON object",
                     str(exc), str(exc))
    return Check("documentParses", _PASSED, None, "a CMS SignedData holding a JSON object", _content_summary(parses))


def _step_signer(inputs, state):
    del inputs
    if state.parts is None:
        return _skipped("singleSigner", "documentParses")
    check, entry = _resolve_signer(state.parts)
    if entry is not None:
        state.signer_info, state.signer_cert = entry[0], entry[1].cert
        state.san = _san_names(state.signer_cert)
    return check


def _step_signature(inputs, state):
    del inputs
    if state.signer_cert is None:
        return _skipped("signatureValid", "singleSigner")
    return _guard("signatureValid", check_signature, state.parts, state.signer_info, state.signer_cert)


def _step_name(inputs, state):
    if state.signer_cert is None:
        return _skipped("signerNameAllowed", "singleSigner")
    expected = " or ".join(f"{name} (or a subdomain)" for name in inputs.allowed) or "no name (allow-list empty)"
    names, san_error = state.san
    state.matched = [n for n in names if _name_allowed(n, inputs.allowed)]
    if names:
        found = ", ".join(names)
    else:
        found = f"SAN unreadable: {san_error}" if san_error else "no dNSName in the SAN"
    if state.matched:
        return Check("signerNameAllowed", _PASSED, None, expected, found)
    return Check("signerNameAllowed", _FAILED, Reason.SIGNER_NOT_ALLOWED, expected, found,
                 f"the signer certificate is for {found}, which is not an allowed signer")


def _step_chain(inputs, state):
    if state.signer_cert is None:
        return _skipped("chainTrusted", "singleSigner")
    bag = [entry.cert for entry in state.parts.certificates if entry.cert is not None]
    fetched = [cert for candidate in inputs.candidates if candidate.ok for cert in candidate.certificates]
    origins = _origins(bag, inputs)
    outcome = _guard("chainTrusted", check_chain, state.signer_cert, pool=bag + list(inputs.intermediates) + fetched,
                     trust_roots=inputs.roots, at=inputs.at,
                     dns_name=_preferred_name(state.matched, inputs.allowed), origins=origins)
    if isinstance(outcome, Check):
        return outcome
    check, state.path, state.wanted = outcome
    return _with_fetch_failure(check, state.wanted, inputs.candidates)


def _step_nonce(inputs, state):
    document = state.document
    if inputs.expected_nonce is None:
        return Check("nonceEchoed", _SKIPPED, Reason.NO_EXPECTED_NONCE, None,
                     document.nonce if document else None, "no nonce was sent, so none is compared")
    if document is None:
        return _skipped("nonceEchoed", "documentParses")
    expected = str(inputs.expected_nonce)
    if not document.nonce:
        # No nonce at all is never an echo: a document without one can be replayed for any request.
        return Check("nonceEchoed", _FAILED, Reason.NONCE_MISMATCH, expected, document.nonce,
                     f"the document carries no nonce, but {expected!r} was sent: it cannot be told apart from "
                     "a document issued for another request (a replay)")
    if document.nonce == expected:
        return Check("nonceEchoed", _PASSED, None, expected, document.nonce)
    return Check("nonceEchoed", _FAILED, Reason.NONCE_MISMATCH, expected, document.nonce,
                 f"the document echoes nonce {document.nonce!r}, not the {expected!r} that was sent: "
                 "it was not issued for this request")


def _step_document_time(inputs, state):
    if state.document is None:
        return _skipped("notExpired", "documentParses")
    return _check_document_time(state.document, inputs.at, inputs.skew)


def _step_signer_validity(inputs, state):
    if state.signer_cert is None:
        return _skipped("signerCertificateValid", "singleSigner")
    return _guard("signerCertificateValid", _check_signer_validity, state.signer_cert, inputs.at)


def _step_revocation(inputs, state):
    if inputs.revocation is None:
        return not_requested()
    if not state.path or len(state.path) < 2:
        return _skipped("notRevoked", "chainTrusted")
    return _guard("notRevoked", check_revocation, inputs.revocation, state.path[0], state.path[1], inputs.at,
                  inputs.skew)


_STEPS = (_step_parses, _step_signer, _step_signature, _step_name, _step_chain, _step_nonce, _step_document_time,
          _step_signer_validity, _step_revocation)


# -- where chain certificates came from ---------------------------------------------------------

def _origins(bag, inputs):
    """DER -> where the certificate came from, for the chain check's ``found``. Later sources do
    not overwrite earlier ones (a certificate in the bag is "from the document" even if fetched)."""
    origins = {}

    def note(certs, label):
        for cert in certs:
            origins.setdefault(_der(cert), label)
    note(bag, "from the document")
    note(inputs.intermediates, "supplied intermediate")
    for candidate in inputs.candidates:
        if candidate.ok:
            note(candidate.certificates, candidate.origin())
    note(inputs.roots, "trust bundle")
    return origins


def _der(cert):
    return cert.public_bytes(Encoding.DER)


def _with_fetch_failure(check, wanted, candidates):
    """An untrusted chain whose missing issuer could not be fetched says so (Unknown, issuer-fetch-failed)."""
    if check.status is not _UNKNOWN or wanted is None:
        return check
    tried = [c for c in candidates if c.url in wanted.urls]
    failures = [c for c in tried if not c.ok]
    if failures and len(failures) == len(tried):
        first = failures[0]
        return Check(check.check, _UNKNOWN, Reason.ISSUER_FETCH_FAILED, check.expected,
                     f"{check.found}; fetching {first.url} failed: {first.reason}",
                     f"the issuer of '{wanted.subject}' could not be fetched from {first.url}: {first.reason}")
    if tried:
        names = "; ".join(f"'{subject_text(cert)}' ({c.origin()})" for c in tried for cert in c.certificates)
        return Check(check.check, check.status, check.reason_code, check.expected,
                     f"{check.found}; fetched {names} does not complete the path", check.reason)
    return check


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


def _resolve_signer(parts):  # pylint: disable=too-many-return-statements
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
