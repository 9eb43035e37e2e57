# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`attest` through the real az against the emulator's attested-document endpoint (loopback only)."""

import json
import os
import shutil
import socket
import subprocess
import urllib.request

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
ATTEST = ("stack-hci", "vm-verification", "attest")
SAMPLES = os.path.join(REPO_ROOT, "emulator", "fixtures", "azure-imds-sample")
SAMPLE = os.path.join(SAMPLES, "azure-attested-document-2025-11-19.json")
SAMPLE_AIA = "http://www.microsoft.com/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt"
PASSED, NOT_PASSED = 0, 1  # attest's exit status


@pytest.fixture(autouse=True)
def _valid_mode(az):
    az.emulator.set_imds_mode("valid")
    az.emulator.set_pki_mode(aia="normal", ocsp="good")
    shutil.rmtree(os.path.join(az.env["AZURE_CONFIG_DIR"], "stack-hci-verify", "pki-cache"), ignore_errors=True)
    az.emulator.clear_imds_requests()
    yield
    az.emulator.set_imds_mode("valid")
    az.emulator.set_pki_mode(aia="normal", ocsp="good")


def attest(az, *args, code, env=None):
    """Run attest with JSON output; the exit status must be ``code`` and the result is printed either way."""
    from emulator import azenv
    result = azenv.run_az(az.az_path, [*ATTEST, *args, "-o", "json"], env or az.env, timeout=120)
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def checks(view):
    return {check["check"]: check for check in view["checks"]}


def aia_requests(az):
    return [r["target"] for r in az.emulator.imds_requests() if r["target"].startswith(("/certs/", "/pkiops/"))]


def test_valid_document_passes(az):
    view = attest(az, code=PASSED)
    assert view["status"] == "Passed", view
    assert view["source"]["target"] == "host"
    assert view["source"]["endpoint"] == az.emulator.imds_url and view["source"]["httpStatus"] == 200
    assert view["document"]["nonce"] == view["source"]["nonceSent"] and len(view["source"]["nonceSent"]) == 10
    assert "metadata.azure.com" in view["signer"]["san"]
    assert [c["check"] for c in view["checks"]] == ["documentParses", "singleSigner", "signatureValid",
                                                    "signerNameAllowed", "chainTrusted", "nonceEchoed",
                                                    "notExpired", "signerCertificateValid", "notRevoked"]
    assert {c["status"] for c in view["checks"][:-1]} == {"Passed"}
    revocation = checks(view)["notRevoked"]
    assert (revocation["status"], revocation["reasonCode"]) == ("Skipped", "revocation-not-checked")
    assert "not checked" in revocation["reason"]
    assert 0 < view["signer"]["daysLeft"] <= 30
    attested = [r for r in az.emulator.imds_requests() if r["target"].startswith("/metadata/attested/document")]
    assert attested[-1]["headers"]["Metadata"] == "true"


def test_the_issuing_ca_is_fetched_from_the_address_the_signer_names(az):
    view = attest(az, code=PASSED)
    issuing = az.emulator.imds_url + "/certs/test-issuing-ca.crt"
    assert "(fetched from {})".format(issuing) in checks(view)["chainTrusted"]["found"]
    assert "(trust bundle)" in checks(view)["chainTrusted"]["found"]
    fetches = view["pki"]["fetches"]
    assert [(f["kind"], f["url"], f["source"], f["reasonCode"]) for f in fetches] == [
        ("caIssuers", issuing, "fetched", None)]
    assert fetches[0]["certificates"][0].startswith("CN=Stack HCI Verify Test Issuing CA")


@pytest.mark.parametrize("mode, status, code", [
    ("tampered", "Failed", "signature-invalid"),
    ("wrong-nonce", "Failed", "nonce-mismatch"),
    ("expired", "Failed", "document-expired"),
    ("signer-not-allowed", "Failed", "signer-not-allowed"),
    ("untrusted-chain", "Unknown", "chain-untrusted"),
    ("missing-header", "Unknown", "missing-metadata-header"),
])
def test_modes(az, mode, status, code):
    az.emulator.set_imds_mode(mode)
    view = attest(az, code=NOT_PASSED)
    assert (view["status"], view["reasonCode"]) == (status, code), view


def test_bag_confusion_is_failed_and_names_the_signer(az):
    az.emulator.set_imds_mode("bag-confusion")
    view = attest(az, code=NOT_PASSED)
    assert view["status"] == "Failed"
    assert checks(view)["singleSigner"]["status"] == "Failed"


def test_throttled_once_then_passes(az):
    az.emulator.set_imds_mode("throttled", count=1)
    view = attest(az, code=PASSED)
    assert view["status"] == "Passed" and view["source"]["attempts"] == 2


def test_server_error_is_unknown_not_failed(az):
    az.emulator.set_imds_mode("server-error")
    view = attest(az, "--timeout", "3", code=NOT_PASSED)
    assert view["status"] == "Unknown" and view["reasonCode"] == "server-error" and view["checks"] == []
    assert view["reason"].endswith("HTTP 500 Internal Server Error: {\"error\": \"Internal server error\"}")


def test_slow_endpoint_times_out_within_budget(az):
    az.emulator.set_imds_mode("slow", slow_seconds=20)
    view = attest(az, "--timeout", "2", code=NOT_PASSED)
    # The emulator accepts the connection at once and then says nothing: the read budget runs out
    # (on the client's clock: test_imds_client.py; in real time: the benchmark).
    assert view["status"] == "Unknown" and view["reasonCode"] == "timed-out"
    assert view["source"]["attempts"] == 1 and "did not answer within the time budget" in view["reason"]


def test_proxy_settings_are_ignored(az):
    env = dict(az.env, HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    assert attest(az, code=PASSED, env=env)["status"] == "Passed"


def test_dead_endpoint_is_unknown_and_fast(az):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    view = attest(az, "--endpoint", "http://127.0.0.1:{}".format(port), code=NOT_PASSED)
    assert view["status"] == "Unknown" and view["reasonCode"] == "connection-refused"
    assert view["source"]["attempts"] == 1  # refused: not retried (how long az takes: the benchmark)


def test_saved_document_offline(az, tmp_path):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(az.emulator.imds_url + "/metadata/attested/document?api-version=2018-10-01"
                                     "&nonce=4242424242", headers={"Metadata": "true"})
    with opener.open(request, timeout=10) as response:
        (tmp_path / "doc.json").write_bytes(response.read())
    good = attest(az, "--document", str(tmp_path / "doc.json"), "--nonce", "4242424242", code=PASSED)
    assert good["status"] == "Passed" and good["source"]["endpoint"] is None
    wrong = attest(az, "--document", str(tmp_path / "doc.json"), "--nonce", "1111111111", code=NOT_PASSED)
    assert (wrong["status"], wrong["reasonCode"]) == ("Failed", "nonce-mismatch")
    unchecked = attest(az, "--document", str(tmp_path / "doc.json"), code=PASSED)
    assert checks(unchecked)["nonceEchoed"]["status"] == "Skipped"


def test_table_lists_the_checks(az):
    result = az.run(*ATTEST, "-o", "table")
    assert result.returncode == PASSED, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Check", "Status", "ReasonCode", "Found"]
    assert "(overall)" in lines[2] and any(line.startswith("chainTrusted") for line in lines)


def test_exit_status_holds_with_query_and_no_output(az):
    az.emulator.set_imds_mode("tampered")
    queried = az.run(*ATTEST, "--query", "reasonCode", "-o", "tsv")
    assert (queried.returncode, queried.stdout.strip()) == (NOT_PASSED, "signature-invalid"), queried.stderr
    silent = az.run(*ATTEST, "-o", "none")
    assert (silent.returncode, silent.stdout) == (NOT_PASSED, ""), silent.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--at", "yesterday"], "--at 'yesterday' is not a time"),
    (["--endpoint", "https://127.0.0.1:1/metadata"], "must be the endpoint's base URL"),
    (["--nonce", "a b"], "--nonce must be"),
    (["--document", "x.json", "--endpoint", "http://127.0.0.1:1"], "not both"),
    (["--document", "missing.json"], "'missing.json' does not exist"),
    (["--trust-bundle", "missing.pem"], "Trust bundle 'missing.pem' does not exist"),
])
def test_bad_input(az, args, fragment):
    result = az.run(*ATTEST, *args)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_bad_mirror_setting_is_an_error_that_names_it(az):
    env = dict(az.env, STACK_HCI_VERIFY_PKI_MIRROR="ftp://127.0.0.1/")
    result = azenv_run(az, [*ATTEST], env)
    assert result.returncode == 1 and "STACK_HCI_VERIFY_PKI_MIRROR 'ftp://127.0.0.1/'" in result.stderr
    assert "Traceback" not in result.stderr


def azenv_run(az, args, env):
    from emulator import azenv
    return azenv.run_az(az.az_path, args, env, timeout=120)


# -- fetching issuers -------------------------------------------------------------------------------

def test_issuer_is_cached_in_the_az_configuration_directory(az):
    first = attest(az, code=PASSED)
    second = attest(az, code=PASSED)
    assert [f["source"] for f in first["pki"]["fetches"]] == ["fetched"]
    assert [f["source"] for f in second["pki"]["fetches"]] == ["cache"]
    assert "(cached from {}/certs/test-issuing-ca.crt)".format(az.emulator.imds_url) in \
        checks(second)["chainTrusted"]["found"]
    assert aia_requests(az).count("/certs/test-issuing-ca.crt") == 1
    cache = os.path.join(az.env["AZURE_CONFIG_DIR"], "stack-hci-verify", "pki-cache")
    assert len(os.listdir(cache)) == 1


def test_no_fetch_leaves_the_chain_untrusted_and_names_the_address(az):
    view = attest(az, "--no-fetch", code=NOT_PASSED)
    assert (view["status"], view["reasonCode"]) == ("Unknown", "chain-untrusted")
    assert az.emulator.imds_url + "/certs/test-issuing-ca.crt" in view["reason"]
    assert view["pki"]["fetchIssuers"] is False and view["pki"]["fetches"] == [] and aia_requests(az) == []
    env = dict(az.env, STACK_HCI_VERIFY_NO_FETCH="true")
    assert attest(az, code=NOT_PASSED, env=env)["reasonCode"] == "chain-untrusted" and aia_requests(az) == []


def test_failed_fetch_is_unknown_never_failed(az):
    az.emulator.set_pki_mode(aia="not-found")
    view = attest(az, code=NOT_PASSED)
    assert (view["status"], view["reasonCode"]) == ("Unknown", "issuer-fetch-failed")
    assert "HTTP 404 Not Found" in view["reason"]


def test_hosts_off_the_allow_list_are_not_asked(az):
    env = dict(az.env, STACK_HCI_VERIFY_PKI_HOSTS="default")  # 127.0.0.1 is not a Microsoft or DigiCert host
    view = attest(az, code=NOT_PASSED, env=env)
    assert (view["status"], view["reasonCode"]) == ("Unknown", "issuer-fetch-failed")
    assert view["pki"]["fetches"][0]["reasonCode"] == "host-not-allowed" and aia_requests(az) == []


def test_redirect_to_another_host_is_not_followed(az):
    az.emulator.set_pki_mode(aia="redirect")
    view = attest(az, code=NOT_PASSED)
    assert view["reasonCode"] == "issuer-fetch-failed"
    assert view["pki"]["fetches"][0]["reasonCode"] == "redirect-refused"


# -- revocation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, status, code, exit_status", [
    ("good", "Passed", "verified", PASSED),
    ("revoked", "Failed", "certificate-revoked", NOT_PASSED),
    ("unknown", "Unknown", "revocation-unknown", NOT_PASSED),
    ("stale", "Unknown", "ocsp-response-stale", NOT_PASSED),
    ("wrong-key", "Unknown", "ocsp-response-invalid", NOT_PASSED),
])
def test_check_revocation(az, mode, status, code, exit_status):
    az.emulator.set_pki_mode(ocsp=mode)
    view = attest(az, "--check-revocation", code=exit_status)
    assert (view["status"], view["reasonCode"]) == (status, code), checks(view)["notRevoked"]
    assert [f["kind"] for f in view["pki"]["fetches"]] == ["caIssuers", "ocsp"]
    assert view["pki"]["fetches"][1]["url"] == az.emulator.imds_url + "/ocsp"


# -- the public Azure sample, on the default path ---------------------------------------------------

def test_real_azure_document_on_the_default_path(az):
    # No --trust-bundle, --intermediates or trust settings: certifi's DigiCert Global Root G2, and the
    # issuing CA fetched from the address the signer names (served by the emulator through the mirror).
    env = {k: v for k, v in az.env.items()
           if k not in ("STACK_HCI_VERIFY_TRUST_BUNDLE", "STACK_HCI_VERIFY_INTERMEDIATES")}
    view = attest(az, "--document", SAMPLE, "--at", "2025-11-19T13:46:40Z", code=PASSED, env=env)
    assert view["status"] == "Passed", view
    assert view["trust"]["roots"] == "certifi"
    assert view["document"]["vmId"] == "ddc87bd2-3ebb-43dc-92a9-90b104cd9527"
    chain = checks(view)["chainTrusted"]["found"]
    assert "'CN=Microsoft Azure RSA TLS Issuing CA 07,O=Microsoft Corporation,C=US' (fetched from {} via {}".format(
        SAMPLE_AIA, az.emulator.imds_url) in chain
    assert "'CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US' (trust bundle)" in chain
    expired = attest(az, "--document", SAMPLE, "--at", "2025-11-19T19:00:00Z", code=NOT_PASSED, env=env)
    assert (expired["status"], expired["reasonCode"]) == ("Failed", "document-expired")


def test_az_emulated_with_no_subscriptions_verifies_the_sample(tmp_path):
    # A fixture set with no subscriptions still logs in (tenant level) for commands that need no ARM.
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [os.path.join(REPO_ROOT, "scripts", "az-emulated"), "--fixtures", str(tmp_path / "empty"), "--", *ATTEST,
         "--document", SAMPLE, "--at", "2025-11-19T13:46:40Z", "-o", "json"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == PASSED, result.stderr[-3000:]
    view = json.loads(result.stdout)
    assert view["status"] == "Passed" and view["pki"]["fetches"][0]["url"] == SAMPLE_AIA
