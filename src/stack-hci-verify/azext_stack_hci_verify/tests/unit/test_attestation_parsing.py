# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Parsing the IMDS envelope and trust bundles; malformed input never escapes as a crash."""

import base64
import datetime as dt
import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azext_stack_hci_verify.attestation import (CHECK_ORDER, MalformedResponseError, Status, TrustBundleError,
                                                load_certificates, load_pem_bundle, parse_attested_response,
                                                verify_attested_document)
from azext_stack_hci_verify.attestation.document import parse_imds_time
from emulator import imds

UTC = dt.timezone.utc
SIGNATURE = base64.b64encode(b"\x30\x80payload").decode()


# -- parse_attested_response ------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"encoding": "pkcs7", "signature": SIGNATURE},
    json.dumps({"encoding": "pkcs7", "signature": SIGNATURE}),
    json.dumps({"encoding": "pkcs7", "signature": SIGNATURE}).encode(),
    b"\xef\xbb\xbf" + json.dumps({"encoding": "PKCS7", "signature": SIGNATURE}).encode(),
    {"encoding": "pkcs7", "signature": " " + SIGNATURE[:4] + "\n" + SIGNATURE[4:] + "\r\n\t"},
])
def test_parse_accepts(body):
    parsed = parse_attested_response(body)
    assert parsed.encoding == "pkcs7"
    assert parsed.signature == b"\x30\x80payload"


@pytest.mark.parametrize("body, code", [
    (b"", "malformed-response"),
    (b"\xff\xfe", "malformed-response"),
    ("[]", "malformed-response"),
    ("null", "malformed-response"),
    ('{"encoding": "pkcs7"}', "malformed-response"),
    ({"encoding": "pkcs7", "signature": ""}, "malformed-response"),
    ({"encoding": "pkcs7", "signature": 5}, "malformed-response"),
    ({"encoding": "pkcs7", "signature": "not base64!"}, "malformed-response"),
    ({"encoding": "pkcs7", "signature": "QUJD\u00e9"}, "malformed-response"),
    ({"encoding": "pkcs7", "signature": "===="}, "malformed-response"),
    ({"signature": SIGNATURE}, "malformed-response"),
    ({"encoding": "jws", "signature": SIGNATURE}, "unsupported-encoding"),
    ("[" * 100000 + "]" * 100000, "malformed-response"),
    (b" " * (1024 * 1024 + 1), "response-too-large"),
    (42, "malformed-response"),
])
def test_parse_rejects_with_typed_error(body, code):
    with pytest.raises(MalformedResponseError) as caught:
        parse_attested_response(body)
    assert caught.value.reason_code == code


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "encoding": st.one_of(st.just("pkcs7"), st.text(max_size=8), _json_values),
        "signature": st.one_of(st.text(max_size=64), st.binary(max_size=48).map(lambda b: base64.b64encode(b).decode()),
                               _json_values),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=256),
    st.text(max_size=256),
    _json_values,
    _envelopes,
    _envelopes.map(json.dumps),
    _envelopes.map(lambda e: json.dumps(e).encode("utf-8")),
))
def test_parse_never_raises_anything_else(body):
    try:
        parsed = parse_attested_response(body)
    except MalformedResponseError as exc:
        assert exc.reason_code in ("malformed-response", "unsupported-encoding", "response-too-large")
    else:
        assert isinstance(parsed.signature, bytes) and parsed.signature


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_verifier_on_random_der_never_raises(der):
    body = {"encoding": "pkcs7", "signature": base64.b64encode(der or b"\x00").decode()}
    result = verify_attested_document(body, trust_roots=[], at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert result.status is Status.FAILED
    assert result.checks[0].check == "documentParses"


@functools.lru_cache(maxsize=1)
def _emulator_document():
    """(pki, DER) of a valid emulator document, made once."""
    pki = imds.TestPki.create()
    return pki, imds.AttestedDocumentSigner(pki).signed_data("valid", nonce="1", now=pki.created_at)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_verifier_on_mutated_documents_never_raises(data):
    pki, original = _emulator_document()
    der = bytearray(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        index = data.draw(st.integers(min_value=0, max_value=len(der) - 1))
        der[index] = data.draw(st.integers(min_value=0, max_value=255))
    result = verify_attested_document({"encoding": "pkcs7", "signature": base64.b64encode(bytes(der)).decode()},
                                      trust_roots=[pki.root.cert], intermediates=[pki.intermediate.cert],
                                      expected_nonce="1", at=pki.created_at)
    assert [c.check for c in result.checks] == list(CHECK_ORDER)
    json.dumps(result.to_dict())


# -- trust bundles ----------------------------------------------------------------------------

def _pem_certs():
    pki = imds.TestPki.create()
    return pki, pki.root.cert_pem, pki.intermediate.cert_pem


def test_load_pem_bundle_reads_all_and_skips_bad_blocks():
    pki, root, inter = _pem_certs()
    bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    certs = load_pem_bundle(b"# comment\n" + root + bad + inter)
    assert [c.subject for c in certs] == [pki.root.cert.subject, pki.intermediate.cert.subject]
    with pytest.raises(TrustBundleError):
        load_pem_bundle(root + bad, strict=True)
    assert len(load_pem_bundle((root + inter).decode())) == 2


@pytest.mark.parametrize("data", [b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_load_pem_bundle_without_certificates(data):
    with pytest.raises(TrustBundleError):
        load_pem_bundle(data)


def test_load_certificates_der_and_pem():
    from cryptography.hazmat.primitives.serialization import Encoding
    pki, root, _ = _pem_certs()
    assert load_certificates(pki.root.cert.public_bytes(Encoding.DER)) == [pki.root.cert]
    assert load_certificates(root) == [pki.root.cert]
    with pytest.raises(TrustBundleError):
        load_certificates(b"\x01\x02")


# -- times ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("11/19/25 18:53:30 -0000", dt.datetime(2025, 11, 19, 18, 53, 30, tzinfo=UTC)),
    ("11/19/2025 18:53:30 +0100", dt.datetime(2025, 11, 19, 17, 53, 30, tzinfo=UTC)),
    ("2025-11-19T18:53:30Z", dt.datetime(2025, 11, 19, 18, 53, 30, tzinfo=UTC)),
    ("2025-11-19T18:53:30.1234567Z", dt.datetime(2025, 11, 19, 18, 53, 30, 123456, tzinfo=UTC)),  # as ARM writes
    ("tomorrow", None),
    ("11/19/25 18:53:30", dt.datetime(2025, 11, 19, 18, 53, 30, tzinfo=UTC)),  # IMDS times are UTC
    ("", None),
    (None, None),
    (17, None),
])
def test_parse_imds_time(text, expected):
    assert parse_imds_time(text) == expected
