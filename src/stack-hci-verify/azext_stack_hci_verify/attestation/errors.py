# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Typed errors of the attestation package. Imports nothing from the rest of the package."""


class AttestationError(Exception):
    """Base class. ``reason_code`` is a stable kebab-case reference for the kind of error."""

    reason_code = "attestation-error"

    def __init__(self, message, reason_code=None):
        super().__init__(message)
        if reason_code is not None:
            self.reason_code = reason_code

    @property
    def message(self):
        return self.args[0] if self.args else ""


class MalformedResponseError(AttestationError):
    """The IMDS response body is not ``{"encoding": "pkcs7", "signature": "<base64>"}``.

    reason codes: ``malformed-response``, ``unsupported-encoding``, ``response-too-large``.
    """

    reason_code = "malformed-response"


class TrustBundleError(AttestationError):
    """A trust bundle (PEM) could not be read."""

    reason_code = "trust-bundle-invalid"
