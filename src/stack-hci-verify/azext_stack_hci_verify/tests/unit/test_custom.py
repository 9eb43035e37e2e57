# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The command functions against a fake ARM adapter: what each returns or raises when ARM's reads
fail in part. The verdicts themselves are the core's (tested there); these tests look at what the
command layer adds: findings, warnings, errors and which VMs still come back."""

import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror
from azure.core.exceptions import ServiceResponseTimeoutError

from azext_stack_hci_verify import custom
from azext_stack_hci_verify.adapters import arm, resourcegraph
from azext_stack_hci_verify.adapters.files import load_host_facts
from azext_stack_hci_verify.core.inventory import ArmVm

from .arm_fakes import OBJECT_ID, denied, http_error

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet", "rg-hci-prod-eastus")
N1 = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts", "AZL-PROD-01-N1.json")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)          # the fixtures' reference time
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"
CMD = SimpleNamespace(cli_ctx=None)


def fixture(*parts):
    with open(os.path.join(FLEET, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def forbidden(permission, scope):
    return http_error(403, denied(permission, scope))


def machines_forbidden():
    scope = "/subscriptions/{}".format(SUB)
    read = arm.ArmRead("The Arc machines of subscription '{}'".format(SUB), scope, arm.PERMISSION_MACHINES)
    return arm.ClusterVms([], machines_failure=arm.read_failure(forbidden(arm.PERMISSION_MACHINES, scope), read))


def instances_forbidden(names=("ae-sql-01", "avd-w11-01", "lnx-db-01")):
    vms, failures = [], []
    for name in names:
        machine = fixture("machines", name + ".json")
        scope = machine["id"] + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"
        read = arm.ArmRead("The Azure Local VM instance of '{}'".format(name), scope, arm.PERMISSION_INSTANCES)
        failure = arm.read_failure(forbidden(arm.PERMISSION_INSTANCES, scope), read)
        failures.append(failure)
        vms.append(ArmVm(machine, None, failure.reason))
    return arm.ClusterVms(vms, instances_failure=arm._instances_failure(  # pylint: disable=protected-access
        failures, len(vms)))


@pytest.fixture(name="fake_arm")
def fixture_fake_arm(monkeypatch):
    """ARM as the test sets it: `fake_arm.vms` is what read_cluster_vms returns (through Resource Graph's
    read, which the command functions call)."""
    state = SimpleNamespace(vms=arm.ClusterVms([]), clusters=[], list_error=None, calls=[], missing=set())

    def get_cluster(cli_ctx, subscription_id, resource_group, name, credential=None):
        del cli_ctx, credential
        state.calls.append(("get", subscription_id, resource_group, name))
        if name in state.missing:
            raise azclierror.ResourceNotFoundError("Cluster '{}' was not found.".format(name),
                                                   recommendation="List the clusters with `az stack-hci "
                                                                  "vm-verification list -g {}`.".format(resource_group))
        return fixture("clusters", "hci-prod-01.json")

    def read_cluster_vms(cli_ctx, cluster, credential=None):
        del cli_ctx, credential
        state.calls.append(("vms", cluster.name))
        return state.vms

    def read_graph_vms(cli_ctx, cluster, credential=None, client=None):
        del client
        read = read_cluster_vms(cli_ctx, cluster, credential)
        return resourcegraph.VmRead(read, resourcegraph.SOURCE_GRAPH, from_graph=frozenset(
            vm.machine["id"].lower() for vm in read.vms if vm.instance is not None))

    def list_clusters(cli_ctx, subscription_id, resource_group=None, credential=None):
        del cli_ctx, credential
        state.calls.append(("list", subscription_id, resource_group))
        if state.list_error:
            raise state.list_error
        return state.clusters

    monkeypatch.setattr(arm, "get_cluster", get_cluster)
    monkeypatch.setattr(arm, "read_cluster_vms", read_cluster_vms)
    monkeypatch.setattr(arm, "list_clusters", list_clusters)
    monkeypatch.setattr(resourcegraph, "read_cluster_vms", read_graph_vms)
    monkeypatch.setattr(resourcegraph, "prefetch_cluster_vms", lambda cli_ctx, refs, credential: None)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr("azure.cli.core.commands.client_factory.get_subscription_id", lambda cli_ctx: SUB)
    return state


def by_code(view, code):
    return [finding for finding in view["findings"] if finding["reasonCode"] == code]


def test_show_reads_the_cluster_by_name(fake_arm):
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["name"] == "hci-prod-01" and view["vmSummary"]["total"] == 0
    assert fake_arm.calls == [("get", SUB, GROUP, "hci-prod-01"), ("vms", "hci-prod-01")]
    assert not by_code(view, "vms-not-readable") and not by_code(view, "vm-instances-not-readable")


def test_show_without_the_machines_list_has_a_finding_with_the_grant(fake_arm):
    fake_arm.vms = machines_forbidden()
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["vmSummary"] is None
    (finding,) = by_code(view, "vms-not-readable")
    assert arm.PERMISSION_MACHINES in finding["reason"] and finding["severity"] == "warning"
    assert finding["action"] == "Grant read access"
    assert finding["command"] == "az role assignment create --assignee {} --role Reader --scope /subscriptions/{}" \
        .format(OBJECT_ID, SUB)


def test_show_counts_unreadable_instances_and_keeps_the_summary(fake_arm):
    fake_arm.vms = instances_forbidden()
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["vmSummary"]["total"] == 3
    (finding,) = by_code(view, "vm-instances-not-readable")
    assert finding["reason"].startswith("3 of 3 Azure Local VM instances")
    assert arm.PERMISSION_INSTANCES in finding["reason"]
    assert finding["command"].endswith("--scope /subscriptions/{}/resourceGroups/{}".format(SUB, GROUP))


def test_show_by_ids_gives_one_view_per_cluster(fake_arm):
    cluster = fixture("clusters", "hci-prod-01.json")["id"]
    views = custom.show_cluster_verification(CMD, ids=[cluster, cluster])
    assert isinstance(views, list) and len(views) == 2


def test_vm_list_without_machines_or_host_facts_raises_the_read_error(fake_arm):
    fake_arm.vms = machines_forbidden()
    with pytest.raises(azclierror.ForbiddenError) as raised:
        custom.list_vm_verification(CMD, "hci-prod-01", GROUP)
    assert arm.PERMISSION_MACHINES in raised.value.error_msg and "clusters/read" not in raised.value.error_msg
    assert "az role assignment create" in raised.value.recommendations[0]


def test_vm_list_without_machines_keeps_the_host_facts_vms(fake_arm, caplog):
    fake_arm.vms = machines_forbidden()
    host_facts = load_host_facts([N1])
    rows = custom.list_vm_verification(CMD, "hci-prod-01", GROUP, host_facts=host_facts)
    assert len(rows) == len(host_facts[0].vms) > 0
    assert all(any(arm.PERMISSION_MACHINES in error for error in row["readErrors"]) for row in rows)
    assert any(arm.PERMISSION_MACHINES in record.getMessage() for record in caplog.records)


def test_vm_list_status_filter_is_not_an_error_when_nothing_matches(fake_arm):
    fake_arm.vms = machines_forbidden()
    rows = custom.list_vm_verification(CMD, "hci-prod-01", GROUP, host_facts=load_host_facts([N1]),
                                       status=["No such status"])
    assert rows == []


def test_vm_list_with_unreadable_instances_says_so_on_each_vm(fake_arm):
    fake_arm.vms = instances_forbidden(("ae-sql-01",))
    (row,) = custom.list_vm_verification(CMD, "hci-prod-01", GROUP)
    assert row["name"] == "ae-sql-01" and any(arm.PERMISSION_INSTANCES in error for error in row["readErrors"])


def test_vm_show_finds_a_host_facts_vm_without_the_machines_list(fake_arm):
    fake_arm.vms = machines_forbidden()
    host_facts = load_host_facts([N1])
    name = host_facts[0].vms[0]["name"]
    view = custom.show_vm_verification(CMD, name.upper(), "hci-prod-01", GROUP, host_facts=host_facts)
    assert view["name"] == name and any(arm.PERMISSION_MACHINES in error for error in view["readErrors"])


def test_vm_show_of_an_unseen_vm_raises_the_read_error_not_not_found(fake_arm):
    fake_arm.vms = machines_forbidden()
    with pytest.raises(azclierror.ForbiddenError):
        custom.show_vm_verification(CMD, "nope", "hci-prod-01", GROUP)


def test_vm_show_not_found_recommends_vm_list(fake_arm):
    del fake_arm
    with pytest.raises(azclierror.ResourceNotFoundError) as raised:
        custom.show_vm_verification(CMD, "nope", "hci-prod-01", GROUP)
    assert raised.value.error_msg == "VM 'nope' was not found on cluster 'hci-prod-01' (resource group '{}')." \
        .format(GROUP)
    assert raised.value.recommendations == [
        "List its VMs with `az stack-hci vm-verification vm list -n hci-prod-01 -g {}`.".format(GROUP)]


def test_cluster_list_is_sorted_by_group_then_name(fake_arm):
    first = fixture("clusters", "hci-prod-01.json")
    second = json.loads(json.dumps(first).replace("hci-prod-01", "alpha").replace(GROUP, "rg-a"))
    fake_arm.clusters = [first, second]
    views = custom.list_cluster_verification(CMD)
    assert [view["name"] for view in views] == ["alpha", "hci-prod-01"]
    assert fake_arm.calls == [("list", SUB, None)]


def test_cluster_list_errors_pass_through(fake_arm):
    read = arm.ArmRead("The clusters of subscription '{}'".format(SUB), "/subscriptions/" + SUB,
                       arm.PERMISSION_CLUSTERS, timeout=20.0)
    fake_arm.list_error = arm.translate_error(ServiceResponseTimeoutError("Response timeout"), read)
    with pytest.raises(azclierror.AzureConnectionError):
        custom.list_cluster_verification(CMD, GROUP)


def test_show_of_several_reports_the_one_it_cannot_read_and_returns_the_others(fake_arm, monkeypatch):
    fake_arm.missing = {"gone"}
    ids = ["/subscriptions/{}/resourceGroups/rg/providers/Microsoft.AzureStackHCI/clusters/{}".format(SUB, name)
           for name in ("hci-prod-01", "gone")]
    monkeypatch.setattr(custom, "_command_credential", lambda cmd, refs: None)
    views = custom.show_cluster_verification(CMD, ids=ids)
    assert [view["name"] for view in views] == ["hci-prod-01", "gone"]
    gone = views[1]
    assert (gone["hostStatus"], gone["reasonCode"]) == ("Unknown", "cluster-not-readable")
    assert gone["findings"][0]["action"] == "Check the cluster's name"
    assert gone["findings"][0]["command"] == "az stack-hci vm-verification list -g rg"
    fake_arm.missing = {"hci-prod-01", "gone"}
    with pytest.raises(azclierror.ResourceNotFoundError):
        custom.show_cluster_verification(CMD, ids=ids)
