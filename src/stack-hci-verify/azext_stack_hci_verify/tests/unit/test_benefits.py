# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Every row of the benefits table (seed 000, "Benefits available on Azure Local"), each rule a table of
cases: SQL Server ESU, Azure Update Manager, Azure Machine Configuration (agent, IMDS), the WAC row; the
host prerequisites; bulk fixes and findings."""

from datetime import datetime, timedelta, timezone

import pytest

from azext_stack_hci_verify.core import benefits as b
from azext_stack_hci_verify.core import hostprereqs, inventory, report
from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.vmverdict import evaluate_vm, host_context

from .core_fixtures import (NOW, SUB, W10_MS, WS2012R2, arm_cluster, evaluate, host, host_document, host_vm,
                            legacy_vm_facts, vm_facts)

MACHINE = f"/subscriptions/{SUB}/resourceGroups/local-rg/providers/Microsoft.HybridCompute/machines/vm01"
WS2016 = "Windows Server 2016 Datacenter"
WS2019 = "Windows Server 2019 Datacenter"


def machine(kind="HCI", agent="1.58.03228.2572", assurance=None, sql_discovered="false", os_type="windows"):
    properties = {"agentVersion": agent, "mssqlDiscovered": sql_discovered, "osType": os_type}
    if assurance is not None:
        properties["licenseProfile"] = {"softwareAssurance": {"softwareAssuranceCustomer": assurance}}
    document = {"id": MACHINE, "name": "vm01", "location": "eastus", "properties": properties}
    if kind is not None:
        document["kind"] = kind
    return document


def sql(version, current=None, name="MSSQLSERVER"):
    return b.SqlInstance(f"{MACHINE}-{name}", name, version, current)


def context(hosts=(), server="NODE1", **cluster):
    return host_context(evaluate(arm_cluster(**cluster), hosts), server)


HEALTHY = context()


def items(vm=None, arc=None, ctx=None, now=NOW):
    vm = vm or vm_facts()
    ctx = ctx or HEALTHY
    arc = arc if arc is not None else b.arc_facts(machine(), {"properties": {}})
    return {item["offer"]: item for item in b.evaluate_benefits(vm, evaluate_vm(vm, ctx), ctx, arc, now)}


def row(offer, **kwargs):
    item = items(**kwargs).get(offer)
    return None if item is None else (item["status"], item["eligible"], item["reasonCode"], item["action"])


# ----------------------------------------------------------------------------- the WAC row

@pytest.mark.parametrize("vm, offer, status", [
    (vm_facts(), b.OFFER_AZURE_EDITION, b.ACTIVE),
    (vm_facts(guest_service_interface=False), b.OFFER_AZURE_EDITION, b.INACTIVE),
    (legacy_vm_facts(), b.OFFER_AVD, b.ACTIVE),
    (vm_facts(guest_os_name=WS2012R2, guest_os_version="6.3.9600.22267", guest_service_interface=False,
              legacy_networking=True), b.OFFER_WINDOWS_ESU, b.ACTIVE),
])
def test_the_wac_benefit_is_the_vm_verdict(vm, offer, status):
    item = items(vm=vm)[offer]
    verdict = evaluate_vm(vm, HEALTHY)
    assert item["benefit"] == verdict.eligible_benefit and item["status"] == status
    wanted = (verdict.reason_code, verdict.action, verdict.command)
    assert (item["reasonCode"], item["action"], item["command"]) == wanted
    assert item["through"] == b.THROUGH_VERIFICATION and item["accessMethod"] == verdict.access_method


def test_no_wac_row_without_a_wac_benefit():
    assert not {b.OFFER_AZURE_EDITION, b.OFFER_AVD, b.OFFER_WINDOWS_ESU} & set(
        items(vm=vm_facts(guest_os_name=WS2019, guest_os_version="10.0.17763.6532")))


# ----------------------------------------------------------------------------- SQL Server ESU

WS2016_VM = vm_facts(guest_os_name=WS2016, guest_os_version="10.0.14393.7515")
WS2012_VM = vm_facts(guest_os_name=WS2012R2, guest_os_version="6.3.9600.22267", guest_service_interface=False,
                     legacy_networking=True)


@pytest.mark.parametrize("instances, vm, now, expected", [
    # In support: nothing to get yet.
    ((sql("SQL Server 2022"),), WS2016_VM, NOW, (b.NOT_APPLICABLE, False, b.REASON_SQL_IN_SUPPORT, None)),
    ((sql("SQL Server 2016"),), WS2016_VM, datetime(2026, 7, 13, tzinfo=timezone.utc),
     (b.NOT_APPLICABLE, False, b.REASON_SQL_IN_SUPPORT, None)),
    # Out of support, in its ESU years: verified on the path the OS needs (v2 for Windows Server 2016).
    ((sql("SQL Server 2016"),), WS2016_VM, NOW, (b.ACTIVE, True, b.REASON_SQL_ESU_ACTIVE, None)),
    ((sql("SQL Server 2014"),), WS2016_VM, NOW, (b.ACTIVE, True, b.REASON_SQL_ESU_ACTIVE, None)),
    ((sql(None, "12.0.6449.1"),), WS2016_VM, NOW, (b.ACTIVE, True, b.REASON_SQL_ESU_ACTIVE, None)),
    ((sql("SQL Server 2014"),), vm_facts(guest_os_name=WS2016, guest_service_interface=False), NOW,
     (b.INACTIVE, True, "guest-service-interface-off", v.ACTION_TURN_ON_GSI)),
    # Windows Server 2012 R2 needs legacy OS support (v1), as its own ESU row does.
    ((sql("SQL Server 2014"),), WS2012_VM, NOW, (b.ACTIVE, True, b.REASON_SQL_ESU_ACTIVE, None)),
    ((sql("SQL Server 2014"),), vm_facts(guest_os_name=WS2012R2, guest_os_version="6.3.9600.22267",
                                         legacy_networking=False), NOW,
     (b.INACTIVE, True, "legacy-networking-missing", v.ACTION_SET_UP_LEGACY_NETWORKING)),
    # ESU years over: no security updates are offered at all.
    ((sql("SQL Server 2012"),), WS2012_VM, NOW, (b.INACTIVE, False, b.REASON_SQL_ESU_ENDED, b.ACTION_UPGRADE_SQL)),
    ((sql("SQL Server 2008 R2"),), WS2012_VM, NOW,
     (b.INACTIVE, False, b.REASON_SQL_ESU_ENDED, b.ACTION_UPGRADE_SQL)),
    # The oldest instance decides.
    ((sql("SQL Server 2022"), sql("SQL Server 2014", name="OLD")), WS2016_VM, NOW,
     (b.ACTIVE, True, b.REASON_SQL_ESU_ACTIVE, None)),
    ((sql("SQL Server vNext"),), WS2016_VM, NOW, (b.UNKNOWN, None, b.REASON_SQL_VERSION_UNKNOWN,
                                                  b.ACTION_CONNECT_SQL)),
])
def test_sql_server_esu(instances, vm, now, expected):
    arc = b.arc_facts(machine(sql_discovered="true"), {"properties": {}}, instances)
    assert row(b.OFFER_SQL_ESU, vm=vm, arc=arc, now=now) == expected


def test_sql_server_found_by_the_agent_but_not_arc_enabled_is_unknown():
    arc = b.arc_facts(machine(sql_discovered="true"), {"properties": {}})
    item = items(arc=arc)[b.OFFER_SQL_ESU]
    assert (item["status"], item["eligible"], item["action"]) == (b.UNKNOWN, None, b.ACTION_CONNECT_SQL)
    assert "--machine-name 'vm01'" in item["command"] and "WindowsAgent.SqlServer" in item["command"]


def test_no_sql_row_without_sql_server():
    assert b.OFFER_SQL_ESU not in items()


def test_sql_esu_on_a_host_that_is_off_is_inactive_with_the_host_fix():
    ctx = context(imds="Disabled")
    arc = b.arc_facts(machine(), {"properties": {}}, (sql("SQL Server 2014"),))
    assert row(b.OFFER_SQL_ESU, vm=WS2016_VM, arc=arc, ctx=ctx)[0] == b.INACTIVE


@pytest.mark.parametrize("version, current, name", [
    ("SQL Server 2014", None, "SQL Server 2014"), (None, "10.50.6000.34", "SQL Server 2008 R2"),
    (None, "11.0.7507.2", "SQL Server 2012"), ("Microsoft SQL Server 2019 (RTM)", None, "SQL Server 2019"),
    (None, None, None), ("SQL Server 1999", None, None),
])
def test_sql_release(version, current, name):
    release = b.sql_release(version, current)
    assert (release.name if release else None) == name


# ----------------------------------------------------------------------------- Azure Update Manager

@pytest.mark.parametrize("document, instance, expected", [
    (machine(), {"properties": {}}, (b.ACTIVE, True, b.REASON_AZURE_LOCAL_VM, None)),
    (machine(kind=None, assurance=True), None, (b.ACTIVE, True, b.REASON_SOFTWARE_ASSURANCE, None)),
    (machine(kind=None, assurance=False), None,
     (b.INACTIVE, True, b.REASON_NO_SOFTWARE_ASSURANCE, b.ACTION_ATTEST_SOFTWARE_ASSURANCE)),
    (machine(kind=None), None, (b.INACTIVE, True, b.REASON_NO_SOFTWARE_ASSURANCE,
                                b.ACTION_ATTEST_SOFTWARE_ASSURANCE)),
    (machine(kind=None, os_type="linux"), None, (b.NOT_APPLICABLE, False, b.REASON_NOT_WINDOWS_SERVER, None)),
    (None, None, (b.UNKNOWN, None, b.REASON_ARC_MACHINE_NOT_FOUND, v.ACTION_REGISTER)),
])
def test_update_manager(document, instance, expected):
    vm = vm_facts() if expected[2] != b.REASON_NOT_WINDOWS_SERVER else vm_facts(guest_os_name="Ubuntu")
    assert row(b.OFFER_UPDATE_MANAGER, vm=vm, arc=b.arc_facts(document, instance)) == expected


def test_update_manager_says_which_way_and_how_to_attest():
    item = items(arc=b.arc_facts(machine(kind=None, assurance=True), None))[b.OFFER_UPDATE_MANAGER]
    assert item["through"] == b.THROUGH_SOFTWARE_ASSURANCE
    item = items(arc=b.arc_facts(machine(kind=None, assurance=False), None))[b.OFFER_UPDATE_MANAGER]
    assert item["command"].startswith("New-AzConnectedLicenseProfile -ResourceGroupName 'local-rg' -MachineName 'vm01'")
    assert item["command"].endswith("-SoftwareAssuranceCustomer") and item["through"] is None
    assert {"fact": "softwareAssuranceCustomer", "value": False, "source": "arm"} in item["facts"]


# ----------------------------------------------------------------------------- Azure Machine Configuration

@pytest.mark.parametrize("agent, expected", [
    ("1.39.02628.1404", (b.ACTIVE, True, b.REASON_AGENT_CURRENT, None)),
    ("1.58.03228.2572", (b.ACTIVE, True, b.REASON_AGENT_CURRENT, None)),
    ("2.0.0.0", (b.ACTIVE, True, b.REASON_AGENT_CURRENT, None)),
    ("1.38.02627.1329", (b.INACTIVE, True, b.REASON_AGENT_BELOW, v.ACTION_INSTALL_UPDATES)),
    ("1.9.0", (b.INACTIVE, True, b.REASON_AGENT_BELOW, v.ACTION_INSTALL_UPDATES)),
    (None, (b.UNKNOWN, True, b.REASON_AGENT_UNKNOWN, v.ACTION_INSTALL_UPDATES)),
    ("", (b.UNKNOWN, True, b.REASON_AGENT_UNKNOWN, v.ACTION_INSTALL_UPDATES)),
])
def test_machine_configuration_needs_agent_1_39(agent, expected):
    assert row(b.OFFER_MACHINE_CONFIGURATION, arc=b.arc_facts(machine(agent=agent), {"properties": {}})) == expected


def test_agent_update_command_follows_the_guest():
    windows = items(arc=b.arc_facts(machine(agent="1.38"), {}))[b.OFFER_MACHINE_CONFIGURATION]["command"]
    linux = items(vm=vm_facts(guest_os_name="Ubuntu"), arc=b.arc_facts(machine(agent="1.38", os_type="linux"), {}))[
        b.OFFER_MACHINE_CONFIGURATION]["command"]
    assert "AzureConnectedMachineAgent.msi" in windows and "azcmagent" in linux and "msiexec" not in linux


def test_agent_version_from_the_instance_when_the_machine_has_none():
    arc = b.arc_facts(machine(agent=None), {"properties": {"guestAgentInstallStatus": {"agentVersion": "1.40.1"}}})
    assert arc.agent_version == "1.40.1"


@pytest.mark.parametrize("vm, ctx, expected", [
    (legacy_vm_facts(), HEALTHY, (b.ACTIVE, True, b.REASON_IMDS_ACTIVE, None)),
    (vm_facts(legacy_networking=False), HEALTHY,
     (b.INACTIVE, True, "legacy-networking-missing", v.ACTION_SET_UP_LEGACY_NETWORKING)),
    (legacy_vm_facts(), context(hosts=[host_document(legacy="Disabled")]),
     (b.INACTIVE, True, "legacy-os-support-off", v.ACTION_TURN_ON_LEGACY_OS_SUPPORT)),
    (vm_facts(legacy_networking=None, sources={}), HEALTHY,
     (b.UNKNOWN, True, v.REASON_HOST_FACTS_NEEDED, v.ACTION_COLLECT_HOST_FACTS)),
])
def test_machine_configuration_through_imds_needs_legacy_os_support(vm, ctx, expected):
    assert row(b.OFFER_MACHINE_CONFIGURATION_IMDS, vm=vm, ctx=ctx) == expected


# ----------------------------------------------------------------------------- host prerequisites

def _prerequisites(**values):
    document = host_document()
    document["hostPrerequisites"] = dict({"hyperVInstalled": True, "rsatHyperVToolsInstalled": True,
                                          "clusterManagerExtensionVersion": None}, **values)
    return document


@pytest.mark.parametrize("values, switch, legacy, codes", [
    ({}, True, "Enabled", []),
    ({"hyperVInstalled": False}, True, "Enabled", [hostprereqs.REASON_HYPERV_MISSING]),
    ({"rsatHyperVToolsInstalled": False}, True, "Enabled", [hostprereqs.REASON_RSAT_MISSING]),
    ({"rsatHyperVToolsInstalled": None, "hyperVInstalled": None}, True, "Enabled", []),
    ({"clusterManagerExtensionVersion": "2.318.5"}, True, "Enabled", [hostprereqs.REASON_CLUSTER_MANAGER_OLD]),
    ({"clusterManagerExtensionVersion": "2.319.0"}, True, "Enabled", []),
    ({"clusterManagerExtensionVersion": "3.0"}, True, "Enabled", []),
    ({}, False, "Enabled", [hostprereqs.REASON_HOST_SWITCH_MISSING]),
    ({}, False, "Disabled", []),
    ({}, None, "Enabled", []),
])
def test_host_prerequisites(values, switch, legacy, codes):
    document = _prerequisites(**values)
    document["hostImdsSwitchPresent"] = switch
    document["attestation"][0]["legacyOsSupport"] = legacy
    verdict = evaluate(arm_cluster(), [document])
    found = [f for f in verdict.findings if f["reasonCode"] in (
        hostprereqs.REASON_HYPERV_MISSING, hostprereqs.REASON_RSAT_MISSING, hostprereqs.REASON_CLUSTER_MANAGER_OLD,
        hostprereqs.REASON_HOST_SWITCH_MISSING)]
    assert [f["reasonCode"] for f in found] == codes
    assert all(f["scope"] == "server" and f["name"] == "NODE1" and f["action"] and (f["command"] or f["learnMore"])
               for f in found)


def test_a_stale_file_says_nothing_of_the_prerequisites():
    document = _prerequisites(hyperVInstalled=False)
    document["collectedAt"] = (NOW - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    verdict = evaluate(arm_cluster(), [document])
    assert hostprereqs.REASON_HYPERV_MISSING not in [f["reasonCode"] for f in verdict.findings]


def test_legacy_on_without_the_host_switch_is_never_a_green_vm():
    document = host_document(vms=[host_vm(os_name=W10_MS, version="10.0.19045.4291", gsi=False, nic=True)])
    green = inventory.judge_vms(evaluate(arm_cluster(), [document]), [])[0]
    document["hostImdsSwitchPresent"] = False
    judged = inventory.judge_vms(evaluate(arm_cluster(), [document]), [])[0]
    assert green.verdict.benefit_status == v.BENEFITS_ACTIVE
    assert judged.verdict.benefit_status == v.BENEFITS_INACTIVE
    assert judged.verdict.reason_code == hostprereqs.REASON_HOST_SWITCH_MISSING
    assert judged.verdict.command == hostprereqs.COMMAND_RESET_LEGACY
    imds = next(item for item in judged.benefits if item["offer"] == b.OFFER_MACHINE_CONFIGURATION_IMDS)
    assert imds["status"] == b.INACTIVE


# ----------------------------------------------------------------------------- findings, bulk fixes, summary

def _two_vms_without_the_nic():
    vms = [host_vm(name=name, vm_id=f"6f1c0001-2a7e-4c1d-9b3a-5e8d7c6b000{index}", os_name=W10_MS,
                   version="10.0.19045.4291", gsi=False, nic=False) for index, name in enumerate(("a", "b"))]
    verdict = evaluate(arm_cluster(), [host_document(vms=vms)])
    return verdict, inventory.judge_vms(verdict, [])


def test_one_command_fixes_every_vm_of_a_server_that_needs_the_same_host_side_fix():
    _, judged = _two_vms_without_the_nic()
    findings = [f for f in inventory.vm_findings(judged) if f["action"] == v.ACTION_SET_UP_LEGACY_NETWORKING]
    assert len(findings) == 4           # each VM's AVD verdict and its Machine Configuration through IMDS
    assert {f["bulkCommand"] for f in findings} == {
        "Invoke-Command -ComputerName 'NODE1' -ScriptBlock { Add-AzStackHCIVMAttestation -AddAll }"}
    one = [f for f in inventory.vm_findings(judged[:1]) if f["action"] == v.ACTION_SET_UP_LEGACY_NETWORKING]
    assert all("bulkCommand" not in f for f in one)


def test_benefit_findings_are_warnings_or_info_and_have_their_own_fail_on_levels():
    verdict, judged = _two_vms_without_the_nic()
    checked = report.CheckedCluster(verdict.facts.id, verdict.facts.name, verdict, tuple(judged))
    built = report.build_report([checked], ["benefit-inactive"], NOW)
    benefit = [f for f in built.findings if f["scope"] == "benefit"]
    assert benefit and {f["severity"] for f in benefit} <= {v.SEVERITY_WARNING, v.SEVERITY_INFO}
    assert all(f["status"] in (b.INACTIVE, b.UNKNOWN) and f["benefit"] for f in benefit)
    # Host-only VMs: Update Manager and the agent cannot be told (info); IMDS is Inactive.
    assert built.exit_code == 1 and all(f["matched"] == (f["status"] == b.INACTIVE) for f in benefit)
    assert report.build_report([checked], ["error"], NOW).findings   # the VMs' own errors still there
    unknown_only = report.build_report([checked], ["benefit-unknown"], NOW)
    assert unknown_only.exit_code == 1
    assert all(f["matched"] == (f["scope"] == "benefit" and f["status"] == b.UNKNOWN)
               for f in unknown_only.findings)


def test_summary_counts_each_offer_by_status():
    _, judged = _two_vms_without_the_nic()
    summary = {row_["offer"]: row_ for row_ in inventory.vm_summary(judged)["benefits"]}
    assert summary[b.OFFER_AVD] == {"benefit": v.BENEFIT_AVD, "offer": b.OFFER_AVD, "active": 0, "inactive": 2,
                                    "unknown": 0, "notApplicable": 0, "total": 2}
    assert list(summary) == [b.OFFER_AVD, b.OFFER_UPDATE_MANAGER, b.OFFER_MACHINE_CONFIGURATION,
                             b.OFFER_MACHINE_CONFIGURATION_IMDS]


def test_benefits_cell():
    cell = b.benefits_cell(list(items(vm=legacy_vm_facts()).values()))
    assert cell == "4/4 active"
    cell = b.benefits_cell(list(items(vm=vm_facts(), arc=b.arc_facts(machine(agent="1.38"), {})).values()))
    assert cell == "2/4 active; Machine Config: Inactive"


def test_the_host_file_reads_the_prerequisites():
    facts = hostprereqs.prerequisites(host(_prerequisites(clusterManagerExtensionVersion="2.319.1")))
    assert facts == {"hyperVInstalled": True, "rsatHyperVToolsInstalled": True,
                     "clusterManagerExtensionVersion": "2.319.1"}
    assert hostprereqs.prerequisites(host(host_document())) == {
        "hyperVInstalled": None, "rsatHyperVToolsInstalled": None, "clusterManagerExtensionVersion": None}
