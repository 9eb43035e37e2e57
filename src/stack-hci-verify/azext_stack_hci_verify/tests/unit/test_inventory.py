# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A cluster's VMs end to end through the pure rules: ARM machines paired with host-reported VMs,
judged with the cluster verdict; the "Wrong answers seen" of issue 7; the VM views; and the same
answer for every order of the host-facts files."""

import itertools
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st

from azext_stack_hci_verify.core import clusters, inventory, vocabulary as v
from azext_stack_hci_verify.core.vmviews import summarize

from .core_fixtures import (AE, AE_2022, AVD, CLUSTER_ID, ESU, HV1, NOW, SUB, W10_MS, WS2012R2, arm_cluster, evaluate,
                            has_control, host, host_document, host_vm, node_arc_id)

PROBE = "az stack-hci vm-verification probe"
HV2 = "6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b0002"


def machine(name, kind="HCI", parent=CLUSTER_ID, os_name="windows", os_sku=AE_2022, version="10.0.20348.2402"):
    return {"id": node_arc_id(name), "name": name, "kind": kind, "type": "Microsoft.HybridCompute/machines",
            "properties": {"parentClusterResourceId": parent, "osName": os_name, "osSku": os_sku,
                           "osVersion": version}}


def instance(name, hyperv_id=None, node="NODE1"):
    return {"id": node_arc_id(name) + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
            "name": "default", "type": "Microsoft.AzureStackHCI/virtualMachineInstances",
            "properties": {"hyperVVmId": hyperv_id, "hostNodeName": node, "status": {"powerState": "Running"}}}


def arm_vm(name, hyperv_id=None, node="NODE1", **machine_kwargs):
    return inventory.ArmVm(machine(name, **machine_kwargs), instance(name, hyperv_id, node), None)


def judge(cluster_document, files=(), arm_vms=()):
    verdict = evaluate(cluster_document, files)
    return verdict, {item.facts.name: item for item in inventory.judge_vms(verdict, list(arm_vms))}


def status(item):
    return item.verdict.benefit_status, item.verdict.action, item.verdict.command


# ----------------------------------------------------------------------------- which machines are VMs, pairing

def test_is_cluster_vm():
    facts = clusters.cluster_facts_from_arm(arm_cluster())
    assert inventory.is_cluster_vm(machine("vm1"), facts)
    assert inventory.is_cluster_vm(machine("vm1", kind="hci", parent=CLUSTER_ID.upper()), facts)
    assert not inventory.is_cluster_vm(machine("vm1", kind="AzureStackHCI"), facts)
    assert not inventory.is_cluster_vm(machine("vm1", parent=CLUSTER_ID + "2"), facts)
    assert not inventory.is_cluster_vm(machine("NODE1"), facts)          # a server of the cluster, not a VM
    assert not inventory.is_cluster_vm({"id": "x"}, facts) and not inventory.is_cluster_vm(None, facts)


def test_pairs_by_hyper_v_id_then_name_and_keeps_host_only_vms():
    files = [host_document("NODE1", vms=[
        host_vm("renamed-in-hyperv", vm_id=HV1.upper()),
        host_vm("VM2", vm_id=HV2, gsi=False),
        host_vm("local-only", vm_id="6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b0003", os_name="Ubuntu", version="22.04")])]
    _, judged = judge(arm_cluster(), files, [arm_vm("vm1", HV1), inventory.ArmVm(machine("vm2"), None, None)])
    assert set(judged) == {"renamed-in-hyperv", "VM2", "local-only"}      # the host's names win
    assert judged["renamed-in-hyperv"].verdict.benefit_status == v.BENEFITS_ACTIVE
    assert judged["renamed-in-hyperv"].machine_id == node_arc_id("vm1")
    assert judged["VM2"].verdict.action == v.ACTION_TURN_ON_GSI
    assert judged["local-only"].machine_id is None
    assert judged["local-only"].verdict.benefit_status == v.BENEFITS_NOT_APPLICABLE


def test_an_unreadable_instance_is_said_on_the_vm():
    verdict = evaluate(arm_cluster())
    arm = [inventory.ArmVm(machine("vm1"), None, "ARM answered 403 for its virtualMachineInstances/default")]
    view = inventory.judge_vms(verdict, arm)[0].view(detail=True)
    assert any("could not be read" in error and "403" in error for error in view["readErrors"])
    assert view["armResourceId"] == node_arc_id("vm1")


def test_install_updates_commands():
    _, judged = judge(arm_cluster(), (), [arm_vm("old", HV1, version="10.0.20348.2340")])
    assert status(judged["old"])[:2] == (v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES)
    assert judged["old"].verdict.command.startswith(
        "Install-AzConnectedMachinePatch -ResourceGroupName 'local-rg' -Name 'old'")
    assert judged["old"].verdict.command.endswith("-SubscriptionId '{}'".format(SUB))
    _, judged = judge(arm_cluster(), [host_document("NODE1", vms=[host_vm("it's", version="10.0.20348.2401")])])
    assert judged["it's"].verdict.command.startswith("Invoke-Command -VMId '{}' ".format(HV1))


# ----------------------------------------------------------------------------- issue 7: wrong answers seen

def test_expired_host_row_beside_a_40_day_old_sync_makes_the_vm_inactive():
    files = [host_document("NODE1", status="Active", expiration=NOW - timedelta(days=10), vms=[host_vm("vm01")])]
    verdict, judged = judge(arm_cluster(last_sync=NOW - timedelta(days=40)), files, [arm_vm("vm01", HV1)])
    assert next(s for s in verdict.servers if s.name == "NODE1").status == v.SERVER_EXPIRED
    assert status(judged["vm01"]) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert judged["vm01"].verdict.eligible_benefit == AE


@pytest.mark.parametrize("arm", [dict(), dict(last_sync="unreadable"), dict(reported=False, last_sync=None)])
def test_a_file_collected_60_days_ago_cannot_make_a_vm_active(arm):
    files = [host_document("NODE1", status="Active", expiration=NOW + timedelta(days=5),
                           collected=NOW - timedelta(days=60), vms=[host_vm("vm01"), host_vm(
                               "legacy", vm_id=HV2, os_name=W10_MS, version="10.0.19045.4291", gsi=False, nic=True)])]
    verdict, judged = judge(arm_cluster(**arm), files, [arm_vm("vm01", HV1)])
    assert judged
    for item in judged.values():
        assert item.verdict.benefit_status != v.BENEFITS_ACTIVE, item.verdict.reason
        assert item.verdict.action and item.verdict.command
    assert v.REASON_HOST_FACTS_STALE in [item["reasonCode"] for item in verdict.findings]


def test_another_systems_file_does_not_join_the_cluster():
    other = host(host_document("OTHER1", cluster="OtherCluster", imds="Disabled",
                               vms=[host_vm("intruder", vm_id=HV2), host_vm("vm01", gsi=False)]), "other.json")
    verdict, judged = judge(arm_cluster(), [other], [arm_vm("vm01", HV1)])
    assert set(judged) == {"vm01"} and verdict.host.value == v.ON
    assert judged["vm01"].facts.guest_service_interface is None         # not the other system's False
    assert "other.json" in [item["name"] for item in verdict.findings]


def _views(cluster_document, files, arm_vms):
    verdict = evaluate(cluster_document, files)
    judged = inventory.judge_vms(verdict, list(arm_vms))
    return (json.dumps(clusters.cluster_view(verdict, inventory.vm_summary(judged)), sort_keys=True),
            json.dumps([item.view(detail=True) for item in judged], sort_keys=True))


def test_two_files_that_disagree_give_the_same_answer_in_both_orders():
    files = [host_document("NODE1", imds="Disabled", vms=[host_vm("vm01")]),
             host_document("NODE2", imds="Enabled", vms=[host_vm("vm02", vm_id=HV2)])]
    forward, backward = _views(arm_cluster(), files, []), _views(arm_cluster(), files[::-1], [])
    assert forward == backward
    view = json.loads(forward[0])
    assert view["hostStatus"] == v.OFF and any(item.get("fact") == "imdsAttestation" for item in view["conflicts"])
    assert {item["benefitStatus"] for item in json.loads(forward[1])} == {v.BENEFITS_INACTIVE}


@pytest.mark.parametrize("capabilities", [[], ["ArcVmManagement"], None])
def test_undocumented_capabilities_never_tell_v1_vms_to_turn_on_legacy_os_support(capabilities):
    arm_vms = [arm_vm("avd", HV1, os_sku=W10_MS, version="10.0.19045.4291"),
               arm_vm("esu", HV2, os_sku=WS2012R2, version="6.3.9600.21620", node="NODE2")]
    verdict, judged = judge(arm_cluster(capabilities=capabilities), (), arm_vms)
    assert verdict.legacy.value == v.UNKNOWN
    for name, benefit, server in (("avd", AVD, "NODE1"), ("esu", ESU, "NODE2")):
        item = judged[name].verdict
        assert item.eligible_benefit == benefit and item.action != v.ACTION_TURN_ON_LEGACY_OS_SUPPORT
        assert (item.benefit_status, item.action) == (v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS)
        assert item.command.startswith(PROBE) and server in item.command


def test_unrecognized_imds_attestation_is_unknown_with_the_value_never_install_updates():
    arm_vms = [arm_vm("current", HV1), arm_vm("old", HV2, version="10.0.20348.100"),
               arm_vm("avd", "6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b0003", os_sku=W10_MS, version="10.0.19045.100")]
    _, judged = judge(arm_cluster(imds="PartiallyEnabled"), (), arm_vms)
    assert len(judged) == len(arm_vms)
    for item in judged.values():
        assert item.verdict.benefit_status == v.BENEFITS_UNKNOWN
        assert item.verdict.reason_code == v.REASON_UNRECOGNIZED_VALUE and "PartiallyEnabled" in item.verdict.reason
        assert item.verdict.action not in (None, v.ACTION_INSTALL_UPDATES) and item.verdict.command


def test_registered_cluster_without_reported_properties_makes_vms_inactive_with_sync():
    arm_vms = [arm_vm("current", HV1), arm_vm("old", HV2, version="10.0.20348.100")]
    _, judged = judge(arm_cluster(reported=False), (), arm_vms)
    assert len(judged) == len(arm_vms)
    for item in judged.values():
        assert status(item) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)


def _realistic_arm_vms():
    specs = [("ae1", AE_2022, "10.0.20348.2402", "NODE1"), ("ae2", AE_2022, "10.0.20348.1000", "NODE2"),
             ("ae2025", "Windows Server 2025 Datacenter: Azure Edition", "10.0.26100.1742", "NODE2"),
             ("avd10", W10_MS, "10.0.19045.4291", "NODE1"), ("avd10old", W10_MS, "10.0.19042.1288", "NODE2"),
             ("avd11", "Windows 11 Enterprise multi-session", "10.0.22631.3447", "NODE1"),
             ("esu", WS2012R2, "6.3.9600.21620", "NODE2"), ("linux", "Ubuntu 22.04", "5.15", "NODE1"),
             ("ws2019", "Windows Server 2019 Datacenter", "10.0.17763.1", "NODE2"), ("bare", None, None, "NODE1")]
    return [arm_vm(name, "6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b{:04d}".format(index), node=node, os_sku=sku,
                   version=version, os_name="windows" if sku else None)
            for index, (name, sku, version, node) in enumerate(specs)]


@pytest.mark.parametrize("capabilities", [["LegacyOsSupport"], []])
def test_without_host_files_every_unknown_vm_is_told_to_collect_host_facts_on_its_server(capabilities):
    _, judged = judge(arm_cluster(capabilities=capabilities), (), _realistic_arm_vms())
    unknown = [item for item in judged.values() if item.verdict.benefit_status == v.BENEFITS_UNKNOWN]
    assert unknown
    for item in judged.values():
        verdict = item.verdict
        if verdict.benefit_status in (v.BENEFITS_ACTIVE, v.BENEFITS_NOT_APPLICABLE):
            assert (verdict.action, verdict.command) == (None, None)
            continue
        assert verdict.action and verdict.command and verdict.reason_code
        if verdict.benefit_status == v.BENEFITS_UNKNOWN:
            assert verdict.action == v.ACTION_COLLECT_HOST_FACTS, (item.facts.name, verdict.reason)
            assert verdict.command.startswith(PROBE) and item.facts.server in verdict.command
    assert judged["ae2025"].verdict.eligible_benefit == AE
    assert judged["avd10old"].verdict.action == v.ACTION_INSTALL_UPDATES
    assert "feature update" in judged["avd10old"].verdict.reason.lower()


def test_windows_server_2025_azure_edition_gets_active_benefits_with_host_facts():
    files = [host_document(node, vms=[host_vm("ae2025", vm_id=HV2,
                                              os_name="Windows Server 2025 Datacenter: Azure Edition",
                                              version="10.0.26100.1742")] if node == "NODE2" else [])
             for node in ("NODE1", "NODE2")]
    _, judged = judge(arm_cluster(), files, [])
    assert (judged["ae2025"].verdict.eligible_benefit, judged["ae2025"].verdict.benefit_status) == (
        AE, v.BENEFITS_ACTIVE)


def test_the_hosts_data_exchange_os_wins_over_arms_os_sku():
    files = [host_document("NODE1", vms=[host_vm("vm01", os_name=AE_2022, version="10.0.20348")])]
    arm = [arm_vm("vm01", HV1, os_sku="Windows Server 2022 Datacenter")]
    _, judged = judge(arm_cluster(), files, arm)
    item = judged["vm01"]
    assert (item.verdict.eligible_benefit, item.verdict.benefit_status) == (AE, v.BENEFITS_ACTIVE)
    assert item.view()["guestOs"] == AE_2022


def test_windows11_that_data_exchange_calls_windows10_is_shown_as_windows11():
    files = [host_document("NODE1", vms=[host_vm("w11", os_name=W10_MS, version="10.0.22631.3447")])]
    _, judged = judge(arm_cluster(), files, [])
    view = judged["w11"].view()
    assert view["guestOs"] == "Windows 11 Enterprise multi-session"
    assert (view["eligibleBenefit"], view["benefitStatus"], view["accessMethod"]) == (AVD, v.BENEFITS_ACTIVE, "v2")


def test_access_method_is_what_the_os_needs_and_the_paths_set_up_are_listed_apart():
    files = [host_document("NODE1", vms=[host_vm("avd", os_name=W10_MS, version="10.0.19045.4291", gsi=True,
                                                 nic=True)])]
    _, judged = judge(arm_cluster(), files, [])
    view = judged["avd"].view()
    assert (view["benefitStatus"], view["accessMethod"], view["accessPaths"]) == (
        v.BENEFITS_ACTIVE, v.ACCESS_V1, [v.ACCESS_V2, v.ACCESS_V1])


def test_legacy_os_support_off_on_one_server_is_fixed_on_that_server():
    files = [host_document("NODE1", legacy="Enabled"),
             host_document("NODE2", legacy="Disabled", vms=[host_vm("esu", os_name=WS2012R2, version="6.3.9600",
                                                                    gsi=False, nic=True)])]
    _, judged = judge(arm_cluster(), files, [])
    assert status(judged["esu"]) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_LEGACY_OS_SUPPORT,
                                     "Enable-AzStackHCIAttestation -ComputerName 'NODE2'")


def test_generation1_vm_already_off_is_not_stopped():
    files = [host_document("NODE1", vms=[host_vm("old", os_name=WS2012R2, version="6.3.9600", gsi=False, nic=False,
                                                 generation=1, state="Off")])]
    _, judged = judge(arm_cluster(), files, [])
    verdict = judged["old"].verdict
    assert (verdict.action, verdict.command) == (v.ACTION_SET_UP_LEGACY_NETWORKING,
                                                 "Add-AzStackHCIVMAttestation -VMName 'old'")
    assert "Stop-VM" not in verdict.reason


def test_a_vm_name_with_a_newline_keeps_its_command_one_line_in_the_view():
    name = "vm\nRemove-VM -Name * -Force #"
    files = [host_document("NODE1", vms=[host_vm(name, gsi=False)])]
    _, judged = judge(arm_cluster(), files, [])
    view = judged[name].view()
    assert view["action"] == v.ACTION_TURN_ON_GSI
    assert not has_control(view["command"]) and "\n" not in view["command"]
    assert view["command"].startswith("Enable-VMIntegrationService -VMName ('vm' + [char]0x000A + 'Remove-VM -Name `*")


# ----------------------------------------------------------------------------- views

def test_vm_view_fields():
    files = [host_document("NODE1", vms=[host_vm("vm01", gsi=False)])]
    _, judged = judge(arm_cluster(), files, [arm_vm("vm01", HV1)])
    row = judged["vm01"].view()
    for key in ("name", "server", "guestOs", "osBuild", "eligibleBenefit", "benefitStatus", "action", "command",
                "accessMethod", "accessPaths", "guestServiceInterface", "dataExchange", "legacyNetworking",
                "generation", "reasonCode", "reason", "sources"):
        assert key in row, key
    assert row["osBuild"] == "20348.2402" and row["server"] == "NODE1"
    assert row["command"] == 'Enable-VMIntegrationService -VMName \'vm01\' -Name "Guest Service Interface"'
    assert {"fact": "guestServiceInterface", "source": "host"} in row["sources"]
    detail = judged["vm01"].view(detail=True)
    assert set(row) < set(detail)
    assert isinstance(detail["conflicts"], list) and isinstance(detail["steps"], list)
    json.dumps(detail)


def test_summarize():
    _, judged = judge(arm_cluster(), [host_document("NODE1", vms=[
        host_vm("a"), host_vm("b", vm_id=HV2, gsi=False), host_vm("c", vm_id="c", os_name="Ubuntu", version="22"),
        host_vm("d", vm_id="d", os_name=None, exchange=False)])], [])
    summary = inventory.vm_summary(list(judged.values()))
    benefits = {row["offer"]: row for row in summary.pop("benefits")}
    assert summary == {"activeBenefits": 1, "inactiveBenefits": 1, "unknown": 1, "noApplicableBenefits": 1, "total": 4}
    # Host-only VMs: no Arc machine is known, so Update Manager cannot be told for any of them.
    assert benefits["update-manager"]["unknown"] == 4 and benefits["update-manager"]["total"] == 4
    assert summarize([{"benefitStatus": "Active benefits"}, {"benefitStatus": "something new"}]) == {
        "activeBenefits": 1, "inactiveBenefits": 0, "unknown": 1, "noApplicableBenefits": 0, "total": 2}


# ----------------------------------------------------------------------------- the order of the files never matters

_ROW = st.fixed_dictionaries({
    "node": st.sampled_from(["NODE1", "NODE2", "node1.contoso.local", "OTHER1"]),
    "cluster": st.sampled_from(["LocalCluster", "LocalCluster", "OtherCluster"]),
    "imds": st.sampled_from(["Enabled", "Disabled", "PartiallyEnabled", None]),
    "status": st.sampled_from(["Active", "Expired", "Error", "Pending"]),
    "legacy": st.sampled_from(["Enabled", "Disabled", None]),
    "age": st.sampled_from([timedelta(hours=1), timedelta(hours=1), timedelta(days=3), timedelta(days=60),
                            -timedelta(days=2), None]),
    "expiry": st.sampled_from([timedelta(days=20), -timedelta(days=10)]),
    "gsi": st.sampled_from([True, False, None]),
    "nic": st.sampled_from([True, False]),
    "os": st.sampled_from([(AE_2022, "10.0.20348.2402"), (W10_MS, "10.0.19045.4291"), (WS2012R2, "6.3.9600"),
                           (None, None)]),
})


def _file(index, spec):
    collected = NOW - spec["age"] if spec["age"] is not None else None
    vms = [host_vm("vm01", os_name=spec["os"][0], version=spec["os"][1], gsi=spec["gsi"], nic=spec["nic"]),
           host_vm("vm-{}".format(index), vm_id="6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b10{:02d}".format(index))]
    return host(host_document(spec["node"], cluster=spec["cluster"], imds=spec["imds"], status=spec["status"],
                              legacy=spec["legacy"], collected=collected, expiration=NOW + spec["expiry"], vms=vms),
                "file{}.json".format(index))


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(_ROW, min_size=2, max_size=4), arm=st.sampled_from([
    dict(), dict(imds="Disabled"), dict(last_sync=NOW - timedelta(days=40)), dict(capabilities=[]),
    dict(reported=False)]))
def test_the_answer_is_the_same_for_every_order_of_the_host_facts_files(specs, arm):
    files = [_file(index, spec) for index, spec in enumerate(specs)]
    arm_vms = [arm_vm("vm01", HV1), arm_vm("vm02", HV2, node="NODE2")]
    first = _views(arm_cluster(**arm), files, arm_vms)
    for order in itertools.permutations(files):
        assert _views(arm_cluster(**arm), list(order), arm_vms) == first


def test_vm_findings_are_the_benefit_findings_only():
    """Trusted launch findings are the Trusted launch verdicts' (core.report), not the VMs' benefit
    findings: a VM whose instance contradicts its security type has no extra finding here."""
    machine_doc, instance_doc = arm_vm("tl01")[:2]
    instance_doc["properties"]["securityProfile"] = {
        "securityType": "TrustedLaunch", "enableTPM": False, "uefiSettings": {"secureBootEnabled": False}}
    _, by_name = judge(arm_cluster(), arm_vms=[inventory.ArmVm(machine_doc, instance_doc, None)])
    assert "trustedLaunch" not in by_name["tl01"].view(detail=True)
    assert {f["scope"] for f in inventory.vm_findings(list(by_name.values()))} <= {"vm", "benefit"}
