# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`check` against fake ARM and fleet adapters: which reads it makes for each scope, a cluster that
cannot be read beside ones that can, the exit status it asks for, the files it writes, and the
one-line errors of its validators."""

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror

from azext_stack_hci_verify import _exit_status, _validators, custom, fleet
from azext_stack_hci_verify.adapters import arm, arm_trusted_launch, resourcegraph
from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm, evaluate_cluster
from azext_stack_hci_verify.core.inventory import ArmVm, judge_vms

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet", "rg-hci-prod-eastus")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)          # the fixtures' reference time
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"
CMD = SimpleNamespace(cli_ctx=None)


def fixture(*parts):
    with open(os.path.join(FLEET, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def arm_vm(name):
    return ArmVm(fixture("machines", name + ".json"), fixture("machines", name + ".instance.json"), None)


def cluster_id(name):
    return "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}".format(SUB, GROUP, name)


@pytest.fixture(name="fake")
def fixture_fake(monkeypatch):
    """ARM as the test sets it: `clusters` by name (an exception is raised), `vms` for every cluster."""
    state = SimpleNamespace(clusters={"hci-prod-01": fixture("clusters", "hci-prod-01.json"),
                                      "hci-prod-02": fixture("clusters", "hci-prod-02.json")},
                            vms=arm.ClusterVms([arm_vm("ae-sql-01"), arm_vm("lnx-db-01")]), calls=[], exits=[],
                            fallback=None)

    def get_cluster(cli_ctx, subscription_id, resource_group, name, credential=None):
        del cli_ctx, credential
        state.calls.append(("get", subscription_id, resource_group, name))
        found = state.clusters.get(name)
        if isinstance(found, Exception):
            raise found
        return found

    def read_cluster_vms(cli_ctx, cluster, credential=None, client=None):
        del cli_ctx, credential, client
        state.calls.append(("vms", cluster.name))
        if isinstance(state.vms, Exception):
            raise state.vms
        return resourcegraph.VmRead(state.vms, resourcegraph.SOURCE_GRAPH, state.fallback)

    def list_clusters(cli_ctx, subscription_id, resource_group=None, credential=None):
        del cli_ctx, credential
        state.calls.append(("list", subscription_id, resource_group))
        return [document for document in state.clusters.values() if isinstance(document, dict)]

    def read_trusted_launch(cli_ctx, subscription_id, vms, credential=None):
        del cli_ctx
        state.calls.append(("trusted-launch", subscription_id, tuple(vm.name for vm in vms if vm.isolated)))
        return {}, {}

    monkeypatch.setattr(arm, "get_cluster", get_cluster)
    monkeypatch.setattr(resourcegraph, "read_cluster_vms", read_cluster_vms)
    monkeypatch.setattr(resourcegraph, "prefetch_cluster_vms", lambda cli_ctx, refs, credential: None)
    monkeypatch.setattr(arm, "list_clusters", list_clusters)
    monkeypatch.setattr(arm_trusted_launch, "read_trusted_launch", read_trusted_launch)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr(_exit_status, "exit_after_output", lambda cli_ctx, code: state.exits.append(code))
    monkeypatch.setattr("azure.cli.core.commands.client_factory.get_subscription_id", lambda cli_ctx: SUB)
    return state


def not_found(name):
    return azclierror.ResourceNotFoundError(
        "Cluster '{}' in resource group '{}' was not found (ResourceNotFound).".format(name, GROUP),
        recommendation="List the clusters you can see with `az stack-hci vm-verification list -g {}`.".format(GROUP))


def codes(view):
    return {finding["reasonCode"] for finding in view["findings"]}


# ----------------------------------------------------------------------------- scopes and reads


def test_one_cluster_reads_it_its_vms_and_their_trusted_launch_once(fake):
    view = custom.check_verification(CMD, "hci-prod-01", GROUP)
    assert fake.calls == [("get", SUB, GROUP, "hci-prod-01"), ("vms", "hci-prod-01"),
                          ("trusted-launch", SUB, ("ae-sql-01",))]
    assert view["scope"] == {"kind": "clusters", "clusters": 1, "trustedLaunch": True}
    assert view["totals"]["clusters"]["total"] == 1 and view["totals"]["vms"]["total"] == 2
    assert view["totals"]["trustedLaunch"]["total"] == 2
    assert (view["failed"], view["exitCode"], view["failOn"]) == (False, 0, [])
    assert fake.exits == [0]


def test_fail_on_asks_for_exit_1_and_still_returns_the_whole_report(fake):
    view = custom.check_verification(CMD, "hci-prod-01", GROUP, fail_on=("any",))
    assert view["findings"] and view["matchedFindings"] == len(view["findings"])
    assert (view["failed"], view["exitCode"]) == (True, 1) and fake.exits == [1]


def test_a_cluster_that_cannot_be_read_is_a_finding_beside_the_others(fake):
    fake.clusters["gone"] = not_found("gone")
    view = custom.check_verification(CMD, ids=[cluster_id("gone"), cluster_id("hci-prod-01")], fail_on=("error",))
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "cluster-not-readable"]
    assert (finding["name"], finding["resourceId"], finding["severity"], finding["status"]) == (
        "gone", cluster_id("gone"), "error", "Unknown")
    assert finding["command"] == "az stack-hci vm-verification list -g {}".format(GROUP)
    assert finding["action"] == "Check the cluster's name" and finding["matched"]
    assert view["totals"]["clusters"] == {"total": 2, "on": 1, "off": 0, "unknown": 1}
    assert ("vms", "hci-prod-01") in fake.calls and fake.exits == [1]


def test_when_no_cluster_can_be_read_the_error_is_the_answer(fake):
    fake.clusters["gone"] = not_found("gone")
    with pytest.raises(azclierror.ResourceNotFoundError):
        custom.check_verification(CMD, "gone", GROUP)
    assert fake.exits == []


def test_a_resource_group_checks_each_of_its_clusters(fake):
    view = custom.check_verification(CMD, resource_group_name=GROUP)
    assert fake.calls[0] == ("list", SUB, GROUP)
    assert [call[1] for call in fake.calls if call[0] == "vms"] == ["hci-prod-01", "hci-prod-02"]
    assert view["scope"]["kind"] == "resourceGroup" and view["totals"]["clusters"]["total"] == 2


def test_unreadable_vms_are_findings_on_the_cluster(fake):
    failure = arm.ReadFailure(azclierror.ForbiddenError("Access denied reading the Arc machines."),
                              ("00000000-0000-0000-0000-000000000001", "/subscriptions/{}".format(SUB)))
    fake.vms = arm.ClusterVms([], machines_failure=failure)
    view = custom.check_verification(CMD, "hci-prod-01", GROUP, fail_on=("warning",))
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "vms-not-readable"]
    assert finding["command"].startswith("az role assignment create") and finding["matched"]
    assert not [call for call in fake.calls if call[0] == "trusted-launch"]


def test_a_vm_read_that_fails_outright_is_a_finding_and_a_fallback_is_named(fake):
    fake.vms = azclierror.AzureResponseError("Resource Graph answered 500 reading the VMs of cluster 'x'.")
    view = custom.check_verification(CMD, ids=[cluster_id("hci-prod-01")])
    assert "vms-not-readable" in codes(view) and view["totals"]["vms"]["total"] == 0
    fake.vms, fake.fallback = arm.ClusterVms([arm_vm("lnx-db-01")]), "Resource Graph does not index them."
    view = custom.check_verification(CMD, ids=[cluster_id("hci-prod-01")])
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "resource-graph-fallback"]
    assert finding["severity"] == "info" and view["totals"]["vms"]["total"] == 1


def test_the_fleet_scope_is_one_call_to_the_fleet(fake, monkeypatch):
    document = fixture("clusters", "hci-prod-01.json")
    verdict = evaluate_cluster(cluster_facts_from_arm(document), [], NOW)
    read = arm.ReadFailure(azclierror.ForbiddenError("Access denied reading subscription sub2."))
    scan = SimpleNamespace(clusters=[fleet.FleetCluster(verdict, judge_vms(verdict, [arm_vm("ae-sql-01")]))],
                           unreadable=[SimpleNamespace(scope="/subscriptions/sub2", failure=read)], requests=2)
    asked = []

    def evaluate_fleet(cmd, **kwargs):
        asked.append(kwargs)
        return scan

    monkeypatch.setattr(fleet, "evaluate_fleet", evaluate_fleet)
    view = custom.check_verification(CMD, subscriptions=[SUB, "sub2"], fail_on=("error",))
    assert asked == [{"subscriptions": [SUB, "sub2"], "all_subscriptions": False, "management_groups": None,
                      "host_facts": None, "now": NOW, "with_vms": True}]
    assert not [call for call in fake.calls if call[0] in ("get", "list", "vms")]
    assert view["scope"]["trustedLaunch"] is False and view["scope"]["resourceGraphRequests"] == 2
    unread = [f for f in view["findings"] if f["scope"] == "subscription"]
    assert [(f["resourceId"], f["reasonCode"], f["matched"]) for f in unread] == [
        ("/subscriptions/sub2", "scope-not-readable", True)]
    assert view["totals"]["clusters"]["total"] == 1 and view["totals"]["vms"]["total"] == 1
    assert fake.exits == [1]


# ----------------------------------------------------------------------------- files


def test_junit_and_summary_are_written_and_the_summary_appends(fake, tmp_path):
    junit, summary = tmp_path / "results.xml", tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    view = custom.check_verification(CMD, "hci-prod-01", GROUP, fail_on=("warning",), junit=str(junit),
                                     summary=str(summary))
    root = ET.parse(str(junit)).getroot()
    servers = len(fixture("clusters", "hci-prod-01.json")["properties"]["reportedProperties"]["nodes"])
    assert [(s.get("name"), int(s.get("tests"))) for s in root] == [
        ("clusters", 1), ("servers", servers), ("vms", 2), ("trustedLaunch", 2)]
    assert int(root.get("failures")) == sum(1 for s in root for c in s if c.find("failure") is not None) > 0
    assert view["matchedFindings"] > 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n## Azure verification for VMs: check")


# ----------------------------------------------------------------------------- validators


class DefaultValue(str):
    """A value az filled in from its configured defaults (az marks those with is_default)."""
    is_default = True


def namespace(**kwargs):
    base = dict(ids=None, cluster_name=None, resource_group_name=None, subscriptions=None, all_subscriptions=False,
                management_groups=None, fail_on=None, junit=None, summary=None)
    base.update(kwargs)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(cluster_name="c"), azclierror.RequiredArgumentMissingError, "--resource-group/-g is required"),
    (dict(), azclierror.RequiredArgumentMissingError, "Say what to check"),
    (dict(ids=[cluster_id("c")], cluster_name="c"), azclierror.MutuallyExclusiveArgumentError, "--ids and"),
    (dict(subscriptions=[SUB], all_subscriptions=True), azclierror.MutuallyExclusiveArgumentError,
     "--subscriptions and --all-subscriptions"),
    (dict(subscriptions=[SUB], resource_group_name="g"), azclierror.MutuallyExclusiveArgumentError,
     "--cluster-name/--resource-group and --subscriptions"),
])
def test_scope_errors_are_one_line_with_the_fix(kwargs, error, words):
    with pytest.raises(error) as raised:
        _validators.validate_check_scope(None, namespace(**kwargs))
    assert words in raised.value.error_msg and "\n" not in raised.value.error_msg
    assert raised.value.recommendations


@pytest.mark.parametrize("kwargs", [dict(cluster_name="c", resource_group_name="g"), dict(resource_group_name="g"),
                                    dict(ids=[cluster_id("c")]), dict(all_subscriptions=True),
                                    dict(management_groups=["mg"]), dict(subscriptions=[SUB])])
def test_valid_scopes_pass_and_are_kept_as_given(kwargs):
    ns = namespace(**kwargs)
    given = dict(vars(ns))
    assert _validators.validate_check_scope(None, ns) is None
    assert vars(ns) == given


def test_a_configured_default_group_does_not_narrow_a_fleet():
    ns = namespace(all_subscriptions=True, resource_group_name=DefaultValue("g"))
    assert _validators.validate_check_scope(None, ns) is None
    assert (ns.all_subscriptions, ns.resource_group_name) == (True, None)


def test_fail_on_levels_are_checked_and_normalized():
    ns = namespace(fail_on=["Expired", "inactive,unknown"])
    _validators.validate_check_outputs(None, ns)
    assert ns.fail_on == ("expired", "inactive", "unknown")
    with pytest.raises(azclierror.InvalidArgumentValueError) as raised:
        _validators.validate_check_outputs(None, namespace(fail_on=["critical"]))
    assert raised.value.error_msg == "--fail-on 'critical' is not a level."
    assert "expired, inactive, unknown, error, warning, any" in raised.value.recommendations[0]


@pytest.mark.parametrize("where", ["missing-folder", "directory", "empty"])
def test_unwritable_output_paths_fail_before_anything_is_read(tmp_path, where):
    path = {"missing-folder": str(tmp_path / "nope" / "results.xml"), "directory": str(tmp_path), "empty": ""}[where]
    with pytest.raises(azclierror.FileOperationError) as raised:
        _validators.validate_check_outputs(None, namespace(junit=path))
    assert raised.value.error_msg.startswith("JUnit file") and raised.value.recommendations
