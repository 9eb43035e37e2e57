# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Does the signer's certificate chain to the trust roots at the reference time?

Decided in this order:

1. ``cryptography.x509.verification`` with the web PKI server policy for the SAN name that the
   allow-list matched (what Azure's public IMDS certificates satisfy).
2. The same verifier with a permissive end-entity policy (``ExtensionPolicy.permit_all()``) and
   the web PKI CA policy, as a client verifier (no name). The SAN was already checked by the
   caller; this accepts a signer certificate without serverAuth EKU or other web PKI leaf
   extensions, which Azure Local's host certificate may lack (it is not documented). Needs
   cryptography 45+; the result says which policy accepted the path.
3. A manual walk with public APIs only: from the signer, find issuers by name among the bag,
   the supplied intermediates and the trust roots; check each link with
   ``Certificate.verify_directly_issued_by`` (name and signature), that issuers are CAs
   (basicConstraints cA, keyUsage keyCertSign when present; a trust root without
   basicConstraints is accepted as a v1 root), and that every certificate is valid at the
   reference time. It does not enforce name constraints, path length, policies or EKU
   (revocation is ``revocation.py``'s concern). It decides only when ``x509.verification`` is missing
   (cryptography < 42); otherwise it explains why the verifier refused: no issuer found or an
   untrusted self-signed root (Unknown: the trust bundle or an intermediate may be missing)
   versus a broken link or an expired certificate (Failed). When no issuer is found, the
   result names the certificate whose issuer is missing and its AIA caIssuers URLs, so that a
   caller may fetch a candidate and decide again.
"""

from dataclasses import dataclass
from datetime import timezone
from typing import List, Optional

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from ..core.timeutil import format_timestamp
from .result import IssuerWanted, Reason, failed, passed, unknown

try:  # cryptography 42+
    from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError
except ImportError:  # pragma: no cover - older cryptography
    PolicyBuilder = None
try:  # cryptography 45+
    from cryptography.x509.verification import ExtensionPolicy
except ImportError:  # pragma: no cover
    ExtensionPolicy = None

MAX_DEPTH = 8
MAX_LINKS = 64

_AIA_CA_ISSUERS = x509.oid.AuthorityInformationAccessOID.CA_ISSUERS

# What ``cryptography`` raises when it lazily parses a corrupt field of a certificate (names,
# extensions, the public key). DuplicateExtension and UnsupportedGeneralNameType are not
# ValueErrors.
CERT_ERRORS = (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


@dataclass
class _Walk:
    kind: str  # trusted, expired, not-yet-valid, invalid, untrusted-root, incomplete
    path: List[x509.Certificate]
    detail: str
    culprit: Optional[x509.Certificate] = None


_RANK = {"trusted": 0, "expired": 1, "not-yet-valid": 1, "invalid": 2, "untrusted-root": 3, "incomplete": 4}


def _der(cert):
    return cert.public_bytes(Encoding.DER)


def subject_text(cert):
    try:
        return cert.subject.rfc4514_string()
    except ValueError:
        return "?"


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=timezone.utc)


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=timezone.utc)


def _path_text(path, origins=None):
    origins = origins or {}

    def one(cert):
        origin = origins.get(_der(cert))
        return f"'{subject_text(cert)}'" + (f" ({origin})" if origin else "")
    return " -> ".join(one(c) for c in path)


def _dedupe(certs):
    seen, unique = set(), []
    for cert in certs:
        der = _der(cert)
        if der not in seen:
            seen.add(der)
            unique.append(cert)
    return unique


CHECK = "chainTrusted"


def check_chain(signer, *, pool, trust_roots, at, dns_name=None, origins=None):
    """Decide whether ``signer`` chains to ``trust_roots`` at ``at``.

    ``pool``: candidate intermediates (the other bag certificates, those supplied, those
    fetched). ``dns_name``: the SAN name the allow-list matched, for the server policy (may be
    None). ``origins``: DER bytes -> where that certificate came from, named in ``found``.

    Returns ``(check, path, wanted)``: the ``chainTrusted`` check, the trusted path (signer
    first) or None, and the ``IssuerWanted`` when the path stops at a certificate whose issuer
    is nowhere to be found.
    """
    roots = _dedupe(trust_roots)
    expected = f"a path from the signer to one of {len(roots)} trust root(s), valid at {format_timestamp(at)}"
    if not roots:
        return unknown(CHECK, Reason.NO_TRUST_ROOTS, expected, "no trust roots were supplied",
                       "no trust roots were supplied, so the signer cannot be trusted or refuted"), None, None
    signer_der = _der(signer)
    pool = [c for c in _dedupe(pool) if _der(c) != signer_der]
    path, note, refusals = _verify_with_policies(signer, pool, roots, at, dns_name)
    if path is not None:
        return passed(CHECK, expected, f"{_path_text(path, origins)} ({note})"), path, None
    walk = walk_chain(signer, pool, roots, at)
    return _explain(walk, signer_der, expected, at, refusals, origins=origins)


def _verify_with_policies(signer, pool, roots, at, dns_name):
    """(path, policy note, refusals) from ``x509.verification``; path None when it refused."""
    refusals = []
    if PolicyBuilder is None:
        return None, None, refusals
    builder = PolicyBuilder().store(Store(roots)).time(at).max_chain_depth(MAX_DEPTH)
    if dns_name:
        try:
            path = builder.build_server_verifier(DNSName(dns_name)).verify(signer, pool)
            return path, f"web PKI server policy for {dns_name}", refusals
        except (VerificationError, TypeError) + CERT_ERRORS as exc:
            refusals.append(f"server policy: {exc}")
    if ExtensionPolicy is not None:
        try:
            verifier = builder.extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            ).build_client_verifier()
            path = verifier.verify(signer, pool).chain
            note = f"; {refusals[0]}" if refusals else ""
            return path, f"permissive end-entity policy{note}", refusals
        except (VerificationError, TypeError) + CERT_ERRORS as exc:
            refusals.append(f"permissive policy: {exc}")
    return None, None, refusals


def _explain(walk, signer_der, expected, at, refusals, *, origins):
    """The check for a path the verifier refused (or could not judge), from the manual walk."""
    verifier_note = f" The X.509 verifier said: {refusals[-1]}" if refusals else ""
    if walk.kind == "trusted":
        if PolicyBuilder is None:
            return passed(CHECK, expected, f"{_path_text(walk.path, origins)} (manual walk: names, signatures, "
                                           "CA flags, validity)"), walk.path, None
        return failed(CHECK, Reason.CHAIN_INVALID, expected,
                      f"{_path_text(walk.path, origins)} refused by the X.509 policy",
                      f"a path to the trust roots exists but breaks X.509 path rules.{verifier_note}"), None, None
    if walk.kind in ("expired", "not-yet-valid"):
        return failed(CHECK, _validity_code(walk, signer_der), expected, walk.detail,
                      f"the chain is not valid at {format_timestamp(at)}: {walk.detail}"), None, None
    if walk.kind == "invalid":
        return failed(CHECK, Reason.CHAIN_INVALID, expected, walk.detail,
                      f"the signer's chain is broken: {walk.detail}"), None, None
    if walk.kind == "untrusted-root":
        return unknown(CHECK, Reason.CHAIN_UNTRUSTED, expected, walk.detail,
                       f"{walk.detail}; if that root is expected, add it to the trust bundle"), None, None
    last = walk.path[-1]
    urls = ca_issuer_urls(last)
    hint = f" (the certificate names its issuer at {urls[0]})" if urls else ""
    wanted = IssuerWanted(subject_text(last), _issuer_text(last), tuple(urls))
    return unknown(CHECK, Reason.CHAIN_UNTRUSTED, expected, walk.detail,
                   f"{walk.detail}; supply the missing intermediate certificate{hint} or the right trust bundle"), \
        None, wanted


def _validity_code(walk, signer_der):
    is_signer = walk.culprit is not None and _der(walk.culprit) == signer_der
    if walk.kind == "expired":
        return Reason.SIGNER_CERTIFICATE_EXPIRED if is_signer else Reason.CERTIFICATE_EXPIRED
    return Reason.SIGNER_CERTIFICATE_NOT_YET_VALID if is_signer else Reason.CERTIFICATE_NOT_YET_VALID


def _aia_urls(cert, method):
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound,) + CERT_ERRORS:
        return []
    urls = []
    for description in aia:
        location = description.access_location
        if description.access_method == method and isinstance(location, x509.UniformResourceIdentifier):
            if location.value.lower().startswith(("http://", "https://")) and location.value not in urls:
                urls.append(location.value)
    return urls


def ca_issuer_urls(cert):
    """The http(s) caIssuers URLs of ``cert``'s Authority Information Access, in order."""
    return _aia_urls(cert, _AIA_CA_ISSUERS)


def ocsp_urls(cert):
    """The http(s) OCSP responder URLs of ``cert``'s Authority Information Access, in order."""
    return _aia_urls(cert, x509.oid.AuthorityInformationAccessOID.OCSP)


def walk_chain(leaf, pool, roots, at):
    """Manual path search; returns the most complete outcome found (see module docstring)."""
    root_ders = {_der(r) for r in roots}
    candidates = _dedupe(list(roots) + list(pool))
    outcomes = []
    budget = [MAX_LINKS]

    def visit(path):
        cert = path[-1]
        if _der(cert) in root_ders:
            outcomes.append(_validity(path, at))
            return
        if len(path) > MAX_DEPTH:
            outcomes.append(_Walk("incomplete", path, f"no trust root within {MAX_DEPTH} certificates"))
            return
        in_path = {_der(c) for c in path}
        issuers = [c for c in candidates if c.subject == cert.issuer and _der(c) not in in_path]
        if not issuers:
            if cert.subject == cert.issuer:
                outcomes.append(_Walk(
                    "untrusted-root", path,
                    f"the path ends at self-signed '{subject_text(cert)}', which is not a trust root"))
            else:
                outcomes.append(_Walk("incomplete", path,
                                      f"no certificate for issuer '{_issuer_text(cert)}' of '{subject_text(cert)}' "
                                      f"among the bag, the supplied intermediates and the trust roots"))
            return
        for issuer in issuers:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            try:
                cert.verify_directly_issued_by(issuer)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                outcomes.append(_Walk("invalid", path + [issuer],
                                      f"'{subject_text(cert)}' names '{subject_text(issuer)}' as issuer "
                                      f"but its signature does not verify with that certificate's key"))
                continue
            problem = _ca_problem(issuer, _der(issuer) in root_ders)
            if problem:
                outcomes.append(_Walk("invalid", path + [issuer], problem))
                continue
            visit(path + [issuer])

    visit([leaf])
    return min(outcomes, key=lambda w: _RANK[w.kind])


def _issuer_text(cert):
    try:
        return cert.issuer.rfc4514_string()
    except ValueError:
        return "?"


def _ca_problem(issuer, is_root):
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            return f"'{subject_text(issuer)}' issued a certificate but is not a CA (basicConstraints cA false)"
    except x509.ExtensionNotFound:
        if not is_root:
            return f"'{subject_text(issuer)}' issued a certificate but has no basicConstraints"
    except CERT_ERRORS as exc:
        return f"'{subject_text(issuer)}' has unreadable extensions: {exc}"
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            return f"'{subject_text(issuer)}' issued a certificate but its keyUsage lacks keyCertSign"
    except x509.ExtensionNotFound:
        pass
    except CERT_ERRORS as exc:
        return f"'{subject_text(issuer)}' has unreadable extensions: {exc}"
    return None


def _validity(path, at):
    for cert in path:
        if at < not_before(cert):
            return _Walk("not-yet-valid", path,
                         f"'{subject_text(cert)}' is not valid before {format_timestamp(not_before(cert))}", cert)
        if at > not_after(cert):
            return _Walk("expired", path, f"'{subject_text(cert)}' expired {format_timestamp(not_after(cert))}", cert)
    return _Walk("trusted", path, _path_text(path))
