# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The steps of `attest` around the pure verifier: get the document, verify it, and when the chain
stops at a missing issuer fetch that issuer from the AIA URL the certificate names (under the PKI
rules of ``adapters/pki.py``) and verify again; with revocation asked for, fetch the OCSP answer
for the signer and verify once more. Every fetch is reported in the result."""

import os
from dataclasses import dataclass
from typing import Optional

from azext_stack_hci_verify.adapters import pki
from azext_stack_hci_verify.attestation.chain import ocsp_urls
from azext_stack_hci_verify.attestation.evidence import RevocationEvidence
from azext_stack_hci_verify.attestation.revocation import build_ocsp_request
from azext_stack_hci_verify.attestation.verify import verify_attested_document

# A path needs at most a few missing intermediates; each is one fetch.
MAX_ISSUER_FETCHES = 4
TRUST_BUNDLE_ENV = "STACK_HCI_VERIFY_TRUST_BUNDLE"
INTERMEDIATES_ENV = "STACK_HCI_VERIFY_INTERMEDIATES"


@dataclass
class AttestRequest:  # pylint: disable=too-many-instance-attributes
    """The options of `attest`, as the command received them."""

    target: str = "host"
    endpoint: Optional[str] = None
    nonce: Optional[str] = None
    document: Optional[str] = None
    trust_bundle: Optional[str] = None
    intermediates: Optional[str] = None
    allowed_signers: Optional[list] = None
    at: object = None
    timeout: float = 10.0
    no_fetch: bool = False
    check_revocation: bool = False


def attest(cli_ctx, request, now):
    """The attest command: the result view; the process exits 1 after printing it unless Passed."""
    from azext_stack_hci_verify._exit_status import exit_after_output
    from azext_stack_hci_verify.attestation.result import exit_code
    view = attestation(request, now, cli_ctx.config.config_dir)
    exit_after_output(cli_ctx, exit_code(view["status"]))
    return view


def attestation(request, now, cache_dir):
    """The result view of an AttestRequest at `now`; `cache_dir`: where fetched issuers are kept (None:
    not kept). Knows nothing of az."""
    reference_time = request.at or now
    trust = load_trust(request.trust_bundle, request.intermediates, request.allowed_signers)
    settings = pki_settings(cache_dir, request.no_fetch)
    body, expected_nonce, source, failure = attested_body(request)
    if failure is not None:
        view = attestation_view(failure, source, trust, reference_time)
    else:
        result, reports = verify_with_pki(
            Verification(body, expected_nonce or None, reference_time, now, request.check_revocation), trust, settings)
        view = attestation_view(result.to_dict(), source, trust, reference_time)
        view["pki"] = pki_view(settings, reports, request.check_revocation)
    return view


def _certificate_files(value, what):
    """Certificates of one file, or of several separated by the path separator (':' or ';')."""
    from azext_stack_hci_verify.adapters.files import load_certificate_file
    certs = []
    for path in (item for item in value.split(os.pathsep) if item.strip()):
        certs.extend(load_certificate_file(path.strip(), what))
    return certs


def load_trust(trust_bundle, intermediates, allowed_signers):
    """Trust roots and intermediates: the options, else their environment settings, else the
    CA bundle that ships with the environment (certifi) and no intermediates. A setting may name
    several files separated by the path separator."""
    from azext_stack_hci_verify.attestation.verify import DEFAULT_ALLOWED_SIGNERS
    trust_bundle = trust_bundle or os.environ.get(TRUST_BUNDLE_ENV) or None
    intermediates = intermediates or os.environ.get(INTERMEDIATES_ENV) or None
    if trust_bundle:
        roots, roots_source = _certificate_files(trust_bundle, "Trust bundle"), trust_bundle
    else:
        import certifi
        roots, roots_source = _certificate_files(certifi.where(), "CA bundle"), "certifi"
    extra = _certificate_files(intermediates, "Intermediates file") if intermediates else []
    signers = tuple(allowed_signers) if allowed_signers else tuple(DEFAULT_ALLOWED_SIGNERS)
    return Trust(roots, roots_source, extra, signers)


def pki_settings(config_dir, no_fetch):
    """The PKI fetch rules from the settings; the issuer cache lives in the az configuration directory."""
    from azext_stack_hci_verify.errors import InvalidInputError
    try:
        return pki.settings_from_environment(cache_dir=pki.default_cache_dir(config_dir), no_fetch=no_fetch)
    except ValueError as ex:
        raise InvalidInputError(
            str(ex), recommendation=f"Fix or unset the setting: {pki.MIRROR_ENV} takes a base URL such as "
                                    f"http://pki-mirror.example:8080, {pki.HOSTS_ENV} comma-separated host "
                                    "names.") from None


def attested_body(request):
    """(body, expected nonce, source, failure result or None): the saved document, or one fetched."""
    from azext_stack_hci_verify.adapters import imds
    from azext_stack_hci_verify.adapters.files import read_small_file
    target = "vm" if str(request.target) == "vm" else "host"  # a plain string, not az's default-value wrapper
    source = {"target": target, "endpoint": None, "document": request.document, "httpStatus": None,
              "latencyMs": None, "attempts": None, "nonceSent": None}
    if request.document:
        return read_small_file(request.document, "Attested document file"), request.nonce, source, None
    url = request.endpoint or imds.default_endpoints()[target]
    fetched = imds.fetch_attested_document(url, nonce=request.nonce, timeout=request.timeout)
    source.update({"endpoint": url, "httpStatus": fetched.status, "latencyMs": round(fetched.latency_ms, 1),
                   "attempts": fetched.attempts, "nonceSent": fetched.nonce})
    if not fetched.ok:
        failure = {"status": "Unknown", "reasonCode": fetched.reason_code,
                   "reason": f"The attested document could not be fetched from {url}: {fetched.reason}",
                   "document": None, "signer": None, "checks": []}
        return None, None, source, failure
    return fetched.body, fetched.nonce, source, None


def attestation_view(result, source, trust, reference_time):
    from azext_stack_hci_verify.core.timeutil import format_timestamp
    return {
        "status": result.get("status"),
        "reasonCode": result.get("reasonCode"),
        "reason": result.get("reason"),
        "source": source,
        "trust": {"roots": trust.roots_source, "allowedSigners": list(trust.allowed_signers)},
        "document": result.get("document"),
        "signer": result.get("signer"),
        "checks": result.get("checks") or [],
        "pki": None,
        "evaluatedAt": format_timestamp(reference_time),
    }


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
