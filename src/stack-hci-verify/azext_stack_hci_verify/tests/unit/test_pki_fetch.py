# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The PKI fetch rules (adapters/pki.py) against the emulator's AIA repository, loopback only.

The test PKI's certificates name their issuers at the emulator (http://127.0.0.1:PORT/...), so
127.0.0.1 is put on the allow-list here; every rule is also tried with addresses that are not.
"""

import datetime as dt
import json
import os
import urllib.request

import pytest

from azext_stack_hci_verify.adapters import pki
from azext_stack_hci_verify.attest_flow import Trust, Verification, verify_with_pki
from azext_stack_hci_verify.attestation import Status, load_pem_bundle
from emulator import imds
from emulator import pki as emulator_pki

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLES = os.path.join(REPO_ROOT, "emulator", "fixtures", "azure-imds-sample")
SAMPLE_TIME = dt.datetime(2025, 11, 19, 13, 46, 40, tzinfo=UTC)
SAMPLE_AIA = "http://www.microsoft.com/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server, info = imds.create_imds_server(tmp_path_factory.mktemp("pki"))
    imds.serve_in_thread(server)
    info["server"] = server
    info["urls"] = emulator_pki.aia_urls(info["pkiUrl"])
    yield info
    server.shutdown()
    server.server_close()


def _control(info, body):
    request = urllib.request.Request(info["pkiUrl"] + emulator_pki.MODE_PATH, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as response:
        return json.loads(response.read())


def _requests(info):
    with info["server"].state.lock:
        return [entry["target"] for entry in info["server"].state.requests]


@pytest.fixture(autouse=True)
def _reset(request):
    if "server" in request.fixturenames:
        info = request.getfixturevalue("server")
        _control(info, {"aia": "normal", "ocsp": "good", "slowSeconds": 5.0})
        with info["server"].state.lock:
            info["server"].state.requests.clear()
    yield


def settings(tmp_path=None, **overrides):
    values = {"allowed_hosts": pki.DEFAULT_HOSTS + ("127.0.0.1",), "timeout": 3.0,
              "cache_dir": str(tmp_path / "cache") if tmp_path else None}
    values.update(overrides)
    return pki.PkiSettings(**values)


# -- URL rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, code", [
    ("http://evil.example/ca.crt", "host-not-allowed"),
    ("http://www.microsoft.com.evil.example/ca.crt", "host-not-allowed"),
    ("ftp://www.microsoft.com/ca.crt", "url-not-allowed"),
    ("ldap://www.microsoft.com/cn=ca", "url-not-allowed"),
    ("http://user:secret@www.microsoft.com/ca.crt", "url-not-allowed"),
    ("http://www.microsoft.com:0/ca.crt", "url-not-allowed"),
    ("http://www.microsoft.com/a b.crt", "url-not-allowed"),
])
def test_urls_the_rules_refuse_are_never_fetched(url, code):
    target, refusal = pki.fetch_target(url, settings())
    assert target is None and refusal[0] == code
    candidate = pki.fetch_issuer(url, settings(), now=NOW)
    assert (candidate.ok, candidate.reason_code, candidate.fetched_from) == (False, code, None)


def test_allowed_hosts_are_exact_and_case_insensitive():
    assert pki.fetch_target("HTTP://WWW.Microsoft.COM/pkiops/certs/x.crt", settings())[1] is None
    assert pki.fetch_target("https://cacerts.digicert.com/x.crt", settings())[1] is None
    assert pki.fetch_target("http://sub.cacerts.digicert.com/x.crt", settings())[1][0] == "host-not-allowed"


def test_the_mirror_keeps_the_path_and_query():
    mirrored = settings(mirror="http://127.0.0.1:8080/mirror/")
    assert pki.fetch_target(SAMPLE_AIA, mirrored)[0] == (
        "http://127.0.0.1:8080/mirror/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt")
    assert pki.fetch_target("http://ocsp.digicert.com", mirrored)[0] == "http://127.0.0.1:8080/mirror/"
    assert pki.fetch_target("http://ocsp.digicert.com/a?b=c", mirrored)[0] == "http://127.0.0.1:8080/mirror/a?b=c"
    # the allow-list applies to the address the certificate names, mirror or not
    assert pki.fetch_target("http://evil.example/x.crt", mirrored)[1][0] == "host-not-allowed"


def test_settings_from_the_environment():
    values = pki.settings_from_environment({
        pki.MIRROR_ENV: "http://127.0.0.1:9/", pki.HOSTS_ENV: "default, 127.0.0.1,,Example.COM.",
        pki.TIMEOUT_ENV: "1.5", pki.NO_FETCH_ENV: "TRUE"}, cache_dir="/c")
    assert values.allowed_hosts == pki.DEFAULT_HOSTS + ("127.0.0.1", "example.com")
    assert (values.mirror, values.timeout, values.fetch_issuers, values.cache_dir) == (
        "http://127.0.0.1:9/", 1.5, False, "/c")
    defaults = pki.settings_from_environment({})
    assert defaults.allowed_hosts == pki.DEFAULT_HOSTS and defaults.fetch_issuers and defaults.mirror is None
    assert pki.settings_from_environment({pki.HOSTS_ENV: "127.0.0.1"}).allowed_hosts == ("127.0.0.1",)
    assert not pki.settings_from_environment({}, no_fetch=True).fetch_issuers


@pytest.mark.parametrize("environ, name", [
    ({pki.MIRROR_ENV: "ftp://mirror"}, pki.MIRROR_ENV),
    ({pki.MIRROR_ENV: "http://u:p@mirror"}, pki.MIRROR_ENV),
    ({pki.MIRROR_ENV: "http://mirror/?x=1"}, pki.MIRROR_ENV),
    ({pki.TIMEOUT_ENV: "soon"}, pki.TIMEOUT_ENV),
    ({pki.TIMEOUT_ENV: "0"}, pki.TIMEOUT_ENV),
])
def test_unusable_settings_name_themselves(environ, name):
    with pytest.raises(ValueError, match=name):
        pki.settings_from_environment(environ)


# -- fetching ------------------------------------------------------------------------------------

def test_der_issuer_is_fetched(server):
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.ok and candidate.source == "fetched", candidate
    assert candidate.certificates[0] == server["server"].signer.pki.intermediate.cert
    assert _requests(server) == ["/certs/test-issuing-ca.crt"]


def test_pem_issuer_is_fetched(server):
    _control(server, {"aia": "pem"})
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.ok and candidate.certificates[0] == server["server"].signer.pki.intermediate.cert


def test_pkcs7_bundle_is_read():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7
    cert = imds.TestPki.create().intermediate.cert
    bundle = pkcs7.serialize_certificates([cert], serialization.Encoding.DER)
    assert pki.parse_issuer_certificates(bundle) == [cert]
    with pytest.raises(ValueError):
        pki.parse_issuer_certificates(b"<html>not a certificate</html>")


def test_redirect_to_another_host_is_refused(server):
    _control(server, {"aia": "redirect"})
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.reason_code == "redirect-refused" and "localhost" in candidate.reason
    assert _requests(server) == ["/certs/test-issuing-ca.crt"]  # nothing sent to the other host


def test_redirect_on_the_same_host_is_followed(server):
    _control(server, {"aia": "redirect-same-host"})
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.ok, candidate
    assert _requests(server) == ["/certs/test-issuing-ca.crt", "/redirected/certs/test-issuing-ca.crt"]


def test_oversize_answer_is_cut_at_the_cap(server):
    _control(server, {"aia": "oversize"})
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.reason_code == "response-too-large" and "65536-byte cap" in candidate.reason


class SteppingClock:
    """The fetch's injected clock: half a second passes at every reading, so a 1 s budget is spent
    after a few readings whatever the machine is doing (real time is the benchmark's concern)."""

    def __init__(self, step=0.5):
        self.step, self.last = step, None

    def __call__(self):
        self.last = 0.0 if self.last is None else self.last + self.step
        return self.last


def test_slow_answer_times_out_within_the_budget(server):
    _control(server, {"aia": "slow", "slowSeconds": 10})
    clock = SteppingClock()
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(timeout=1.0), now=NOW, clock=clock)
    assert candidate.reason_code == "timed-out" and "1 s" in candidate.reason
    assert 1.0 <= clock.last <= 1.0 + clock.step  # it gave up when its clock said the budget was spent


def test_error_page_is_one_line_with_the_status(server):
    _control(server, {"aia": "not-found"})
    candidate = pki.fetch_issuer(server["urls"]["issuing"], settings(), now=NOW)
    assert candidate.reason_code == "http-error"
    assert candidate.reason.startswith("HTTP 404 Not Found: 404 Not Found (from http://127.0.0.1:")


def test_dead_port_is_a_reason_not_an_exception():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    candidate = pki.fetch_issuer(f"http://127.0.0.1:{port}/ca.crt", settings(), now=NOW)
    assert candidate.reason_code == "connection-refused"


# -- the cache -----------------------------------------------------------------------------------

def test_cache_hit_needs_no_request(server, tmp_path):
    first = pki.fetch_issuer(server["urls"]["issuing"], settings(tmp_path), now=NOW)
    second = pki.fetch_issuer(server["urls"]["issuing"], settings(tmp_path), now=NOW)
    assert (first.source, second.source) == ("fetched", "cache")
    assert second.certificates == first.certificates
    assert len(_requests(server)) == 1
    assert "cached from" in second.origin()


def test_cache_is_read_even_when_fetching_is_off(server, tmp_path):
    assert pki.fetch_issuer(server["urls"]["issuing"], settings(tmp_path, fetch_issuers=False), now=NOW) is None
    assert _requests(server) == []
    pki.fetch_issuer(server["urls"]["issuing"], settings(tmp_path), now=NOW)
    cached = pki.fetch_issuer(server["urls"]["issuing"], settings(tmp_path, fetch_issuers=False), now=NOW)
    assert cached.source == "cache" and len(_requests(server)) == 1


def test_expired_cache_entry_is_fetched_again(server, tmp_path):
    url = server["urls"]["issuing"]
    pki.fetch_issuer(url, settings(tmp_path), now=NOW)
    later = server["server"].signer.pki.intermediate.cert.not_valid_after_utc + dt.timedelta(days=1)
    again = pki.fetch_issuer(url, settings(tmp_path), now=later)
    assert again.source == "fetched" and len(_requests(server)) == 2


def test_cache_entries_are_keyed_by_url(tmp_path):
    cache = pki.IssuerCache(str(tmp_path))
    cert = imds.TestPki.create().intermediate.cert
    cache.put("http://a.example/ca.crt", [cert])
    assert cache.get("http://a.example/ca.crt", NOW) == [cert]
    assert cache.get("http://b.example/ca.crt", NOW) is None
    (tmp_path / os.path.basename(cache.path("http://c.example/ca.crt"))).write_bytes(b"junk")
    assert cache.get("http://c.example/ca.crt", NOW) is None


# -- the flow: verify, fetch the missing issuer, verify again --------------------------------------

def _sample():
    with open(os.path.join(SAMPLES, "azure-attested-document-2025-11-19.json"), "rb") as handle:
        return handle.read()


def _digicert_g2():
    import certifi
    with open(certifi.where(), "rb") as handle:
        return [c for c in load_pem_bundle(handle.read())
                if c.subject.rfc4514_string().startswith("CN=DigiCert Global Root G2,")]


def test_sample_passes_with_its_issuer_fetched_through_the_mirror(server, tmp_path):
    trust = Trust(_digicert_g2(), "certifi", [], ("metadata.azure.com",))
    result, reports = verify_with_pki(Verification(_sample(), None, SAMPLE_TIME, NOW), trust,
                                      settings(tmp_path, mirror=server["pkiUrl"]))
    assert result.status is Status.PASSED, result.to_dict()
    found = result.check("chainTrusted").found
    assert f"(fetched from {SAMPLE_AIA} via {server['pkiUrl']}/pkiops/certs/" in found
    assert "Microsoft Azure RSA TLS Issuing CA 07" in found and "(trust bundle)" in found
    assert [r["url"] for r in reports] == [SAMPLE_AIA] and reports[0]["source"] == "fetched"


def test_sample_with_its_issuer_unreachable_is_unknown_never_failed(server, tmp_path):
    _control(server, {"aia": "not-found"})
    trust = Trust(_digicert_g2(), "certifi", [], ("metadata.azure.com",))
    result, reports = verify_with_pki(Verification(_sample(), None, SAMPLE_TIME, NOW), trust,
                                      settings(tmp_path, mirror=server["pkiUrl"]))
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "issuer-fetch-failed")
    assert "HTTP 404" in result.reason and reports[0]["reasonCode"] == "http-error"


def test_sample_without_fetching_names_the_address(tmp_path):
    trust = Trust(_digicert_g2(), "certifi", [], ("metadata.azure.com",))
    result, reports = verify_with_pki(Verification(_sample(), None, SAMPLE_TIME, NOW), trust,
                                      settings(tmp_path, fetch_issuers=False))
    assert (result.status, result.reason_code, reports) == (Status.UNKNOWN, "chain-untrusted", [])
    assert SAMPLE_AIA in result.reason


def test_a_fetched_certificate_is_only_a_candidate(server, tmp_path):
    # The repository answers the issuer's address with an unrelated CA: the chain stays untrusted.
    pki_objects = server["server"].signer.pki
    repository = server["server"].repository
    real = repository.certificates["test-issuing-ca"]
    repository.certificates["test-issuing-ca"] = pki_objects.untrusted_root.cert
    try:
        trust = Trust([pki_objects.root.cert], "test root", [], ("metadata.azure.com",))
        body = server["server"].signer.response("valid", nonce="1", now=pki_objects.created_at)
        result, _ = verify_with_pki(Verification(body, "1", pki_objects.created_at, NOW), trust, settings(tmp_path))
    finally:
        repository.certificates["test-issuing-ca"] = real
    assert (result.status, result.reason_code) == (Status.UNKNOWN, "chain-untrusted")
    assert "does not complete the path" in result.check("chainTrusted").found
