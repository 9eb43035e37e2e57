# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Revocation (attestation/revocation.py): every OCSP outcome, decided without any I/O.

Responses come from the emulator's responder logic (emulator/pki.py), called directly."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from azext_stack_hci_verify.attestation import RevocationEvidence, Status, verify_attested_document
from azext_stack_hci_verify.attestation.revocation import build_ocsp_request, check_revocation
from emulator import imds
from emulator import pki as emulator_pki

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki():
    return imds.TestPki.create(NOW - dt.timedelta(hours=1))


@pytest.fixture
def repository(pki):
    return emulator_pki.PkiRepository(pki)


def answer(repository, pki, mode, cert=None, issuer=None, now=NOW):
    repository.state.ocsp = mode
    request = build_ocsp_request(cert or pki.leaf.cert, issuer or pki.intermediate.cert)
    return RevocationEvidence("http://127.0.0.1:1/ocsp", response=repository.ocsp(request, now=now).body)


def judge(evidence, pki, at=NOW):
    return check_revocation(evidence, pki.leaf.cert, pki.intermediate.cert, at)


@pytest.mark.parametrize("mode, status, code, fragment", [
    ("good", Status.PASSED, None, "good (thisUpdate"),
    ("revoked", Status.FAILED, "certificate-revoked", "revoked"),
    ("unknown", Status.UNKNOWN, "revocation-unknown", "unknown"),
    ("stale", Status.UNKNOWN, "ocsp-response-stale", "nextUpdate"),
    ("wrong-key", Status.UNKNOWN, "ocsp-response-invalid", "signature does not verify"),
])
def test_each_responder_mode(repository, pki, mode, status, code, fragment):
    check = judge(answer(repository, pki, mode), pki)
    assert (check.check, check.status, check.reason_code) == ("notRevoked", status, code), check
    assert fragment in check.found
    assert check.expected.startswith("a current, signed OCSP answer 'good' for serial")


def test_revoked_names_when_and_why(repository, pki):
    check = judge(answer(repository, pki, "revoked"), pki)
    assert "keyCompromise" in check.found and "do not trust" in check.reason


def test_answer_issued_after_the_reference_time_is_not_current(repository, pki):
    check = judge(answer(repository, pki, "good"), pki, at=NOW - dt.timedelta(days=3))
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-stale")
    assert "thisUpdate" in check.found


def test_answer_past_its_next_update_is_stale(repository, pki):
    check = judge(answer(repository, pki, "good"), pki, at=NOW + dt.timedelta(days=2))
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-stale")


def test_answer_about_another_serial_is_not_used(repository, pki):
    evidence = answer(repository, pki, "revoked", cert=pki.ec_leaf.cert)
    check = judge(evidence, pki)
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-invalid")
    assert "not about serial" in check.found


def test_answer_from_another_issuer_is_not_used(repository, pki):
    # An answer for the same serial under the untrusted root: another CertID issuer.
    evidence = answer(repository, pki, "good", cert=pki.leaf.cert, issuer=pki.untrusted_root.cert)
    check = judge(evidence, pki)
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-invalid")


def test_unauthorized_and_garbage_answers_are_unknown(repository, pki):
    unauthorized = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    check = judge(RevocationEvidence("u", response=unauthorized.public_bytes(serialization.Encoding.DER)), pki)
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-invalid")
    assert "'unauthorized'" in check.found
    check = judge(RevocationEvidence("u", response=b"<html>proxy error</html>"), pki)
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "ocsp-response-invalid")


def test_no_answer_is_unknown_with_the_fetch_reason(pki):
    evidence = RevocationEvidence("http://127.0.0.1:1/ocsp", reason_code="timed-out", reason="no answer within 5 s")
    check = judge(evidence, pki)
    assert (check.status, check.reason_code) == (Status.UNKNOWN, "timed-out")
    assert "no answer within 5 s" in check.reason


def _delegated_responder(pki, with_eku):
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=Test OCSP Responder"))
               .issuer_name(pki.intermediate.cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30)))
    if with_eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]), False)
    return builder.sign(pki.intermediate.key, hashes.SHA256()), key


@pytest.mark.parametrize("with_eku, status", [(True, Status.PASSED), (False, Status.UNKNOWN)])
def test_delegated_responder_needs_ocsp_signing(pki, with_eku, status):
    responder, key = _delegated_responder(pki, with_eku)
    response = ocsp.OCSPResponseBuilder().add_response(
        cert=pki.leaf.cert, issuer=pki.intermediate.cert, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - dt.timedelta(minutes=1),
        next_update=NOW + dt.timedelta(hours=1), revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.NAME, responder).certificates([responder]).sign(key, hashes.SHA256())
    check = judge(RevocationEvidence("u", response=response.public_bytes(serialization.Encoding.DER)), pki)
    assert check.status is status, check


def _document(pki):
    return imds.AttestedDocumentSigner(pki).response("valid", nonce="1", now=NOW)


def test_without_revocation_evidence_the_check_is_skipped_and_says_why(pki):
    result = verify_attested_document(_document(pki), trust_roots=[pki.root.cert],
                                      intermediates=[pki.intermediate.cert], at=NOW)
    check = result.check("notRevoked")
    assert (result.status, check.status, check.reason_code) == (Status.PASSED, Status.SKIPPED,
                                                                "revocation-not-checked")
    assert "not checked" in check.reason


def test_revoked_signer_fails_the_document(repository, pki):
    result = verify_attested_document(_document(pki), trust_roots=[pki.root.cert],
                                      intermediates=[pki.intermediate.cert], at=NOW,
                                      revocation=answer(repository, pki, "revoked"))
    assert (result.status, result.reason_code) == (Status.FAILED, "certificate-revoked")


def test_revocation_needs_a_trusted_chain(repository, pki):
    result = verify_attested_document(_document(pki), trust_roots=[pki.root.cert], at=NOW,
                                      revocation=answer(repository, pki, "good"))
    check = result.check("notRevoked")
    assert (check.status, check.reason_code) == (Status.SKIPPED, "not-evaluated")
    assert result.status is Status.UNKNOWN
