# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Verification of IMDS attested documents (PKCS#7 / X.509): bytes + trust + time in, checks out.

No I/O and no clock: the caller reads files, fetches documents and passes the reference time.
Names are imported lazily so that importing this package costs nothing until one is used::

    from azext_stack_hci_verify.attestation import verify_attested_document, load_pem_bundle
"""

_EXPORTS = {
    "verify_attested_document": ".verify",
    "DEFAULT_ALLOWED_SIGNERS": ".verify",
    "DEFAULT_CLOCK_SKEW": ".verify",
    "parse_attested_response": ".response",
    "AttestedResponse": ".response",
    "load_pem_bundle": ".trust",
    "load_certificates": ".trust",
    "AttestationResult": ".result",
    "Check": ".result",
    "Status": ".result",
    "Reason": ".result",
    "REASON_CODES": ".result",
    "CHECK_ORDER": ".result",
    "IssuerWanted": ".result",
    "exit_code": ".result",
    "IssuerCandidate": ".evidence",
    "RevocationEvidence": ".evidence",
    "build_ocsp_request": ".revocation",
    "check_revocation": ".revocation",
    "ca_issuer_urls": ".chain",
    "ocsp_urls": ".chain",
    "AttestationError": ".errors",
    "MalformedResponseError": ".errors",
    "TrustBundleError": ".errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
