# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`attest` through the real az against the emulator's attested-document endpoint (loopback only)."""

import json
import os
import socket
import time
import urllib.request

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
ATTEST = ("stack-hci", "vm-verification", "attest")
SAMPLES = os.path.join(os.path.dirname(REPO_ROOT), "shared", "imds-samples")


@pytest.fixture(autouse=True)
def _valid_mode(emulator):
    emulator.set_imds_mode("valid")
    yield
    emulator.set_imds_mode("valid")


def checks(view):
    return {check["check"]: check for check in view["checks"]}


def test_valid_document_passes(az):
    view = az.json(*ATTEST)
    assert view["status"] == "Passed", view
    assert view["source"]["endpoint"] == az.emulator.imds_url and view["source"]["httpStatus"] == 200
    assert view["document"]["nonce"] == view["source"]["nonceSent"] and len(view["source"]["nonceSent"]) == 10
    assert "metadata.azure.com" in view["signer"]["san"]
    assert [c["check"] for c in view["checks"]] == ["documentParses", "singleSigner", "signatureValid",
                                                    "signerNameAllowed", "chainTrusted", "nonceEchoed",
                                                    "notExpired", "signerCertificateValid"]
    assert {c["status"] for c in view["checks"]} == {"Passed"}
    assert 0 < view["signer"]["daysLeft"] <= 30
    request = az.emulator.imds_requests()[-1]
    assert request["headers"].get("Metadata") == "true" or "metadata" in json.dumps(request).lower()


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
    view = az.json(*ATTEST)
    assert (view["status"], view["reasonCode"]) == (status, code), view


def test_bag_confusion_is_failed_and_names_the_signer(az):
    az.emulator.set_imds_mode("bag-confusion")
    view = az.json(*ATTEST)
    assert view["status"] == "Failed"
    assert checks(view)["singleSigner"]["status"] == "Failed"


def test_throttled_once_then_passes(az):
    az.emulator.set_imds_mode("throttled", count=1)
    view = az.json(*ATTEST)
    assert view["status"] == "Passed" and view["source"]["attempts"] == 2


def test_server_error_is_unknown_not_failed(az):
    az.emulator.set_imds_mode("server-error")
    view = az.json(*ATTEST, "--timeout", "3")
    assert view["status"] == "Unknown" and view["reasonCode"] == "server-error" and view["checks"] == []


def test_slow_endpoint_times_out_within_budget(az):
    az.emulator.set_imds_mode("slow", slow_seconds=20)
    started = time.monotonic()
    view = az.json(*ATTEST, "--timeout", "2")
    assert view["status"] == "Unknown" and view["reasonCode"] in ("timed-out", "connect-timeout")
    assert time.monotonic() - started < 15


def test_proxy_settings_are_ignored(az):
    env = dict(az.env, HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    from emulator import azenv
    result = azenv.run_az(az.az_path, [*ATTEST, "-o", "json"], env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "Passed"


def test_dead_endpoint_is_unknown_and_fast(az):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    view = az.json(*ATTEST, "--endpoint", "http://127.0.0.1:{}".format(port))
    assert view["status"] == "Unknown" and view["reasonCode"] == "connection-refused"
    assert time.monotonic() - started < 10


def test_saved_document_offline(az, tmp_path):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(az.emulator.imds_url + "/metadata/attested/document?api-version=2018-10-01"
                                     "&nonce=4242424242", headers={"Metadata": "true"})
    with opener.open(request, timeout=10) as response:
        (tmp_path / "doc.json").write_bytes(response.read())
    good = az.json(*ATTEST, "--document", str(tmp_path / "doc.json"), "--nonce", "4242424242")
    assert good["status"] == "Passed" and good["source"]["endpoint"] is None
    wrong = az.json(*ATTEST, "--document", str(tmp_path / "doc.json"), "--nonce", "1111111111")
    assert (wrong["status"], wrong["reasonCode"]) == ("Failed", "nonce-mismatch")
    unchecked = az.json(*ATTEST, "--document", str(tmp_path / "doc.json"))
    assert checks(unchecked)["nonceEchoed"]["status"] == "Skipped"


def test_table_lists_the_checks(az):
    result = az.run(*ATTEST, "-o", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Check", "Status", "ReasonCode", "Expected", "Found"]
    assert "(overall)" in lines[2] and any(line.startswith("chainTrusted") for line in lines)


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
    assert result.returncode != 0 and fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not os.path.isdir(SAMPLES), reason="public Azure sample not present")
def test_real_azure_document_at_its_own_time(az):
    import certifi
    args = [*ATTEST, "--document", os.path.join(SAMPLES, "azure-attested-document-2025-11-19.json"),
            "--intermediates", os.path.join(SAMPLES, "microsoft-azure-rsa-tls-issuing-ca-07-xsign.pem"),
            "--trust-bundle", certifi.where()]
    view = az.json(*args, "--at", "2025-11-19T13:46:40Z")
    assert view["status"] == "Passed", view
    assert view["document"]["vmId"] == "ddc87bd2-3ebb-43dc-92a9-90b104cd9527"
    expired = az.json(*args, "--at", "2025-11-19T19:00:00Z")
    assert (expired["status"], expired["reasonCode"]) == ("Failed", "document-expired")
