# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading trust roots and intermediates from bytes (the caller reads the files)."""

import re
import warnings

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from .errors import TrustBundleError

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def load_pem_bundle(data, *, strict=False):
    """Certificates of a PEM bundle (such as certifi's ``cacert.pem``), in file order.

    A block that does not parse is skipped (a CA bundle may hold a certificate this version of
    ``cryptography`` refuses; the rest must stay usable) unless ``strict``. Deprecation warnings
    about such certificates (for example a non-positive serial number) are silenced while
    loading. Raises ``TrustBundleError`` when no certificate could be read.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    certs, bad = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for match in _PEM_CERT.finditer(bytes(data)):
            try:
                certs.append(x509.load_pem_x509_certificate(match.group(0)))
            except ValueError as exc:
                if strict:
                    raise TrustBundleError(
                        f"certificate {len(certs) + bad + 1} of the bundle does not parse: {exc}") from None
                bad += 1
    if not certs:
        suffix = f" ({bad} unreadable)" if bad else ""
        raise TrustBundleError(f"no PEM certificate found{suffix}")
    return certs


def load_certificates(data):
    """Certificates from PEM (one or many) or from a single DER certificate (a ``.crt`` as
    served by Microsoft's PKI repository)."""
    data = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    if b"-----BEGIN" in data:
        return load_pem_bundle(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise TrustBundleError(f"neither PEM nor a DER certificate: {exc}") from None
