# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What the caller fetched on the verifier's behalf, as plain data (the verifier fetches nothing).

* ``IssuerCandidate``: the certificates found at an AIA caIssuers URL, or why none could be had.
  A candidate is never trusted for what it is: it joins the pool of intermediates and must chain
  to the trust roots like any other.
* ``RevocationEvidence``: the DER OCSP response of the signer's responder, or why there is none.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

SOURCE_FETCHED = "fetched"
SOURCE_CACHE = "cache"


@dataclass(frozen=True)
class IssuerCandidate:
    url: str  # the caIssuers URL as the certificate names it
    source: str = SOURCE_FETCHED  # "fetched" (now) or "cache" (an earlier fetch)
    certificates: Tuple = ()  # cryptography x509.Certificate objects
    fetched_from: Optional[str] = None  # the URL actually asked (differs behind a mirror)
    reason_code: Optional[str] = None  # set when nothing usable came back
    reason: Optional[str] = None

    @property
    def ok(self):
        return self.reason_code is None and bool(self.certificates)

    def origin(self):
        """Where a certificate of this candidate came from, in words."""
        where = self.url if not self.fetched_from or self.fetched_from == self.url else (
            f"{self.url} via {self.fetched_from}")
        return f"cached from {where}" if self.source == SOURCE_CACHE else f"fetched from {where}"


@dataclass(frozen=True)
class RevocationEvidence:
    url: Optional[str]  # the OCSP responder the certificate names (None: it names none)
    response: Optional[bytes] = None  # DER OCSPResponse
    fetched_from: Optional[str] = None
    reason_code: Optional[str] = None  # set when there is no response
    reason: Optional[str] = None
