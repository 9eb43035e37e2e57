# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Which machines are a cluster's VMs, how ARM and host VMs pair, and the verdicts on them."""

from datetime import datetime, timezone

from azext_stack_hci_verify.core import clusters, inventory, vocabulary as v
from azext_stack_hci_verify.core.hostfacts import host_facts_from_document

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
SUB = "11111111-1111-1111-1111-111111111111"
CLUSTER_ID = "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.AzureStackHCI/clusters/c1".format(SUB)
NODE_ID = "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/N1".format(SUB)
HV1 = "6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b0001"


def cluster_verdict(imds="Enabled"):
    document = {"id": CLUSTER_ID, "name": "c1", "properties": {
        "status": "ConnectedRecently", "connectivityStatus": "Connected", "lastSyncTimestamp": "2026-11-21T00:00:00Z",
        "reportedProperties": {"imdsAttestation": imds, "supportedCapabilities": ["LegacyOsSupport"],
                               "nodes": [{"name": "N1", "ehcResourceId": NODE_ID}]}}}
    return clusters.evaluate_cluster(clusters.cluster_facts_from_arm(document), [], NOW)


def machine(name, kind="HCI", parent=CLUSTER_ID, os_name="Windows Server 2022 Datacenter: Azure Edition",
            version="10.0.20348.2402"):
    return {"id": "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/{}".format(SUB, name),
            "name": name, "kind": kind, "type": "Microsoft.HybridCompute/machines",
            "properties": {"parentClusterResourceId": parent, "osName": os_name, "osVersion": version}}


def instance(name, hyperv_id, node="N1"):
    return {"id": machine(name)["id"] + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
            "name": "default", "type": "Microsoft.AzureStackHCI/virtualMachineInstances",
            "properties": {"hyperVVmId": hyperv_id, "hostNodeName": node, "status": {"powerState": "Running"}}}


def host(vms):
    return host_facts_from_document({"schemaVersion": 1, "computerName": "N1", "vms": vms}, "n1.json")


def test_is_cluster_vm():
    facts = cluster_verdict().facts
    assert inventory.is_cluster_vm(machine("vm1"), facts)
    assert inventory.is_cluster_vm(machine("vm1", kind="hci", parent=CLUSTER_ID.upper()), facts)
    assert not inventory.is_cluster_vm(machine("vm1", kind="AzureStackHCI"), facts)
    assert not inventory.is_cluster_vm(machine("vm1", parent=CLUSTER_ID + "2"), facts)
    assert not inventory.is_cluster_vm(dict(machine("N1"), id=NODE_ID), facts)    # a server, not a VM
    assert not inventory.is_cluster_vm({"id": "x"}, facts) and not inventory.is_cluster_vm(None, facts)


def test_pairs_by_hyperv_id_then_name_and_keeps_host_only_vms():
    arm = [inventory.ArmVm(machine("vm1"), instance("vm1", HV1), None),
           inventory.ArmVm(machine("vm2"), None, None)]
    facts = [host([{"name": "renamed-in-hyperv", "vmId": HV1.upper(), "guestServiceInterface": True,
                    "dataExchange": True, "legacyNetworking": False, "generation": 2},
                   {"name": "VM2", "guestServiceInterface": False, "dataExchange": True},
                   {"name": "local-only", "guestServiceInterface": True, "dataExchange": True,
                    "guestOs": {"name": "Ubuntu", "version": "22.04"}}])]
    judged = {item.facts.name: item for item in inventory.judge_vms(cluster_verdict(), arm, facts)}
    assert set(judged) == {"local-only", "renamed-in-hyperv", "VM2"}   # the host's names win
    assert judged["renamed-in-hyperv"].verdict.benefit_status == v.BENEFITS_ACTIVE
    assert judged["VM2"].verdict.action == v.ACTION_TURN_ON_GSI
    assert judged["local-only"].machine_id is None
    assert judged["local-only"].verdict.benefit_status == v.BENEFITS_NOT_APPLICABLE


def test_arm_error_is_reported_on_the_vm():
    arm = [inventory.ArmVm(machine("vm1"), None, "ARM answered 404 for its virtualMachineInstances/default")]
    view = inventory.judge_vms(cluster_verdict(), arm, [])[0].view(detail=True)
    assert "could not be read: ARM answered 404" in view["reason"]
    assert view["armResourceId"].endswith("/machines/vm1")


def test_install_updates_commands():
    arm = [inventory.ArmVm(machine("old", version="10.0.20348.2340"), instance("old", HV1), None)]
    judged = inventory.judge_vms(cluster_verdict(), arm, [])
    assert judged[0].verdict.action == v.ACTION_INSTALL_UPDATES
    assert judged[0].verdict.command.startswith("Install-AzConnectedMachinePatch -ResourceGroupName 'rg' -Name 'old'")
    local = inventory.judge_vms(cluster_verdict(), [], [host([{
        "name": "it's", "vmId": HV1, "guestServiceInterface": True, "dataExchange": True,
        "guestOs": {"name": "Windows Server 2022 Datacenter: Azure Edition", "version": "10.0.20348.2401"}}])])
    assert local[0].verdict.command.startswith("Invoke-Command -VMId '{}' ".format(HV1))
    assert inventory.install_updates_command(None, None) is None


def test_install_updates_command_names_the_subscription():
    # A fleet spans subscriptions: the command must not depend on the caller's current Az context.
    command = inventory.install_updates_command(machine("old")["id"])
    assert command.endswith("-SubscriptionId '{}'".format(SUB))


def test_vm_summary_counts():
    arm = [inventory.ArmVm(machine("a"), instance("a", HV1), None),
           inventory.ArmVm(machine("b", os_name="linux", version="5.15"), None, None)]
    facts = [host([{"name": "a", "vmId": HV1, "guestServiceInterface": True, "dataExchange": True}])]
    summary = inventory.vm_summary(inventory.judge_vms(cluster_verdict(), arm, facts))
    assert summary["activeBenefits"] == 1 and summary["noApplicableBenefits"] == 1 and summary["total"] == 2


def test_host_attestation_off_makes_eligible_vms_inactive():
    arm = [inventory.ArmVm(machine("a"), instance("a", HV1), None)]
    facts = [host([{"name": "a", "vmId": HV1, "guestServiceInterface": True, "dataExchange": True}])]
    verdict = inventory.judge_vms(cluster_verdict(imds="Disabled"), arm, facts)[0].verdict
    assert (verdict.benefit_status, verdict.action, verdict.command) == (
        v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)
