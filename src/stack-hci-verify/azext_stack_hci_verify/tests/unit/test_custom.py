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
from azext_stack_hci_verify.adapters import arm
from azext_stack_hci_verify.adapters.files import load_host_facts

from .arm_fakes import OBJECT_ID, denied, http_error
from .fake_connection import FakeConnection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
FLEET = os.path.join(SAMPLE, "rg-hci-prod-eastus")
N1 = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts", "AZL-PROD-01-N1.json")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)          # the fixtures' reference time
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"
CMD = SimpleNamespace(cli_ctx=None)
GRAPH_REFUSED = http_error(403, denied("Microsoft.ResourceGraph/resources/read", "/subscriptions/" + SUB))


def fixture(*parts):
    with open(os.path.join(FLEET, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def forbidden(permission, scope):
    return http_error(403, denied(permission, scope))


@pytest.fixture(name="fake_arm")
def fixture_fake_arm(monkeypatch):
    """The sample fleet behind a fake connection; `fake_arm.fail` makes reads fail."""
    conn = FakeConnection(SAMPLE, subscription_id=SUB)
    monkeypatch.setattr(custom, "_connection", lambda cmd, scope: conn)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr(custom, "_current_subscription", lambda cmd: SUB)
    monkeypatch.setattr(custom, "_Progress", lambda cli_ctx: None)
    return conn


def machines_forbidden(conn):
    """Resource Graph refuses, so ARM is asked, and ARM refuses the machines list."""
    conn.fail["graph-vms"] = GRAPH_REFUSED
    conn.fail["machines:" + SUB] = forbidden(arm.PERMISSION_MACHINES, "/subscriptions/" + SUB)


def instances_forbidden(conn, names=("ae-sql-01", "avd-w11-01", "lnx-db-01")):
    """Resource Graph has no instances for these VMs, and ARM refuses each."""
    for name in names:
        instance_id = fixture("machines", name + ".json")["id"] + \
            "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"
        if conn.store.get(instance_id):
            conn.store.delete(instance_id)
        conn.fail["instance:" + name] = forbidden(arm.PERMISSION_INSTANCES, instance_id)


def by_code(view, code):
    return [finding for finding in view["findings"] if finding["reasonCode"] == code]


def test_show_reads_the_cluster_by_name_and_its_vms_with_one_query(fake_arm):
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["name"] == "hci-prod-01" and view["vmSummary"]["total"] > 0
    # the one VM whose instance Resource Graph lacks (ae-web-03) is read from ARM
    assert sorted(fake_arm.calls) == ["get:hci-prod-01", "graph-vms", "instance:ae-web-03"]
    assert not by_code(view, "vms-not-readable") and view["vmsReadFrom"] == "resourceGraph+arm"


def test_show_without_the_machines_list_has_a_finding_with_the_grant(fake_arm):
    machines_forbidden(fake_arm)
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["vmSummary"] is None and view["vms"] == "not read"
    (finding,) = by_code(view, "vms-not-readable")
    assert arm.PERMISSION_MACHINES in finding["reason"] and finding["severity"] == "warning"
    assert finding["action"] == "Grant read access"
    assert finding["command"] == "az role assignment create --assignee {} --role Reader --scope /subscriptions/{}" \
        .format(OBJECT_ID, SUB)


def test_show_counts_unreadable_instances_and_keeps_the_summary(fake_arm):
    instances_forbidden(fake_arm, ("ae-sql-01", "avd-w11-01", "lnx-db-01", "ae-web-03"))
    view = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert view["vmSummary"]["total"] > 3
    (finding,) = by_code(view, "vm-instances-not-readable")
    assert "Azure Local VM instances (virtualMachineInstances/default) could not be read" in finding["reason"]
    assert arm.PERMISSION_INSTANCES in finding["reason"]
    assert finding["command"].endswith("--scope /subscriptions/{}/resourceGroups/{}".format(SUB, GROUP))


def test_show_by_ids_gives_one_view_per_cluster(fake_arm):
    cluster = fixture("clusters", "hci-prod-01.json")["id"]
    views = custom.show_cluster_verification(CMD, ids=[cluster, cluster])
    assert isinstance(views, list) and len(views) == 2


def test_vm_list_without_machines_or_host_facts_raises_the_read_error(fake_arm):
    machines_forbidden(fake_arm)
    with pytest.raises(azclierror.ForbiddenError) as raised:
        custom.list_vm_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP)
    assert arm.PERMISSION_MACHINES in raised.value.error_msg and "clusters/read" not in raised.value.error_msg
    assert "az role assignment create" in raised.value.recommendations[0]


def test_vm_list_without_machines_keeps_the_host_facts_vms(fake_arm, caplog):
    machines_forbidden(fake_arm)
    host_facts = load_host_facts([N1])
    rows = custom.list_vm_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP,
                                       host_facts=host_facts)
    assert len(rows) == len(host_facts[0].vms) > 0
    assert all(any(arm.PERMISSION_MACHINES in error for error in row["readErrors"]) for row in rows)
    assert any(arm.PERMISSION_MACHINES in record.getMessage() for record in caplog.records)


def test_vm_list_status_filter_is_not_an_error_when_nothing_matches(fake_arm):
    machines_forbidden(fake_arm)
    rows = custom.list_vm_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP,
                                       host_facts=load_host_facts([N1]),
                                       status=["No such status"])
    assert rows == []


def test_vm_list_with_unreadable_instances_says_so_on_each_vm(fake_arm):
    instances_forbidden(fake_arm, ("ae-sql-01",))
    rows = custom.list_vm_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP)
    (row,) = [row for row in rows if row["name"] == "ae-sql-01"]
    assert row["name"] == "ae-sql-01" and any(arm.PERMISSION_INSTANCES in error for error in row["readErrors"])
    assert row["readFrom"] == "arm" and len(rows) > 1


def test_vm_show_finds_a_host_facts_vm_without_the_machines_list(fake_arm):
    machines_forbidden(fake_arm)
    host_facts = load_host_facts([N1])
    name = host_facts[0].vms[0]["name"]
    view = custom.show_vm_verification(CMD, vm_name=name.upper(), cluster_name="hci-prod-01",
                                       resource_group_name=GROUP, host_facts=host_facts)
    assert view["name"] == name and any(arm.PERMISSION_MACHINES in error for error in view["readErrors"])


def test_vm_show_of_an_unseen_vm_raises_the_read_error_not_not_found(fake_arm):
    machines_forbidden(fake_arm)
    with pytest.raises(azclierror.ForbiddenError):
        custom.show_vm_verification(CMD, vm_name="nope", cluster_name="hci-prod-01", resource_group_name=GROUP)


def test_vm_show_not_found_recommends_vm_list(fake_arm):
    del fake_arm
    with pytest.raises(azclierror.ResourceNotFoundError) as raised:
        custom.show_vm_verification(CMD, vm_name="nope", cluster_name="hci-prod-01", resource_group_name=GROUP)
    assert raised.value.error_msg == "VM 'nope' was not found on cluster 'hci-prod-01' (resource group '{}')." \
        .format(GROUP)
    assert raised.value.recommendations == [
        "List its VMs with `az stack-hci vm-verification vm list -n hci-prod-01 -g {}`.".format(GROUP)]


def test_cluster_list_is_sorted_by_group_then_name_and_reads_two_queries(fake_arm):
    views = custom.list_cluster_verification(CMD)
    keys = [(view["resourceGroup"].lower(), view["name"].lower()) for view in views]
    assert keys == sorted(keys) and len(views) > 1
    assert sorted(fake_arm.calls)[:2] == ["graph-clusters", "graph-vms"]
    assert not [call for call in fake_arm.calls if call.startswith(("get:", "list-clusters:", "machines:"))]
    assert all(view["vmSummary"] is not None for view in views)


def test_cluster_list_falls_back_to_arm_where_resource_graph_cannot_serve(fake_arm):
    fake_arm.fail["graph-clusters"] = GRAPH_REFUSED
    fake_arm.fail["graph-vms"] = GRAPH_REFUSED
    views = custom.list_cluster_verification(CMD, resource_group_name=GROUP)
    assert {view["resourceGroup"].lower() for view in views} == {GROUP}
    assert "list-clusters:" + GROUP in fake_arm.calls and all(view["vmsReadFrom"] == "arm" for view in views)


def test_cluster_list_and_show_give_a_cluster_the_same_view(fake_arm):
    listed = {view["id"]: view for view in custom.list_cluster_verification(CMD, resource_group_name=GROUP)}
    shown = custom.show_cluster_verification(CMD, "hci-prod-01", GROUP)
    assert listed[shown["id"]] == shown


def test_cluster_list_errors_pass_through(fake_arm):
    fake_arm.fail["graph-clusters"] = ServiceResponseTimeoutError("Response timeout")
    with pytest.raises(azclierror.AzureConnectionError):
        custom.list_cluster_verification(CMD, resource_group_name=GROUP)


def test_show_of_several_reports_the_one_it_cannot_read_and_returns_the_others(fake_arm, monkeypatch):
    del monkeypatch
    ids = ["/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}".format(SUB, group, name)
           for group, name in ((GROUP, "hci-prod-01"), ("rg", "gone"))]
    views = custom.show_cluster_verification(CMD, ids=ids)
    assert [view["name"] for view in views] == ["hci-prod-01", "gone"]
    gone = views[1]
    assert (gone["hostStatus"], gone["reasonCode"]) == ("Unknown", "cluster-not-readable")
    assert gone["findings"][0]["action"] == "Check the cluster's name"
    assert gone["findings"][0]["command"] == "az stack-hci vm-verification list -g rg"
    fake_arm.fail["get:hci-prod-01"] = http_error(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})
    with pytest.raises(azclierror.ResourceNotFoundError):
        custom.show_cluster_verification(CMD, ids=ids)
