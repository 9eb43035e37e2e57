# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The steps of `attest` around the pure verifier: get the document, verify it, and when the chain
stops at a missing issuer fetch that issuer from the AIA URL the certificate names (under the PKI
rules of ``adapters/pki.py``) and verify again; with revocation asked for, fetch the OCSP answer
for the signer and verify once more. Every fetch is reported in the result."""

from dataclasses import dataclass
from typing import Optional

from azext_stack_hci_verify.adapters import pki
from azext_stack_hci_verify.attestation.chain import ocsp_urls
from azext_stack_hci_verify.attestation.evidence import RevocationEvidence
from azext_stack_hci_verify.attestation.revocation import build_ocsp_request
from azext_stack_hci_verify.attestation.verify import verify_attested_document

# A path needs at most a few missing intermediates; each is one fetch.
MAX_ISSUER_FETCHES = 4


@dataclass
class Trust:
    roots: list
    roots_source: str
    intermediates: list
    allowed_signers: tuple


@dataclass
class Verification:
    body: object
    expected_nonce: Optional[str]
    at: object  # the reference time
    now: object  # the current time (the issuer cache keeps entries while they are valid now)
    check_revocation: bool = False


def verify_with_pki(verification, trust, settings):
    """(AttestationResult, fetch reports) for ``verification`` under ``trust`` and ``settings``."""
    candidates, reports = [], []

    def run(revocation=None):
        return verify_attested_document(
            verification.body, trust_roots=trust.roots, intermediates=trust.intermediates,
            issuer_candidates=candidates, revocation=revocation, allowed_signers=trust.allowed_signers,
            expected_nonce=verification.expected_nonce, at=verification.at)

    result = run()
    tried = set()
    for _ in range(MAX_ISSUER_FETCHES):
        url = _next_issuer_url(result, tried)
        if url is None:
            break
        tried.add(url)
        candidate = pki.fetch_issuer(url, settings, now=verification.now)
        if candidate is None:  # fetching is off and the cache has no copy
            continue
        candidates.append(candidate)
        reports.append(_issuer_report(candidate))
        result = run()
    if verification.check_revocation:
        evidence = _revocation_evidence(result, settings)
        if evidence.url is not None:
            reports.append(_ocsp_report(evidence))
        result = run(evidence)
    return result, reports


def _next_issuer_url(result, tried):
    wanted = result.issuer_wanted
    if wanted is None:
        return None
    return next((url for url in wanted.urls if url not in tried), None)


def _revocation_evidence(result, settings):
    path = result.path
    if not path or len(path) < 2:
        return RevocationEvidence(None, reason_code="not-evaluated", reason="the chain is not trusted")
    urls = ocsp_urls(path[0])
    if not urls:
        return RevocationEvidence(None, reason_code="ocsp-unavailable",
                                  reason="the signer certificate names no OCSP responder")
    return pki.fetch_ocsp(urls[0], build_ocsp_request(path[0], path[1]), settings)


def _issuer_report(candidate):
    from azext_stack_hci_verify.attestation.chain import subject_text
    return {
        "kind": "caIssuers",
        "url": candidate.url,
        "fetchedFrom": candidate.fetched_from,
        "source": candidate.source,
        "certificates": [subject_text(cert) for cert in candidate.certificates],
        "reasonCode": candidate.reason_code,
        "reason": candidate.reason,
    }


def _ocsp_report(evidence):
    return {
        "kind": "ocsp",
        "url": evidence.url,
        "fetchedFrom": evidence.fetched_from,
        "source": "fetched",
        "certificates": [],
        "reasonCode": evidence.reason_code,
        "reason": evidence.reason,
    }


def pki_view(settings, reports, check_revocation):
    return {
        "fetchIssuers": settings.fetch_issuers,
        "checkRevocation": bool(check_revocation),
        "mirror": settings.mirror,
        "allowedHosts": list(settings.allowed_hosts),
        "fetches": reports,
    }
