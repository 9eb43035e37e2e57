# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The attestation verifier against documents built in-process with ``emulator.imds``."""

import base64
import datetime as dt
import hashlib
import json

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from azext_stack_hci_verify.attestation import (CHECK_ORDER, REASON_CODES, AttestedResponse, Status,
                                                verify_attested_document)
from azext_stack_hci_verify.attestation import chain as chain_module
from emulator import imds

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
NONCE = "0123456789"


@pytest.fixture(scope="module")
def pki():
    return imds.TestPki.create(now=NOW)


@pytest.fixture(scope="module")
def signer(pki):
    return imds.AttestedDocumentSigner(pki)


def verify(pki, body, *, at=NOW, intermediates=None, roots=None, **kwargs):
    kwargs.setdefault("expected_nonce", NONCE)
    return verify_attested_document(
        body,
        trust_roots=[pki.root.cert] if roots is None else roots,
        intermediates=[pki.intermediate.cert] if intermediates is None else intermediates,
        at=at,
        **kwargs,
    )


def statuses(result):
    return {c.check: (c.status.value, c.reason_code) for c in result.checks}


def content(signer, **overrides):
    return signer.content(nonce=NONCE, now=NOW, **overrides)


def wrap(der):
    return imds.attested_response(der)


# -- every emulator mode ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, status, reason_code, failing_check", [
    ("valid", "Passed", "verified", None),
    ("tampered", "Failed", "signature-invalid", "signatureValid"),
    ("wrong-nonce", "Failed", "nonce-mismatch", "nonceEchoed"),
    ("expired", "Failed", "document-expired", "notExpired"),
    ("signer-not-allowed", "Failed", "signer-not-allowed", "signerNameAllowed"),
    ("untrusted-chain", "Unknown", "chain-untrusted", "chainTrusted"),
    ("bag-confusion", "Failed", "bag-confusion", "singleSigner"),
])
def test_each_emulator_mode(pki, signer, mode, status, reason_code, failing_check):
    result = verify(pki, signer.response(mode, nonce=NONCE, now=NOW))
    assert result.status.value == status, result.to_dict()
    assert result.reason_code == reason_code
    if failing_check:
        assert result.check(failing_check).reason_code == reason_code
    else:
        assert all(c.status in (Status.PASSED, Status.SKIPPED) for c in result.checks)


def test_valid_result_shape(pki, signer):
    result = verify(pki, signer.response("valid", nonce=NONCE, now=NOW))
    data = result.to_dict()
    assert list(data) == ["status", "reasonCode", "reason", "document", "signer", "checks"]
    assert [c["check"] for c in data["checks"]] == list(CHECK_ORDER)
    assert all(list(c) == ["check", "status", "reasonCode", "expected", "found", "reason"] for c in data["checks"])
    assert data["status"] == "Passed" and data["reasonCode"] == "verified"
    assert data["document"] == {
        "vmId": imds.DEFAULT_VM_ID,
        "subscriptionId": imds.DEFAULT_SUBSCRIPTION_ID,
        "sku": "",
        "nonce": NONCE,
        "createdOn": "2026-03-10T11:59:00Z",
        "expiresOn": "2026-03-10T17:59:00Z",
        "licenseType": "",
        "plan": {"name": "", "product": "", "publisher": ""},
    }
    signer_dict = data["signer"]
    assert signer_dict["san"] == ["metadata.azure.com", "eastus.metadata.azure.com"]
    assert signer_dict["subject"].startswith("CN=metadata.azure.com")
    assert signer_dict["issuer"].startswith("CN=Stack HCI Verify Test Issuing CA")
    assert signer_dict["serialNumber"] == format(pki.leaf.cert.serial_number, "x")
    assert signer_dict["daysLeft"] == 29  # 30-day leaf issued an hour before NOW
    assert json.loads(json.dumps(data)) == data  # plain JSON types only


def test_no_expected_nonce_skips_the_nonce_check(pki, signer):
    result = verify(pki, signer.response("valid", now=NOW), expected_nonce=None)
    assert result.status is Status.PASSED
    nonce = result.check("nonceEchoed")
    assert nonce.status is Status.SKIPPED and nonce.reason_code == "no-expected-nonce"
    assert nonce.found == NOW.strftime("%Y%m%d-%H%M%S")  # the timestamp IMDS puts instead


def test_nonce_mismatch_says_expected_and_found(pki, signer):
    result = verify(pki, signer.response("valid", nonce="1111111111", now=NOW))
    check = result.check("nonceEchoed")
    assert (check.expected, check.found) == (NONCE, "1111111111")


@pytest.mark.parametrize("drop", ["absent", "null", "empty"])
def test_document_without_its_nonce_fails_when_one_was_sent(pki, drop):
    # A signed, current document that carries no nonce could be replayed: never Passed.
    document = json.loads(imds.document_content(nonce=NONCE, created_on=NOW - dt.timedelta(minutes=1),
                                                expires_on=NOW + dt.timedelta(hours=6)))
    if drop == "absent":
        del document["nonce"]
    else:
        document["nonce"] = None if drop == "null" else ""
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    result = verify(pki, wrap(imds.build_signed_data(body, signer=pki.leaf)))
    check = result.check("nonceEchoed")
    assert (check.status, check.reason_code) == (Status.FAILED, "nonce-mismatch")
    assert (result.status, result.reason_code) == (Status.FAILED, "nonce-mismatch")
    assert check.expected == NONCE and "carries no nonce" in check.reason
    # everything else about the document is fine: the nonce alone decides
    assert all(c.status is Status.PASSED for c in result.checks if c.check not in ("nonceEchoed", "notRevoked"))


def test_reason_codes_are_kebab_case():
    assert all(code == code.lower() and " " not in code and "_" not in code for code in REASON_CODES)


# -- signer resolution and the certificate bag ------------------------------------------------

def test_signer_comes_from_the_sid_not_the_first_certificate(pki, signer):
    # A CA certificate first in the bag, the signer second: resolved by SID, still Passed.
    der = imds.build_signed_data(content(signer), signer=pki.leaf, bag=[pki.intermediate.cert, pki.leaf.cert])
    result = verify(pki, wrap(der), intermediates=[])
    assert result.status is Status.PASSED, result.to_dict()
    assert result.signer.subject.startswith("CN=metadata.azure.com")


def test_subject_key_identifier_sid(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, sid="ski")
    assert verify(pki, wrap(der)).status is Status.PASSED


def test_sid_naming_the_trusted_cert_with_attacker_signature(pki, signer):
    # The SID names the real leaf, but the attacker signed: the signature cannot verify.
    der = imds.build_signed_data(content(signer), signer=pki.attacker, sid_cert=pki.leaf.cert,
                                 bag=[pki.leaf.cert, pki.attacker.cert])
    result = verify(pki, wrap(der))
    assert result.status is Status.FAILED
    assert result.check("signatureValid").reason_code == "signature-invalid"


def test_sid_naming_a_certificate_not_in_the_bag(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, sid_cert=pki.disallowed_leaf.cert)
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.FAILED, "signer-not-in-bag")
    assert result.signer is None
    assert result.check("signatureValid").status is Status.SKIPPED


def test_empty_bag(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, bag=[])
    assert verify(pki, wrap(der)).reason_code == "signer-not-in-bag"


def test_multiple_signers(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, extra_signers=1)
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.FAILED, "multiple-signers")
    assert result.check("singleSigner").found == "2 SignerInfos"
    # the content is still reported and checked
    assert result.check("nonceEchoed").status is Status.PASSED


def test_bag_confusion_reports_the_real_signer(pki, signer):
    result = verify(pki, signer.response("bag-confusion", nonce=NONCE, now=NOW))
    assert result.check("signatureValid").status is Status.PASSED  # the attacker's own signature
    assert "metadata.azure.com" in result.check("singleSigner").found
    assert result.signer.issuer == result.signer.subject  # the self-signed attacker, not the leaf


# -- signature --------------------------------------------------------------------------------

@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize("digest_field", ["signature-oid", "digest-oid"])
def test_digest_algorithm_field_forms(pki, signer, hash_name, digest_field):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, hash_name=hash_name, digest_field=digest_field)
    assert verify(pki, wrap(der)).status is Status.PASSED


def test_ecdsa_signer(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.ec_leaf)
    result = verify(pki, wrap(der))
    assert result.status is Status.PASSED, result.to_dict()
    assert "ECDSA" in result.check("signatureValid").found


def test_ecdsa_signer_with_signed_attributes(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.ec_leaf, signed_attributes=True, hash_name="sha384")
    assert verify(pki, wrap(der)).status is Status.PASSED


def test_signed_attributes_good(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, signed_attributes=True)
    result = verify(pki, wrap(der))
    assert result.status is Status.PASSED, result.to_dict()
    assert "signed attributes" in result.check("signatureValid").found


def test_signed_attributes_verified_over_original_bytes(pki, signer):
    # The attributes are sent in non-DER order; a verifier that re-encodes (and so sorts) the
    # SET OF would compute different bytes and reject a good signature.
    der = imds.build_signed_data(content(signer), signer=pki.leaf, signed_attributes=True, unsorted_attributes=True)
    attrs = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    assert attrs.dump() != attrs.dump(force=True)
    assert verify(pki, wrap(der)).status is Status.PASSED


def test_signed_attributes_bad_message_digest(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, signed_attributes=True,
                                 message_digest=hashlib.sha256(b"something else").digest())
    result = verify(pki, wrap(der))
    check = result.check("signatureValid")
    assert (result.status, check.reason_code) == (Status.FAILED, "digest-mismatch")
    assert check.expected == "sha256 " + hashlib.sha256(content(signer)).hexdigest()
    assert check.found == hashlib.sha256(b"something else").hexdigest()


def test_signed_attributes_bad_content_type(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, signed_attributes=True,
                                 content_type_attr="signed_data")
    result = verify(pki, wrap(der))
    check = result.check("signatureValid")
    assert (result.status, check.reason_code) == (Status.FAILED, "content-type-mismatch")
    assert (check.expected, check.found) == ("1.2.840.113549.1.7.1", "1.2.840.113549.1.7.2")


def test_signed_attributes_with_tampered_content(pki, signer):
    original = content(signer)
    der = imds.build_signed_data(original, signer=pki.leaf, signed_attributes=True,
                                 content_after_signing=original.replace(b"nonce", b"NONCE"))
    assert verify(pki, wrap(der)).reason_code == "digest-mismatch"


def _edit_signer_info(der, **fields):
    info = asn1_cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    for key, value in fields.items():
        signer_info[key] = value
    return info.dump(force=True)


def test_weak_digest_algorithm(pki, signer):
    der = _edit_signer_info(imds.build_signed_data(content(signer), signer=pki.leaf),
                            digest_algorithm={"algorithm": "1.3.14.3.2.26"})
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.FAILED, "weak-algorithm")


def test_weak_hash_named_by_the_signature_algorithm_is_failed(pki, signer):
    # sha1WithRSAEncryption in the signature-algorithm field was "unsupported" (Unknown).
    der = _edit_signer_info(imds.build_signed_data(content(signer), signer=pki.leaf),
                            signature_algorithm={"algorithm": "1.2.840.113549.1.1.5"})
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.FAILED, "weak-algorithm")


def test_unsupported_signature_algorithm_is_unknown(pki, signer):
    der = _edit_signer_info(imds.build_signed_data(content(signer), signer=pki.leaf),
                            signature_algorithm={"algorithm": "1.2.840.113549.1.1.10"})  # RSASSA-PSS
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "unsupported-algorithm")


def test_digest_and_signature_algorithms_disagree(pki, signer):
    der = _edit_signer_info(imds.build_signed_data(content(signer), signer=pki.leaf),
                            signature_algorithm={"algorithm": "1.2.840.113549.1.1.12"})  # sha384WithRSA
    assert verify(pki, wrap(der)).reason_code == "algorithm-mismatch"


def test_ecdsa_algorithm_with_rsa_key(pki, signer):
    der = _edit_signer_info(imds.build_signed_data(content(signer), signer=pki.leaf),
                            signature_algorithm={"algorithm": "1.2.840.10045.4.3.2"})
    assert verify(pki, wrap(der)).reason_code == "algorithm-mismatch"


# -- the document and its parsing -------------------------------------------------------------

def test_garbage_is_malformed_document(pki):
    result = verify(pki, {"encoding": "pkcs7", "signature": base64.b64encode(b"\x30\x03abc").decode()})
    assert (result.status, result.reason_code) == (Status.FAILED, "malformed-document")
    assert [c.status for c in result.checks[1:]].count(Status.SKIPPED) == len(CHECK_ORDER) - 1
    assert result.document is None and result.signer is None


def test_not_json_envelope(pki):
    result = verify(pki, b"<html>proxy error</html>")
    assert (result.status, result.reason_code) == (Status.FAILED, "malformed-response")


def test_wrong_encoding(pki):
    assert verify(pki, {"encoding": "jws", "signature": "AAAA"}).reason_code == "unsupported-encoding"


def test_not_signed_data(pki):
    der = asn1_cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()
    assert verify(pki, AttestedResponse("pkcs7", der)).reason_code == "not-signed-data"


def test_detached_content(pki, signer):
    info = asn1_cms.ContentInfo.load(imds.build_signed_data(content(signer), signer=pki.leaf))
    info["content"]["encap_content_info"] = {"content_type": "data"}
    result = verify(pki, AttestedResponse("pkcs7", info.dump(force=True)))
    assert result.reason_code == "detached-content"


def test_content_not_json_still_checks_the_signature(pki):
    der = imds.build_signed_data(b"not json", signer=pki.leaf)
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.FAILED, "malformed-content")
    assert result.check("signatureValid").status is Status.PASSED
    assert result.check("notExpired").status is Status.SKIPPED
    assert result.document is None


@pytest.mark.parametrize("created, expires, at, code", [
    (NOW - dt.timedelta(hours=7), NOW - dt.timedelta(hours=1), NOW, "document-expired"),
    (NOW + dt.timedelta(hours=1), NOW + dt.timedelta(hours=7), NOW, "document-not-yet-valid"),
    (NOW, NOW - dt.timedelta(hours=1), NOW, "timestamp-invalid"),
])
def test_document_times(pki, signer, created, expires, at, code):
    der = imds.build_signed_data(content(signer, created_on=created, expires_on=expires), signer=pki.leaf)
    result = verify(pki, wrap(der), at=at)
    assert (result.status, result.reason_code) == (Status.FAILED, code)


def test_clock_skew_tolerance(pki, signer):
    der = imds.build_signed_data(
        content(signer, created_on=NOW + dt.timedelta(minutes=3), expires_on=NOW + dt.timedelta(hours=6)),
        signer=pki.leaf)
    assert verify(pki, wrap(der)).status is Status.PASSED
    assert verify(pki, wrap(der), clock_skew=dt.timedelta(0)).reason_code == "document-not-yet-valid"


def test_expiry_edge_with_skew(pki, signer):
    der = imds.build_signed_data(content(signer, created_on=NOW - dt.timedelta(hours=6),
                                         expires_on=NOW - dt.timedelta(minutes=4)), signer=pki.leaf)
    assert verify(pki, wrap(der)).status is Status.PASSED
    assert verify(pki, wrap(der), at=NOW + dt.timedelta(minutes=2)).reason_code == "document-expired"


def test_missing_timestamp(pki):
    body = json.dumps({"nonce": NONCE, "vmId": "x"}).encode()
    result = verify(pki, wrap(imds.build_signed_data(body, signer=pki.leaf)))
    assert result.reason_code == "timestamp-invalid"
    assert result.document.created_on is None and result.document.vm_id == "x"


def test_iso_timestamps_are_accepted(pki):
    stamp = {"createdOn": "2026-03-10T11:00:00Z", "expiresOn": "2026-03-10T17:00:00Z"}
    body = json.dumps({"nonce": NONCE, "timeStamp": stamp}).encode()
    assert verify(pki, wrap(imds.build_signed_data(body, signer=pki.leaf))).status is Status.PASSED


def test_reference_time_must_be_aware(pki, signer):
    with pytest.raises(ValueError):
        verify(pki, signer.response("valid", nonce=NONCE, now=NOW), at=NOW.replace(tzinfo=None))


def test_trust_roots_must_be_certificates(pki, signer):
    with pytest.raises(TypeError):
        verify(pki, signer.response("valid", nonce=NONCE, now=NOW), roots=[pki.root.cert_pem])


# -- chain ------------------------------------------------------------------------------------

def test_missing_intermediate_is_unknown_not_failed(pki, signer):
    result = verify(pki, signer.response("valid", nonce=NONCE, now=NOW), intermediates=[])
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "chain-untrusted")
    assert "Stack HCI Verify Test Issuing CA" in result.check("chainTrusted").found
    # everything else about the document is fine
    assert all(c.status is Status.PASSED for c in result.checks if c.check not in ("chainTrusted", "notRevoked"))
    assert result.check("notRevoked").status is Status.SKIPPED


def test_intermediate_in_the_bag_is_used(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.leaf, bag=[pki.leaf.cert, pki.intermediate.cert])
    assert verify(pki, wrap(der), intermediates=[]).status is Status.PASSED


def test_no_trust_roots_is_unknown(pki, signer):
    result = verify(pki, signer.response("valid", nonce=NONCE, now=NOW), roots=[])
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "no-trust-roots")


def test_untrusted_root_in_bag_is_unknown(pki, signer):
    der = imds.build_signed_data(content(signer), signer=pki.untrusted_leaf,
                                 bag=[pki.untrusted_leaf.cert, pki.untrusted_root.cert])
    result = verify(pki, wrap(der))
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "chain-untrusted")
    assert "self-signed" in result.check("chainTrusted").found


def test_signer_certificate_expired(pki, signer):
    later = NOW + dt.timedelta(days=31)
    der = imds.build_signed_data(content(signer, created_on=later, expires_on=later + dt.timedelta(hours=6)),
                                 signer=pki.leaf)
    result = verify(pki, wrap(der), at=later)
    assert (result.status, result.reason_code) == (Status.FAILED, "signer-certificate-expired")
    assert result.check("signerCertificateValid").reason_code == "signer-certificate-expired"
    assert result.signer.days_left < 0


def test_signer_certificate_not_yet_valid(pki, signer):
    earlier = NOW - dt.timedelta(hours=2)
    der = imds.build_signed_data(content(signer, created_on=earlier, expires_on=earlier + dt.timedelta(hours=6)),
                                 signer=pki.leaf)
    result = verify(pki, wrap(der), at=earlier)
    assert result.check("signerCertificateValid").reason_code == "signer-certificate-not-yet-valid"
    assert result.check("chainTrusted").reason_code == "signer-certificate-not-yet-valid"


def test_expired_intermediate(pki, signer):
    short_ca = imds._make_ca("Short-lived Issuing CA", now=NOW - dt.timedelta(days=2), issuer=pki.root, days=1)
    leaf = imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=short_ca)
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=leaf)), intermediates=[short_ca.cert])
    check = result.check("chainTrusted")
    assert (result.status, check.reason_code) == (Status.FAILED, "certificate-expired")
    assert "Short-lived Issuing CA" in check.found
    assert result.check("signerCertificateValid").status is Status.PASSED


def test_forged_issuer_name_is_failed(pki, signer):
    # Names the trusted issuing CA as issuer but is signed by another key.
    impostor = imds.Credential(pki.intermediate.cert, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    leaf = imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=impostor)
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=leaf)))
    assert (result.status, result.reason_code) == (Status.FAILED, "chain-invalid")
    assert "does not verify" in result.check("chainTrusted").found


def test_end_entity_as_issuer_is_failed(pki, signer):
    leaf = imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=pki.disallowed_leaf)
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=leaf)),
                    intermediates=[pki.intermediate.cert, pki.disallowed_leaf.cert])
    assert (result.status, result.check("chainTrusted").reason_code) == (Status.FAILED, "chain-invalid")


def _name_constrained_ca(root, permitted):
    """An issuing CA under ``root`` whose NameConstraints permit only the DNS subtree ``permitted``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Constrained Issuing CA")]))
            .issuer_name(root.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName(permitted)], excluded_subtrees=None),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False)
            .sign(root.key, hashes.SHA256()))
    return imds.Credential(cert, key)


@pytest.fixture(name="path_rule_chains", scope="module")
def path_rule_chains_fixture():
    """label -> (root, intermediates, leaf, the rule named in the refusal): chains whose names, signatures,
    CA flags and validity are all in order (the manual walk finds a path) but that the X.509 path rules reject."""
    root_pl0 = imds._make_ca("Path Length 0 Root CA", now=NOW, path_length=0)
    under_pl0 = imds._make_ca("Issuing CA under a path length 0 root", now=NOW, issuer=root_pl0)
    root = imds._make_ca("Path Rules Root CA", now=NOW)
    first_pl0 = imds._make_ca("Path Length 0 Intermediate CA", now=NOW, issuer=root, path_length=0)
    second = imds._make_ca("Second Intermediate CA", now=NOW, issuer=first_pl0)
    constrained = _name_constrained_ca(root, "contoso.example")
    return {
        "root-path-length-0": (root_pl0, [under_pl0], imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=under_pl0),
                               "path length"),
        "intermediate-path-length-0": (root, [first_pl0, second],
                                       imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=second), "path length"),
        "name-constraints": (root, [constrained], imds._make_leaf(imds.LEAF_NAMES, now=NOW, issuer=constrained),
                             "name constraint"),
    }


@pytest.mark.parametrize("label", ["root-path-length-0", "intermediate-path-length-0", "name-constraints"])
def test_chain_that_only_the_x509_path_rules_reject_is_failed(pki, signer, path_rule_chains, label):
    # The manual walk accepts these paths (it checks no path length and no name constraints): only the
    # X.509 verifier refuses them, and that refusal must stand. Failed/chain-invalid: the data is bad.
    root, intermediates, leaf, rule = path_rule_chains[label]
    assert chain_module.walk_chain(leaf.cert, [c.cert for c in intermediates], [root.cert], NOW).kind == "trusted"
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=leaf)), roots=[root.cert],
                    intermediates=[c.cert for c in intermediates])
    check = result.check("chainTrusted")
    assert (check.status, check.reason_code) == (Status.FAILED, "chain-invalid"), check
    assert (result.status, result.reason_code) == (Status.FAILED, "chain-invalid")
    assert "refused by the X.509 policy" in check.found and rule in check.reason
    assert result.path is None
    assert result.check("notRevoked").status is Status.SKIPPED
    # the rest of the document is fine: the chain alone decides
    assert all(c.status is Status.PASSED for c in result.checks if c.check not in ("chainTrusted", "notRevoked"))


def _bare_leaf(pki, names=("metadata.azure.com",)):
    """A leaf without EKU, key usage, AKI or basic constraints: not web PKI, still a valid chain."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, names[0])]))
            .issuer_name(pki.intermediate.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(hours=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(pki.intermediate.key, hashes.SHA256()))
    return imds.Credential(cert, key)


def test_leaf_outside_web_pki_profile_passes_with_permissive_policy(pki, signer):
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=_bare_leaf(pki))))
    assert result.status is Status.PASSED, result.to_dict()
    found = result.check("chainTrusted").found
    assert ("permissive end-entity policy" in found) == (chain_module.ExtensionPolicy is not None)


def test_manual_walk_when_x509_verification_is_unavailable(pki, signer, monkeypatch):
    monkeypatch.setattr(chain_module, "PolicyBuilder", None)
    good = verify(pki, signer.response("valid", nonce=NONCE, now=NOW))
    assert good.status is Status.PASSED
    assert "manual walk" in good.check("chainTrusted").found
    missing = verify(pki, signer.response("valid", nonce=NONCE, now=NOW), intermediates=[])
    assert missing.reason_code == "chain-untrusted"
    assert verify(pki, signer.response("untrusted-chain", nonce=NONCE, now=NOW)).status is Status.UNKNOWN


def test_leaf_trusted_directly(pki, signer):
    # Pinning the signer certificate itself as a trust root is accepted (a path of one).
    result = verify(pki, signer.response("valid", nonce=NONCE, now=NOW), roots=[pki.leaf.cert], intermediates=[])
    assert result.status is Status.PASSED


# -- signer names -----------------------------------------------------------------------------

@pytest.mark.parametrize("allowed, status", [
    (["metadata.azure.com"], Status.PASSED),
    (["eastus.metadata.azure.com"], Status.PASSED),
    (["METADATA.AZURE.COM."], Status.PASSED),
    (["azure.com"], Status.PASSED),  # a subdomain of an allowed name
    (["westus.metadata.azure.com"], Status.FAILED),
    (["zure.com"], Status.FAILED),  # suffix, not a subdomain
    ([], Status.FAILED),
])
def test_allowed_signer_names(pki, signer, allowed, status):
    result = verify(pki, signer.response("valid", nonce=NONCE, now=NOW), allowed_signers=allowed)
    assert result.check("signerNameAllowed").status is status


def test_custom_allowed_signer_with_matching_chain(pki, signer):
    # An Azure Local host that signs with another name: allow it and it verifies.
    result = verify(pki, signer.response("signer-not-allowed", nonce=NONCE, now=NOW),
                    allowed_signers=[imds.DISALLOWED_NAME])
    assert result.status is Status.PASSED, result.to_dict()


def test_wildcard_san_is_not_matched(pki, signer):
    wildcard = _bare_leaf(pki, ("*.metadata.azure.com",))
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=wildcard)))
    assert result.reason_code == "signer-not-allowed"


@pytest.mark.parametrize("san", [b" metadata.azure.com", b"evil\x00.metadata.azure.com", b".metadata.azure.com"])
def test_malformed_san_name_is_not_allowed(pki, signer, san):
    # Whitespace was stripped, and a NUL byte or an empty label still made a "subdomain".
    names = b"\x82" + bytes([len(san)]) + san  # GeneralNames: one [2] dNSName, raw bytes
    raw = x509.UnrecognizedExtension(x509.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30" + bytes([len(names)]) + names)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "metadata.azure.com")]))
            .issuer_name(pki.intermediate.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(hours=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(raw, critical=False)
            .sign(pki.intermediate.key, hashes.SHA256()))
    result = verify(pki, wrap(imds.build_signed_data(content(signer), signer=imds.Credential(cert, key))))
    assert (result.status, result.reason_code) == (Status.FAILED, "signer-not-allowed"), result.to_dict()


def _with_duplicate_extension(cert, issuer_key):
    """``cert`` with its first extension repeated, re-signed (cryptography refuses to build one)."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    extensions = list(tbs["extensions"])
    tbs["extensions"] = asn1_x509.Extensions(extensions + [extensions[0]])
    tbs_der = tbs.dump(force=True)
    signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
    der = asn1_x509.Certificate({"tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
                                 "signature_algorithm": parsed["signature_algorithm"],
                                 "signature_value": signature}).dump()
    return x509.load_der_x509_certificate(der)


@pytest.mark.parametrize("where", ["signer", "bag"])
def test_duplicate_extension_is_failed_not_raised(pki, signer, where):
    # cryptography raises x509.DuplicateExtension (not a ValueError) once the extensions are read.
    if where == "signer":
        dup = imds.Credential(_with_duplicate_extension(pki.leaf.cert, pki.intermediate.key), pki.leaf.key)
        der = imds.build_signed_data(content(signer), signer=dup)
    else:
        dup_ca = _with_duplicate_extension(pki.intermediate.cert, pki.root.key)
        der = imds.build_signed_data(content(signer), signer=pki.leaf, bag=[pki.leaf.cert, dup_ca])
    result = verify(pki, wrap(der))
    assert result.status is Status.FAILED, result.to_dict()
