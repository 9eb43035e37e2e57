# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The verifier against a real Azure attested document (public test fixture) and its chain.

The sample and its issuing CA are in ``emulator/fixtures/azure-imds-sample`` (see its README for
where they come from). DigiCert Global Root G2 comes from ``certifi``.
"""

import base64
import datetime as dt
import json
import os

import certifi
import pytest

from azext_stack_hci_verify.attestation import Status, load_pem_bundle, verify_attested_document

UTC = dt.timezone.utc
SAMPLE_TIME = dt.datetime(2025, 11, 19, 13, 46, 40, tzinfo=UTC)
DOCUMENT = "azure-attested-document-2025-11-19.json"
INTERMEDIATE = "microsoft-azure-rsa-tls-issuing-ca-07-xsign.pem"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLES = os.path.join(REPO_ROOT, "emulator", "fixtures", "azure-imds-sample")


@pytest.fixture(scope="module")
def body():
    with open(os.path.join(SAMPLES, DOCUMENT), "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def intermediates():
    with open(os.path.join(SAMPLES, INTERMEDIATE), "rb") as handle:
        return load_pem_bundle(handle.read())


@pytest.fixture(scope="module")
def digicert_g2():
    with open(certifi.where(), "rb") as handle:
        bundle = load_pem_bundle(handle.read())
    roots = [c for c in bundle if c.subject.rfc4514_string().startswith("CN=DigiCert Global Root G2,")]
    assert roots, "certifi has no DigiCert Global Root G2"
    return roots


def test_passes_at_its_own_time(body, intermediates, digicert_g2):
    result = verify_attested_document(body, trust_roots=digicert_g2, intermediates=intermediates, at=SAMPLE_TIME)
    assert result.status is Status.PASSED, result.to_dict()
    data = result.to_dict()
    assert data["document"]["vmId"] == "ddc87bd2-3ebb-43dc-92a9-90b104cd9527"
    assert data["document"]["nonce"] == "20251119-185330"
    assert data["document"]["createdOn"] == "2025-11-19T12:53:30Z"
    assert data["document"]["expiresOn"] == "2025-11-19T18:53:30Z"
    assert sorted(data["signer"]["san"]) == ["eastus.metadata.azure.com", "metadata.azure.com"]
    assert data["signer"]["issuer"].startswith("CN=Microsoft Azure RSA TLS Issuing CA 07")
    assert data["signer"]["notAfter"].startswith("2026-04-23")
    assert "DigiCert Global Root G2" in result.check("chainTrusted").found


def test_passes_with_the_whole_certifi_bundle(body, intermediates):
    with open(certifi.where(), "rb") as handle:
        roots = load_pem_bundle(handle.read())
    result = verify_attested_document(body, trust_roots=roots, intermediates=intermediates, at=SAMPLE_TIME,
                                      expected_nonce="20251119-185330")
    assert result.status is Status.PASSED
    assert result.check("nonceEchoed").status is Status.PASSED


def test_base64_with_newlines(body, intermediates, digicert_g2):
    envelope = json.loads(body)
    signature = envelope["signature"]
    envelope["signature"] = "\n".join(signature[i:i + 64] for i in range(0, len(signature), 64)) + "\r\n"
    result = verify_attested_document(envelope, trust_roots=digicert_g2, intermediates=intermediates, at=SAMPLE_TIME)
    assert result.status is Status.PASSED


def test_expired_document_after_expires_on(body, intermediates, digicert_g2):
    result = verify_attested_document(body, trust_roots=digicert_g2, intermediates=intermediates,
                                      at=dt.datetime(2025, 11, 19, 19, 0, tzinfo=UTC))
    assert (result.status, result.reason_code) == (Status.FAILED, "document-expired")
    assert result.check("chainTrusted").status is Status.PASSED


def test_signer_certificate_expired_after_april_2026(body, intermediates, digicert_g2):
    result = verify_attested_document(body, trust_roots=digicert_g2, intermediates=intermediates,
                                      at=dt.datetime(2026, 4, 24, tzinfo=UTC))
    assert result.status is Status.FAILED
    assert result.check("signerCertificateValid").reason_code == "signer-certificate-expired"
    assert result.check("chainTrusted").reason_code == "signer-certificate-expired"
    assert result.reason_code == "signer-certificate-expired"
    assert result.signer.days_left < 0


def test_missing_intermediate_is_unknown(body, digicert_g2):
    result = verify_attested_document(body, trust_roots=digicert_g2, at=SAMPLE_TIME)
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "chain-untrusted")
    assert "Microsoft Azure RSA TLS Issuing CA 07" in result.check("chainTrusted").found


def test_wrong_nonce(body, intermediates, digicert_g2):
    result = verify_attested_document(body, trust_roots=digicert_g2, intermediates=intermediates, at=SAMPLE_TIME,
                                      expected_nonce="1234567890")
    assert (result.status, result.reason_code) == (Status.FAILED, "nonce-mismatch")


def test_tampered_sample(body, intermediates, digicert_g2):
    envelope = json.loads(body)
    der = base64.b64decode(envelope["signature"])
    vm_id = b"ddc87bd2-3ebb-43dc-92a9-90b104cd9527"
    assert der.count(vm_id) == 1
    envelope["signature"] = base64.b64encode(der.replace(vm_id, vm_id.replace(b"ddc8", b"eeee"))).decode()
    result = verify_attested_document(envelope, trust_roots=digicert_g2, intermediates=intermediates, at=SAMPLE_TIME)
    assert (result.status, result.reason_code) == (Status.FAILED, "signature-invalid")


def test_untrusted_when_only_an_unrelated_root_is_trusted(body, intermediates, digicert_g2):
    # The intermediate is known but its root is not in the trust bundle.
    result = verify_attested_document(body, trust_roots=[intermediates[0]], intermediates=[], at=SAMPLE_TIME)
    assert result.status is Status.PASSED  # trusting the intermediate itself is enough
    result = verify_attested_document(body, trust_roots=[], intermediates=intermediates, at=SAMPLE_TIME)
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "no-trust-roots")
