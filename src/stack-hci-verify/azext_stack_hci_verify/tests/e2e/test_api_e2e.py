# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The Python API end to end: the built wheel installed with its `api` extra in a fresh virtual
environment without azure-cli, run against the emulator with azure-identity's ManagedIdentityCredential
(the emulator's managed-identity endpoint) and ClientSecretCredential (its Microsoft Entra endpoint);
every method's result equals the JSON of the matching az command."""

import json
import os
import re
import subprocess
import venv

import pytest

from .conftest import EXTENSION_SOURCE, REPO_ROOT, emulated_az, rebased

pytestmark = pytest.mark.e2e

SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
N1 = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts", "AZL-PROD-01-N1.json")
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"

SCRIPT = r'''
import json, os, sys
from azext_stack_hci_verify.api import Verifier, NotFoundError
kind, endpoint, host_facts = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "identity":
    from azure.identity import ManagedIdentityCredential
    credential = ManagedIdentityCredential()
else:
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(os.environ["TENANT"], "emulator-app", os.environ["SECRET"],
                                        authority=endpoint, disable_instance_discovery=True)
verifier = Verifier(credential, subscription_id=os.environ["SUB"], arm_endpoint=endpoint,
                    audience="https://management.core.windows.net/")
group = os.environ["GROUP"]
out = {
    "show": verifier.show("hci-prod-01", group, host_facts=[host_facts]),
    "list": verifier.list(),
    "listGroup": verifier.list(resource_group=group),
    "fleet": verifier.list(all_subscriptions=True),
    "servers": verifier.servers("hci-prod-01", group),
    "vms": verifier.vms("hci-prod-01", group, host_facts=[host_facts]),
    "vm": verifier.vm("ae-sql-01", "hci-prod-01", group),
    "trustedLaunch": verifier.trusted_launch(resource_group="rg-hci-trusted"),
    "check": verifier.check(resource_group=group, fail_on=["error"]).report,
    "tokenRequests": verifier.token_requests,
    "modules": sorted(m for m in sys.modules if m.startswith(("azure.cli", "knack"))),
}
try:
    verifier.show("nope", group)
except NotFoundError as ex:
    out["notFound"] = [type(ex).__name__, ex.recommendation]
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def api_python(tmp_path_factory):
    """A fresh virtual environment with the built wheel and its `api` extra, and no azure-cli."""
    from emulator.azenv import build_wheel
    root = tmp_path_factory.mktemp("api-venv")
    wheel = build_wheel(EXTENSION_SOURCE, str(root / "wheel"))
    venv.create(str(root / "venv"), with_pip=True)
    python = str(root / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel + "[api]"],
                   check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], check=True, capture_output=True,
                            text=True).stdout
    assert "azure-cli" not in {item["name"] for item in json.loads(listed)}
    return python


_DURATION = re.compile(r"\b\d+ (?:days?|hours?|minutes?|seconds?)\b")


def _normal(value):
    """Without the times that move between two runs (the evaluation time, ages in words)."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items() if key != "evaluatedAt"}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, str):
        return _DURATION.sub("<age>", value)
    return value


@pytest.mark.parametrize("kind", ["identity", "secret"])
def test_every_method_equals_the_command(api_python, tmp_path_factory, kind):
    with emulated_az(tmp_path_factory, "api-" + kind, SAMPLE, rebase_to="now") as az:
        facts = rebased(N1, tmp_path_factory.mktemp("api-facts"))
        env = dict(az.env, SUB=SUB, GROUP=GROUP, TENANT=az.emulator.tenant_id, SECRET="emulator-client-secret",
                   REQUESTS_CA_BUNDLE=az.emulator.ca_bundle, SSL_CERT_FILE=az.emulator.ca_bundle)
        env.pop("PYTHONPATH", None)
        result = subprocess.run([api_python, "-c", SCRIPT, kind, az.emulator.base_url, facts], env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        got = json.loads(result.stdout)
        base = ("stack-hci", "vm-verification")
        expected = {
            "show": az.json(*base, "show", "-n", "hci-prod-01", "-g", GROUP, "--host-facts", facts),
            "list": az.json(*base, "list"),
            "listGroup": az.json(*base, "list", "-g", GROUP),
            "fleet": az.json(*base, "list", "--all-subscriptions"),
            "servers": az.json(*base, "server", "list", "-n", "hci-prod-01", "-g", GROUP),
            "vms": az.json(*base, "vm", "list", "-n", "hci-prod-01", "-g", GROUP, "--host-facts", facts),
            "vm": az.json(*base, "vm", "show", "-n", "ae-sql-01", "--cluster-name", "hci-prod-01", "-g", GROUP),
            "trustedLaunch": az.json(*base, "trusted-launch", "list", "-g", "rg-hci-trusted"),
        }
        checked = az.run(*base, "check", "-g", GROUP, "--fail-on", "error", "-o", "json")
        expected["check"] = json.loads(checked.stdout)
        for key, value in expected.items():
            assert _normal(got[key]) == _normal(value), key
        assert got["tokenRequests"] == 1 and got["modules"] == []
        assert got["notFound"][0] == "NotFoundError" and "vm-verification list" in got["notFound"][1]
