# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What a verification returns: an explicit status, a stable reason code and every check.

There is deliberately no ``__bool__``: callers read ``status``.
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional, Tuple


class Status(str, Enum):
    PASSED = "Passed"
    FAILED = "Failed"
    UNKNOWN = "Unknown"
    SKIPPED = "Skipped"  # checks only; an overall result is never Skipped

    def __str__(self):
        return self.value


# Check names, in the order they are reported.
CHECK_ORDER = (
    "documentParses",
    "singleSigner",
    "signatureValid",
    "signerNameAllowed",
    "chainTrusted",
    "nonceEchoed",
    "notExpired",
    "signerCertificateValid",
    "notRevoked",
)


class Reason:  # pylint: disable=too-few-public-methods
    """Stable reason codes. Failed = the data is bad; Unknown = it could not be decided."""

    VERIFIED = "verified"
    # documentParses (Failed)
    MALFORMED_RESPONSE = "malformed-response"
    UNSUPPORTED_ENCODING = "unsupported-encoding"
    RESPONSE_TOO_LARGE = "response-too-large"
    MALFORMED_DOCUMENT = "malformed-document"
    NOT_SIGNED_DATA = "not-signed-data"
    DETACHED_CONTENT = "detached-content"
    MALFORMED_CONTENT = "malformed-content"
    # singleSigner (Failed)
    NO_SIGNER = "no-signer"
    MULTIPLE_SIGNERS = "multiple-signers"
    SIGNER_NOT_IN_BAG = "signer-not-in-bag"
    AMBIGUOUS_SIGNER = "ambiguous-signer"
    BAG_CONFUSION = "bag-confusion"
    MALFORMED_CERTIFICATE = "malformed-certificate"
    # signatureValid (Failed, except unsupported-algorithm: Unknown)
    SIGNATURE_INVALID = "signature-invalid"
    DIGEST_MISMATCH = "digest-mismatch"
    CONTENT_TYPE_MISMATCH = "content-type-mismatch"
    MISSING_SIGNED_ATTRIBUTE = "missing-signed-attribute"
    SIGNED_ATTRIBUTES_INVALID = "signed-attributes-invalid"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    WEAK_ALGORITHM = "weak-algorithm"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    # signerNameAllowed (Failed)
    SIGNER_NOT_ALLOWED = "signer-not-allowed"
    # chainTrusted (chain-untrusted and no-trust-roots: Unknown; the rest Failed)
    CHAIN_UNTRUSTED = "chain-untrusted"
    NO_TRUST_ROOTS = "no-trust-roots"
    CHAIN_INVALID = "chain-invalid"
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_YET_VALID = "certificate-not-yet-valid"
    ISSUER_FETCH_FAILED = "issuer-fetch-failed"  # Unknown: the AIA issuer could not be had
    # nonceEchoed
    NONCE_MISMATCH = "nonce-mismatch"
    NO_EXPECTED_NONCE = "no-expected-nonce"  # Skipped
    # notExpired (Failed)
    DOCUMENT_EXPIRED = "document-expired"
    DOCUMENT_NOT_YET_VALID = "document-not-yet-valid"
    TIMESTAMP_INVALID = "timestamp-invalid"
    # signerCertificateValid (Failed); chainTrusted uses them too when the signer is the culprit
    SIGNER_CERTIFICATE_EXPIRED = "signer-certificate-expired"
    SIGNER_CERTIFICATE_NOT_YET_VALID = "signer-certificate-not-yet-valid"
    # notRevoked: revoked is Failed; no usable answer is Unknown; not asked is Skipped
    CERTIFICATE_REVOKED = "certificate-revoked"
    REVOCATION_UNKNOWN = "revocation-unknown"
    OCSP_UNAVAILABLE = "ocsp-unavailable"
    OCSP_RESPONSE_INVALID = "ocsp-response-invalid"
    OCSP_RESPONSE_STALE = "ocsp-response-stale"
    REVOCATION_NOT_CHECKED = "revocation-not-checked"
    # any check whose input is missing because an earlier check failed (Skipped)
    NOT_EVALUATED = "not-evaluated"


REASON_CODES = tuple(sorted(v for k, v in vars(Reason).items() if k.isupper()))


@dataclass
class Check:
    """The one outcome type of this package: every step (CMS signature, chain, revocation, ...)
    reports one of these."""

    check: str
    status: Status
    reason_code: Optional[str] = None
    expected: Optional[str] = None
    found: Optional[str] = None
    reason: Optional[str] = None

    def to_dict(self):
        return {
            "check": self.check,
            "status": self.status.value,
            "reasonCode": self.reason_code,
            "expected": self.expected,
            "found": self.found,
            "reason": self.reason,
        }


def passed(check, expected, found):
    return Check(check, Status.PASSED, None, expected, found)


def failed(check, reason_code, expected, found, reason):
    return Check(check, Status.FAILED, reason_code, expected, found, reason)


def unknown(check, reason_code, expected, found, reason):
    return Check(check, Status.UNKNOWN, reason_code, expected, found, reason)


def skipped(check, reason_code, reason, found=None):
    return Check(check, Status.SKIPPED, reason_code, None, found, reason)


@dataclass(frozen=True)
class IssuerWanted:
    """The chain stops at ``subject``: no certificate for its issuer was found. ``urls`` are
    the caIssuers URLs of its Authority Information Access extension (http and https only)."""

    subject: str
    issuer: str
    urls: Tuple[str, ...] = ()


@dataclass
class DocumentSummary:  # pylint: disable=too-many-instance-attributes
    vm_id: Optional[str] = None
    subscription_id: Optional[str] = None
    sku: Optional[str] = None
    nonce: Optional[str] = None
    created_on: Optional[str] = None  # ISO 8601 UTC, or None when unreadable
    expires_on: Optional[str] = None
    license_type: Optional[str] = None
    plan: Optional[dict] = None

    def to_dict(self):
        return {
            "vmId": self.vm_id,
            "subscriptionId": self.subscription_id,
            "sku": self.sku,
            "nonce": self.nonce,
            "createdOn": self.created_on,
            "expiresOn": self.expires_on,
            "licenseType": self.license_type,
            "plan": dict(self.plan) if self.plan is not None else None,
        }


@dataclass
class SignerSummary:
    subject: str
    san: List[str]
    issuer: str
    not_before: str
    not_after: str
    serial_number: str  # hexadecimal, lower case, no separators
    days_left: int  # whole days from the reference time to notAfter; negative once expired

    def to_dict(self):
        return {
            "subject": self.subject,
            "san": list(self.san),
            "issuer": self.issuer,
            "notBefore": self.not_before,
            "notAfter": self.not_after,
            "serialNumber": self.serial_number,
            "daysLeft": self.days_left,
        }


@dataclass
class AttestationResult:  # pylint: disable=too-many-instance-attributes
    status: Status
    reason_code: str
    reason: str
    checks: List[Check] = field(default_factory=list)
    document: Optional[DocumentSummary] = None
    signer: Optional[SignerSummary] = None
    # For the caller that fetches (not part of to_dict): the signer certificate, the path that
    # was trusted (signer first), and the issuer that was missing when no path was found.
    signer_certificate: object = field(default=None, repr=False, compare=False)
    path: Optional[list] = field(default=None, repr=False, compare=False)
    issuer_wanted: Optional[IssuerWanted] = field(default=None, repr=False, compare=False)

    def check(self, name):
        """The check called ``name`` (see ``CHECK_ORDER``)."""
        for item in self.checks:
            if item.check == name:
                return item
        raise KeyError(name)

    def to_dict(self):
        return {
            "status": self.status.value,
            "reasonCode": self.reason_code,
            "reason": self.reason,
            "document": self.document.to_dict() if self.document else None,
            "signer": self.signer.to_dict() if self.signer else None,
            "checks": [c.to_dict() for c in self.checks],
        }


def summarize(checks):
    """Overall (status, reasonCode, reason) from checks in report order.

    Failed if any check failed (the first one gives the reason); else Unknown if any is
    Unknown; else Passed. Skipped checks do not count.
    """
    for wanted in (Status.FAILED, Status.UNKNOWN):
        for item in checks:
            if item.status is wanted:
                return wanted, item.reason_code, item.reason or item.reason_code
    return Status.PASSED, Reason.VERIFIED, None


def exit_code(status):
    """The process exit status for a verification outcome: 0 only for Passed."""
    return 0 if Status(status) is Status.PASSED else 1
