"""The emulator's PKI: AIA repository and OCSP responder on the IMDS server, loopback only."""

import json
import os
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from emulator import azenv, imds, pki

SAMPLE_URL_PATH = "/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server, info = imds.create_imds_server(tmp_path_factory.mktemp("pki"))
    imds.serve_in_thread(server)
    info["server"] = server
    yield info
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _normal(server):
    server["server"].repository.state.set("normal", "good", 5.0)
    yield


def fetch(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_certificates_point_at_the_server(server):
    test_pki = server["server"].signer.pki
    urls = pki.aia_urls(server["pkiUrl"])
    aia = test_pki.leaf.cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_location.value for d in aia} == {urls["issuing"], urls["ocsp"]}
    assert urls["issuing"].startswith("http://127.0.0.1:")
    status, headers, body = fetch(urls["issuing"])
    assert status == 200 and headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(body) == test_pki.intermediate.cert
    status, _, body = fetch(urls["issuing"][:-len(".crt")] + ".pem")
    assert status == 200 and x509.load_pem_x509_certificate(body) == test_pki.intermediate.cert


def test_sample_issuer_at_its_real_path(server):
    status, _, body = fetch(server["pkiUrl"] + SAMPLE_URL_PATH)
    cert = x509.load_der_x509_certificate(body)
    assert status == 200 and "Microsoft Azure RSA TLS Issuing CA 07" in cert.subject.rfc4514_string()


def test_modes_are_checked(server):
    url = server["pkiUrl"] + pki.MODE_PATH
    status, _, body = fetch(url, json.dumps({"aia": "sideways"}).encode(), {"Content-Type": "application/json"})
    assert status == 400 and b"unknown aia mode" in body
    status, _, body = fetch(url, json.dumps({"ocsp": "revoked"}).encode(), {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["ocsp"] == "revoked"


def test_redirect_modes(server):
    repository = server["server"].repository
    repository.state.set("redirect", None, None)
    answer = repository.aia("/certs/test-root-ca.crt", server["pkiUrl"])
    assert answer.status == 302 and answer.headers["Location"].startswith("http://localhost:")
    repository.state.set("redirect-same-host", None, None)
    answer = repository.aia("/certs/test-root-ca.crt", server["pkiUrl"])
    assert answer.headers["Location"] == server["pkiUrl"] + "/redirected/certs/test-root-ca.crt"
    assert repository.aia("/redirected/certs/test-root-ca.crt", server["pkiUrl"]).status == 200


def test_ocsp_answers_only_for_its_issuers(server):
    test_pki = server["server"].signer.pki
    other = imds.TestPki.create()
    for cert, issuer, expected in ((test_pki.leaf.cert, test_pki.intermediate.cert, "SUCCESSFUL"),
                                   (other.leaf.cert, other.intermediate.cert, "UNAUTHORIZED")):
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
        from cryptography.hazmat.primitives.serialization import Encoding
        status, headers, body = fetch(server["pkiUrl"] + pki.OCSP_PATH, request.public_bytes(Encoding.DER),
                                      {"Content-Type": "application/ocsp-request"})
        assert status == 200 and headers["Content-Type"] == "application/ocsp-response"
        assert ocsp.load_der_ocsp_response(body).response_status.name == expected


def test_az_settings_for_attestation(server):
    settings = azenv.attestation_settings({"imdsUrl": server["imdsUrl"], "imdsTrustBundle": server["trustBundle"]})
    assert settings["STACK_HCI_VERIFY_PKI_MIRROR"] == server["imdsUrl"]
    assert settings["STACK_HCI_VERIFY_PKI_HOSTS"] == "default,127.0.0.1"
    bundles = settings["STACK_HCI_VERIFY_TRUST_BUNDLE"].split(os.pathsep)
    assert bundles[-1] == server["trustBundle"] and all(os.path.isfile(b) for b in bundles)
    assert "STACK_HCI_VERIFY_INTERMEDIATES" not in settings
