# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The Python API against the fake connection: the same answers as the command functions, its own
errors, one token for a Verifier, and nothing of az imported."""

import os
import subprocess
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from azext_stack_hci_verify import api, custom

from .fake_connection import FakeConnection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"
CMD = SimpleNamespace(cli_ctx=None)


@pytest.fixture(name="pair")
def fixture_pair(monkeypatch):
    """(Verifier, command functions) over the same fake connection and reference time."""
    conn = FakeConnection(SAMPLE, subscription_id=SUB)
    verifier = api.Verifier(object(), subscription_id=SUB, now=lambda: NOW)
    verifier._conn = conn  # pylint: disable=protected-access
    monkeypatch.setattr(custom, "_connection", lambda cmd, scope: conn)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr(custom, "_current_subscription", lambda cmd: SUB)
    monkeypatch.setattr(custom, "_Progress", lambda cli_ctx: None)
    monkeypatch.setattr("azext_stack_hci_verify._exit_status.exit_after_output", lambda cli_ctx, code: None)
    return verifier


def test_every_method_returns_what_the_command_returns(pair):
    verifier = pair
    assert verifier.show("hci-prod-01", GROUP) == custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert verifier.list() == custom.list_cluster_verification(CMD)
    assert verifier.list(resource_group=GROUP) == custom.list_cluster_verification(CMD, resource_group_name=GROUP)
    assert verifier.servers(resource_group=GROUP) == custom.list_server_verification(CMD, resource_group_name=GROUP)
    assert verifier.vms("hci-prod-01", GROUP, status=["inactive benefits"]) == custom.list_vm_verification(
        CMD, cluster_name="hci-prod-01", resource_group_name=GROUP, status=["Inactive benefits"])
    assert verifier.vm("ae-sql-01", "hci-prod-01", GROUP) == custom.show_vm_verification(
        CMD, vm_name="ae-sql-01", cluster_name="hci-prod-01", resource_group_name=GROUP)
    assert verifier.trusted_launch(resource_group="rg-hci-trusted") == custom.list_trusted_launch(
        CMD, resource_group_name="rg-hci-trusted")
    assert verifier.trusted_launch_vm("tl-w11-01", "hci-tl-01", "rg-hci-trusted") == custom.show_trusted_launch(
        CMD, "tl-w11-01", cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted")
    result = verifier.check(resource_group=GROUP, fail_on=["error"])
    assert result.report == custom.check_verification(CMD, resource_group_name=GROUP, fail_on=("error",))
    assert result.failed is True and result.exit_code == 1
    assert result.junit.startswith("<?xml") and "## Azure verification for VMs" in result.markdown


def test_errors_are_the_apis_own_with_the_recommendation(pair):
    with pytest.raises(api.NotFoundError) as raised:
        pair.show("gone", GROUP)
    assert raised.value.recommendation and "gone" in raised.value.message
    with pytest.raises(api.InvalidInputError):
        pair.check(fail_on=["critical"])
    with pytest.raises(api.InvalidInputError):
        pair.list(resource_group=GROUP, all_subscriptions=True)
    with pytest.raises(api.InvalidInputError):
        pair.vms(status=["green"])


def test_a_subscription_is_needed_for_the_current_scope():
    verifier = api.Verifier(object())
    with pytest.raises(api.InvalidInputError, match="No subscription"):
        verifier.list()


@pytest.mark.parametrize("cloud, endpoint, audience", [
    ("AzureCloud", "https://management.azure.com", "https://management.core.windows.net"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn")])
def test_the_endpoint_and_audience_follow_the_cloud(cloud, endpoint, audience):
    conn = api.Verifier(object(), cloud=cloud)._conn  # pylint: disable=protected-access
    assert (conn.arm_endpoint, conn.audience) == (endpoint, audience)
    with pytest.raises(api.InvalidInputError):
        api.Verifier(object(), cloud="AzureMars")


def test_one_token_for_every_client_of_a_verifier():
    class Counting:
        calls = 0

        def get_token(self, *scopes, **kwargs):
            del kwargs
            Counting.calls += 1
            return SimpleNamespace(token="t", expires_on=4102444800, scopes=scopes)

    verifier = api.Verifier(Counting(), subscription_id=SUB)
    conn = verifier._conn  # pylint: disable=protected-access
    for _ in range(5):
        conn.credential.get_token("https://management.core.windows.net/.default")
    assert Counting.calls == 1 and verifier.token_requests == 1


def test_importing_the_api_imports_nothing_of_az():
    code = ("import sys; import azext_stack_hci_verify.api, azext_stack_hci_verify.pipeline.answers, "
            "azext_stack_hci_verify.adapters.connection; "
            "print(sorted(m for m in sys.modules if m.startswith(('azure.cli', 'knack'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONPATH=os.path.join(REPO_ROOT, "src", "stack-hci-verify")))
    assert result.stdout.strip() == "[]", result.stdout


def test_az_finds_the_loader_under_the_package_name():
    import azext_stack_hci_verify
    assert azext_stack_hci_verify.COMMAND_LOADER_CLS.__module__ == "azext_stack_hci_verify"


def test_the_automation_runbook_example_fails_the_job_on_what_needs_a_fix(pair, capsys, monkeypatch):
    import importlib.util
    # the runbook's credential comes from azure-identity (the api extra), which the tests do not need
    monkeypatch.setitem(sys.modules, "azure.identity", SimpleNamespace(ManagedIdentityCredential=object))
    path = os.path.join(REPO_ROOT, "examples", "automation-runbook", "check_fleet.py")
    spec = importlib.util.spec_from_file_location("check_fleet", path)
    runbook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runbook)
    assert runbook.run(pair, [SUB]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "failed" and any("Sync-AzureStackHCI" in line or "Install" in line for line in lines[:-1])
    assert any(line.endswith("\tserver\tSync-AzureStackHCI") for line in lines[:-1]), lines


def test_a_credential_with_get_token_only_is_asked_once_for_token_info_too():
    class Plain:
        calls = 0

        def get_token(self, *scopes, **kwargs):
            del scopes, kwargs
            Plain.calls += 1
            return SimpleNamespace(token="t", expires_on=4102444800)

    conn = api.Verifier(Plain(), subscription_id=SUB)._conn  # pylint: disable=protected-access
    infos = [conn.credential.get_token_info("https://management.core.windows.net/.default") for _ in range(3)]
    assert {info.token for info in infos} == {"t"} and Plain.calls == 1


def test_attest_verifies_a_saved_document_as_the_command_does():
    """The public Azure sample, at its time, with its intermediate and this environment's CA bundle; no
    fetch (nothing leaves the machine)."""
    from datetime import datetime as moment
    sample = os.path.join(REPO_ROOT, "emulator", "fixtures", "azure-imds-sample")
    verifier = api.Verifier(object())
    view = verifier.attest(document=os.path.join(sample, "azure-attested-document-2025-11-19.json"),
                           intermediates=os.path.join(sample, "microsoft-azure-rsa-tls-issuing-ca-07-xsign.pem"),
                           at=moment(2025, 11, 19, 13, 46, 40, tzinfo=timezone.utc), no_fetch=True)
    assert view["status"] == "Passed", view
    late = verifier.attest(document=os.path.join(sample, "azure-attested-document-2025-11-19.json"),
                           intermediates=os.path.join(sample, "microsoft-azure-rsa-tls-issuing-ca-07-xsign.pem"),
                           at=moment(2026, 11, 19, tzinfo=timezone.utc), no_fetch=True)
    assert late["status"] == "Failed"
