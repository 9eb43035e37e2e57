# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The IMDS response envelope: ``{"encoding": "pkcs7", "signature": "<base64 DER CMS>"}``."""

import base64
import binascii
import json
from dataclasses import dataclass

from .errors import MalformedResponseError

# A real response is about 4 KB; anything far bigger is not an attested document.
MAX_RESPONSE_CHARS = 1024 * 1024


@dataclass(frozen=True)
class AttestedResponse:
    encoding: str
    signature: bytes  # DER ContentInfo (CMS SignedData), base64-decoded


def parse_attested_response(body):
    """Parse a response body given as bytes, str or an already-decoded dict.

    Returns an ``AttestedResponse``. Raises ``MalformedResponseError`` (and nothing else) with
    ``reason_code`` ``malformed-response``, ``unsupported-encoding`` or ``response-too-large``.
    Whitespace and newlines inside the base64 text are ignored.
    """
    if isinstance(body, AttestedResponse):
        return body
    body = _decode(body)
    if not isinstance(body, dict):
        raise MalformedResponseError(
            f"expected a JSON object with 'encoding' and 'signature', found {type(body).__name__}")

    encoding = body.get("encoding")
    if not isinstance(encoding, str):
        raise MalformedResponseError("the response has no 'encoding' string")
    if encoding.strip().lower() != "pkcs7":
        raise MalformedResponseError(
            f"expected encoding 'pkcs7', found {encoding[:40]!r}", "unsupported-encoding")

    signature = body.get("signature")
    if not isinstance(signature, str) or not signature.strip():
        raise MalformedResponseError("the response has no 'signature' string")
    compact = "".join(signature.split())
    try:
        der = base64.b64decode(compact.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise MalformedResponseError(f"'signature' is not base64: {_short(exc)}") from None
    if not der:
        raise MalformedResponseError("'signature' decodes to nothing")
    return AttestedResponse(encoding="pkcs7", signature=der)


def _decode(body):
    """bytes -> str -> JSON value, within the size cap; other values pass through."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
        if len(raw) > MAX_RESPONSE_CHARS:
            raise MalformedResponseError(
                f"the response is {len(raw)} bytes; an attested document is at most {MAX_RESPONSE_CHARS}",
                "response-too-large")
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedResponseError(f"the response is not UTF-8 text: {exc.reason}") from None
    if isinstance(body, str):
        if len(body) > MAX_RESPONSE_CHARS:
            raise MalformedResponseError(
                f"the response is {len(body)} characters; an attested document is at most {MAX_RESPONSE_CHARS}",
                "response-too-large")
        try:
            body = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise MalformedResponseError(f"the response is not JSON: {_short(exc)}") from None
    return body


def _short(exc, limit=120):
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
