# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The VM verdict: DESIGN's eight ordered steps, the meaning of each status, accessMethod, and a
property over the whole verdict space."""

from datetime import timedelta
from functools import lru_cache

import pytest
from hypothesis import given, settings, strategies as st

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.vmverdict import STEPS, evaluate_vm, host_context
from azext_stack_hci_verify.core.vmviews import vm_view

from .core_fixtures import (AE, AE_2022, AVD, ESU, HV1, NOW, W10_MS, W11_MS, WS2012R2, arm_cluster, evaluate,
                            has_control, host_document, legacy_vm_facts, vm_facts)

PROBE = "az stack-hci vm-verification probe"


def context(server="NODE1", hosts=(), **cluster):
    return host_context(evaluate(arm_cluster(**cluster), hosts), server)


HEALTHY = context()


def judge(vm, ctx=None):
    return evaluate_vm(vm, HEALTHY if ctx is None else ctx)


def outcome(verdict):
    return verdict.benefit_status, verdict.action, verdict.command


def test_steps_are_designs_order():
    assert [step.name for step in STEPS] == ["guestOs", "eligibleBenefit", "host", "osBuild", "guestServiceInterface",
                                             "legacyOsSupport", "legacyNetworking"]


# ----------------------------------------------------------------------------- step 1: guest OS

def test_step1_guest_os_unknown_data_exchange_off():
    verdict = judge(vm_facts(guest_os_name=None, guest_os_version=None, data_exchange=False))
    assert outcome(verdict) == (v.BENEFITS_UNKNOWN, v.ACTION_TURN_ON_DATA_EXCHANGE,
                                "Enable-VMIntegrationService -VMName 'vm01' -Name \"Key-Value Pair Exchange\"")
    assert verdict.eligible_benefit is None and verdict.reason_code


@pytest.mark.parametrize("name", [None, "windows", "Microsoft Windows"])
def test_step1_guest_os_unknown_without_host_facts_collects_them(name):
    verdict = judge(vm_facts(guest_os_name=name, guest_os_version=None, data_exchange=None, sources={}))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS)
    assert verdict.command.startswith(PROBE) and "NODE1" in verdict.command
    assert verdict.reason_code


def test_step1_data_exchange_on_but_nothing_reported_still_has_an_action():
    verdict = judge(vm_facts(guest_os_name=None, guest_os_version=None, state="Off"))
    assert verdict.benefit_status == v.BENEFITS_UNKNOWN
    assert verdict.action and verdict.command and verdict.reason_code
    assert "Off" in verdict.reason


def test_step1_another_source_gives_the_os():
    assert judge(vm_facts(data_exchange=False)).benefit_status == v.BENEFITS_ACTIVE


# ----------------------------------------------------------------------------- step 2: benefit

@pytest.mark.parametrize("name", ["Windows Server 2019 Datacenter", "Ubuntu", "Windows 11 Enterprise",
                                  "Windows Server 2025 Datacenter"])
def test_step2_no_applicable_benefit_even_on_a_broken_host(name):
    for ctx in (HEALTHY, context(imds="Disabled"), context(imds="PartiallyEnabled"), context(reported=False)):
        verdict = judge(vm_facts(guest_os_name=name, guest_service_interface=None, sources={}), ctx)
        assert outcome(verdict) == (v.BENEFITS_NOT_APPLICABLE, None, None)
        assert verdict.eligible_benefit is None and verdict.access_method == v.ACCESS_NONE


@pytest.mark.parametrize("name, version, shown", [
    # Data exchange reads the registry ProductName, which says Windows 10 on Windows 11 (build 22000+).
    ("Windows 10 Enterprise", "10.0.22631.3447", "Windows 11 Enterprise"),
    ("Windows 10 Pro", "10.0.22000", "Windows 11 Pro"),
    ("Windows 10 Enterprise", "10.0.19045.4291", "Windows 10 Enterprise"),
])
def test_step2_reason_names_the_guest_os_as_its_guest_os_field_shows_it(name, version, shown):
    vm = vm_facts(guest_os_name=name, guest_os_version=version)
    verdict = judge(vm)
    assert verdict.benefit_status == v.BENEFITS_NOT_APPLICABLE
    assert vm_view(vm, verdict)["guestOs"] == shown
    assert verdict.reason.startswith(shown + " has no benefit")
    assert shown != name or "Windows 11" not in verdict.reason
    assert shown == name or name not in verdict.reason


def test_stale_guest_os_reason_names_the_guest_os_as_its_guest_os_field_shows_it():
    vm = vm_facts(guest_os_name="Windows 10 Enterprise multi-session", guest_os_version="10.0.22631.3447",
                  host_stale=True)
    verdict = judge(vm)
    assert verdict.reason_code == v.REASON_HOST_FACTS_STALE
    assert "(Windows 11 Enterprise multi-session)" in verdict.reason and "Windows 10" not in verdict.reason


# ----------------------------------------------------------------------------- step 3: the host

def test_step3_host_attestation_off_comes_before_every_later_step():
    for vm in (vm_facts(), vm_facts(guest_service_interface=False), vm_facts(guest_os_version="10.0.20348.100"),
               legacy_vm_facts(legacy_networking=False)):
        verdict = judge(vm, context(imds="Disabled"))
        assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)


def test_step3_registered_cluster_without_reported_properties_is_inactive_with_sync():
    # issue 7: VMs came back Unknown and a later step could still advise Install updates.
    ctx = context(reported=False)
    for vm in (vm_facts(), vm_facts(guest_os_version="10.0.20348.100"), legacy_vm_facts()):
        verdict = judge(vm, ctx)
        assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)
        assert verdict.reason_code


def test_step3_unregistered_cluster_is_inactive_with_registration():
    verdict = judge(vm_facts(guest_os_version="10.0.20348.100"),
                    context(status="NotYetRegistered", reported=False, last_sync=None))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_INACTIVE, v.ACTION_REGISTER)
    assert verdict.command and verdict.reason_code == v.REASON_CLUSTER_NOT_REGISTERED


def test_step3_unrecognized_imds_attestation_is_unknown_naming_the_value():
    # issue 7: 'PartiallyEnabled' must not end in Install updates, nor say that no value was reported.
    ctx = context(imds="PartiallyEnabled")
    for vm in (vm_facts(), vm_facts(guest_os_version="10.0.20348.100"),
               legacy_vm_facts(guest_os_version="10.0.19045.1")):
        verdict = judge(vm, ctx)
        assert verdict.benefit_status == v.BENEFITS_UNKNOWN
        assert verdict.reason_code == v.REASON_UNRECOGNIZED_VALUE
        assert "PartiallyEnabled" in verdict.reason and "no imdsAttestation was reported" not in verdict.reason
        assert verdict.action not in (None, v.ACTION_INSTALL_UPDATES) and verdict.command


def test_step3_expired_server_comes_before_the_build():
    ctx = context(last_sync=NOW - timedelta(days=40))
    verdict = judge(vm_facts(guest_os_version="10.0.20348.100"), ctx)
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert "NODE1" in verdict.reason and v.SERVER_EXPIRED in verdict.reason


@pytest.mark.parametrize("status", [v.SERVER_INACTIVE, v.SERVER_ERROR, v.SERVER_EXPIRED])
def test_step3_server_not_active_on_the_host(status):
    ctx = context("NODE2", hosts=[host_document("NODE2", status=status)])
    verdict = judge(vm_facts(server="NODE2", guest_service_interface=False), ctx)
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert "NODE2" in verdict.reason and status in verdict.reason
    # The other server is unaffected.
    assert judge(vm_facts(), context("NODE1", hosts=[host_document("NODE2", status=status)])).benefit_status == \
        v.BENEFITS_ACTIVE


def test_step3_server_unknown_is_unknown_with_an_action():
    ctx = context("NODE1", hosts=[host_document("NODE1", status="Pending")])
    verdict = judge(vm_facts(), ctx)
    assert verdict.benefit_status == v.BENEFITS_UNKNOWN
    assert verdict.action and verdict.command and verdict.reason_code


def test_step3_server_the_cluster_does_not_report_is_not_vouched_for():
    verdict = judge(vm_facts(server="NODE9"), context("NODE9", last_sync=NOW - timedelta(days=40)))
    assert verdict.benefit_status != v.BENEFITS_ACTIVE
    assert verdict.action and verdict.command


# ----------------------------------------------------------------------------- step 4: the build

_BOUNDARY_ROWS = [
    (AE_2022, 20348, 2402, "v2"),
    (W11_MS, 22631, 3447, "v2"),
    (W11_MS, 22621, 3447, "v2"),
    (W11_MS, 22000, 2899, "v2"),
    (W10_MS, 19045, 4291, "v1"),
    (W10_MS, 19044, 4291, "v1"),
]


@pytest.mark.parametrize("name, major, revision, needs", _BOUNDARY_ROWS)
def test_build_boundaries(name, major, revision, needs):
    make = vm_facts if needs == "v2" else legacy_vm_facts

    def at(version):
        return judge(make(guest_os_name=name, guest_os_version=version))

    below = at("10.0.{}.{}".format(major, revision - 1))
    assert (below.benefit_status, below.action) == (v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES)
    assert below.command and "{}.{}".format(major, revision) in below.reason
    for version in ("10.0.{}.{}".format(major, revision), "10.0.{}.{}".format(major, revision + 1),
                    "{}.{}".format(major, revision + 1000)):
        assert at(version).benefit_status == v.BENEFITS_ACTIVE, version
    unknown_revision = at("10.0.{}".format(major))
    assert unknown_revision.benefit_status == v.BENEFITS_ACTIVE
    assert "revision could not be read" in unknown_revision.reason
    assert "{}.{}".format(major, revision) in unknown_revision.reason


def test_lower_major_build_is_below_even_without_a_revision():
    verdict = judge(vm_facts(guest_os_version="10.0.17763"))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES)


def test_unknown_revision_goes_on_to_the_other_steps():
    verdict = judge(vm_facts(guest_os_version="10.0.20348", guest_service_interface=False))
    assert verdict.action == v.ACTION_TURN_ON_GSI
    assert "revision could not be read" in verdict.reason and "20348.2402" in verdict.reason


WINDOWS10_22H2 = "https://learn.microsoft.com/windows/release-health/status-windows-10-22h2"
ARC_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01"


@pytest.mark.parametrize("version", ["10.0.19042", "10.0.19042.1288", "10.0.19043", "10.0.17763.5696"])
@pytest.mark.parametrize("machine_id", [None, ARC_ID])
def test_windows10_before_21h2_needs_a_feature_update(version, machine_id):
    # issue 7: 19042 was told to install KB5036892, which does not apply to it.
    verdict = evaluate_vm(legacy_vm_facts(guest_os_version=version), HEALTHY, machine_id)
    assert (verdict.benefit_status, verdict.action, verdict.eligible_benefit, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES, AVD, "feature-update-needed")
    # No command installs a feature update (the update commands install Critical and Security updates):
    # the command is the page to follow, and the reason says what to install first and how.
    assert verdict.command == WINDOWS10_22H2
    reason = verdict.reason
    assert "no command" in reason.lower() and "22H2 feature update first" in reason
    assert "Windows Update for Business" in reason and "installation media" in reason
    assert "KB5036892" in reason and "19045.4291" in reason and WINDOWS10_22H2 in reason


def test_windows_server_2025_azure_edition_gets_the_azure_edition_benefit():
    verdict = judge(vm_facts(guest_os_name="Windows Server 2025 Datacenter: Azure Edition",
                             guest_os_version="10.0.26100.1742"))
    assert (verdict.eligible_benefit, verdict.benefit_status, verdict.access_method) == (
        AE, v.BENEFITS_ACTIVE, v.ACCESS_V2)


def test_windows11_24h2_multi_session_has_no_minimum():
    verdict = judge(vm_facts(guest_os_name=W11_MS, guest_os_version="10.0.26100.1"))
    assert (verdict.eligible_benefit, verdict.benefit_status) == (AVD, v.BENEFITS_ACTIVE)


def test_esu_has_no_build_to_compare():
    verdict = judge(legacy_vm_facts(guest_os_name=WS2012R2, guest_os_version="6.3.9600"))
    assert (verdict.benefit_status, verdict.eligible_benefit, verdict.access_method) == (
        v.BENEFITS_ACTIVE, ESU, v.ACCESS_V1)
    assert "servicing stack" in verdict.reason


@pytest.mark.parametrize("version", ["garbage", "1.2.3.4", None])
def test_unreadable_build_is_not_below_and_has_an_action(version):
    verdict = judge(vm_facts(guest_os_version=version))
    assert verdict.benefit_status == v.BENEFITS_UNKNOWN
    assert verdict.action not in (None, v.ACTION_INSTALL_UPDATES) and verdict.command and verdict.reason_code


def _names_every(command, reason, servers):
    assert command.startswith(PROBE) and "host-facts-host" not in command, command
    assert all(server in command for server in servers), command
    assert "each of {}".format(", ".join(servers)) in reason, reason


def test_a_vm_whose_server_is_not_known_collects_host_facts_on_each_server_it_may_run_on():
    # NODE1's file says Pending (Unknown), NODE2 is Active: the VM's server could be either.
    ctx = context(server=None, hosts=[host_document("NODE1", status="Pending")])
    verdict = judge(vm_facts(server=None, sources={}), ctx)
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS)
    _names_every(verdict.command, verdict.reason, ["NODE1", "NODE2"])


def test_a_fact_only_the_host_sees_on_an_unknown_server_is_collected_on_each_server():
    verdict = judge(vm_facts(server=None, guest_service_interface=None, sources={}), context(server=None))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS)
    _names_every(verdict.command, verdict.reason, ["NODE1", "NODE2"])


# ----------------------------------------------------------------------------- step 5: Guest Service Interface

def test_step5_guest_service_interface_off():
    verdict = judge(vm_facts(guest_service_interface=False))
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_GSI,
                                "Enable-VMIntegrationService -VMName 'vm01' -Name \"Guest Service Interface\"")
    assert verdict.access_method == v.ACCESS_V2 and verdict.access_paths == ()


def test_step5_guest_service_interface_unknown_collects_host_facts_on_its_server():
    verdict = judge(vm_facts(server="NODE2", guest_service_interface=None, sources={}), context("NODE2"))
    assert (verdict.benefit_status, verdict.action, verdict.reason_code) == (
        v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS, v.REASON_HOST_FACTS_NEEDED)
    assert verdict.command.startswith(PROBE) and "NODE2" in verdict.command


def test_step5_does_not_apply_to_v1():
    assert judge(legacy_vm_facts(guest_service_interface=False)).benefit_status == v.BENEFITS_ACTIVE


# ----------------------------------------------------------------------------- step 6: legacy OS support

def test_step6_legacy_os_support_off_on_every_server():
    hosts = [host_document("NODE1", legacy="Disabled"), host_document("NODE2", legacy="Disabled")]
    verdict = judge(legacy_vm_facts(legacy_networking=False), context(hosts=hosts))
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_LEGACY_OS_SUPPORT,
                                "Enable-AzStackHCIAttestation")


def test_step6_legacy_os_support_off_on_one_server_only_is_fixed_on_that_server():
    # seed 000, FAQ: a machine added later is enabled with -ComputerName.
    hosts = [host_document("NODE1", legacy="Enabled"), host_document("NODE2", legacy="Disabled")]
    verdict = judge(legacy_vm_facts(server="NODE2"), context("NODE2", hosts=hosts))
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_LEGACY_OS_SUPPORT,
                                "Enable-AzStackHCIAttestation -ComputerName 'NODE2'")
    assert judge(legacy_vm_facts(server="NODE1"), context("NODE1", hosts=hosts)).benefit_status == \
        v.BENEFITS_ACTIVE


def test_step6_command_is_the_clusters_fix_for_that_server():
    verdict_of_cluster = evaluate(arm_cluster(capabilities=[]), [host_document("NODE2", legacy="Disabled")])
    verdict = judge(legacy_vm_facts(server="NODE2"), host_context(verdict_of_cluster, "NODE2"))
    assert verdict.action == v.ACTION_TURN_ON_LEGACY_OS_SUPPORT
    assert verdict.command == verdict_of_cluster.legacy.command


def test_step6_does_not_apply_to_v2():
    hosts = [host_document("NODE1", legacy="Disabled"), host_document("NODE2", legacy="Disabled")]
    assert judge(vm_facts(), context(hosts=hosts)).benefit_status == v.BENEFITS_ACTIVE


@pytest.mark.parametrize("capabilities", [[], ["ArcVmManagement"], None])
@pytest.mark.parametrize("name, version", [(W10_MS, "10.0.19045.4291"), (WS2012R2, "6.3.9600")])
def test_step6_undocumented_capabilities_never_say_turn_on_legacy_os_support(capabilities, name, version):
    # issue 7: supportedCapabilities without a known token is not "off".
    ctx = context(capabilities=capabilities)
    for nic in (True, None):
        verdict = judge(legacy_vm_facts(guest_os_name=name, guest_os_version=version, legacy_networking=nic), ctx)
        assert verdict.action != v.ACTION_TURN_ON_LEGACY_OS_SUPPORT
        assert verdict.benefit_status == v.BENEFITS_UNKNOWN
        assert (verdict.action, verdict.reason_code) == (v.ACTION_COLLECT_HOST_FACTS, v.REASON_HOST_FACTS_NEEDED)
        assert verdict.command.startswith(PROBE) and "NODE1" in verdict.command


# ----------------------------------------------------------------------------- step 7: legacy networking

def test_step7_legacy_networking_missing():
    verdict = judge(legacy_vm_facts(legacy_networking=False, generation=2))
    assert outcome(verdict) == (v.BENEFITS_INACTIVE, v.ACTION_SET_UP_LEGACY_NETWORKING,
                                "Add-AzStackHCIVMAttestation -VMName 'vm01'")
    assert "Generation 1" not in verdict.reason


def test_step7_generation1_running_vm_is_powered_off_first():
    verdict = judge(legacy_vm_facts(legacy_networking=False, generation=1, state="Running"))
    assert verdict.action == v.ACTION_SET_UP_LEGACY_NETWORKING
    assert verdict.command.index("Stop-VM -Name 'vm01'") < verdict.command.index("Add-AzStackHCIVMAttestation")
    assert "powered off" in verdict.reason


def test_step7_generation1_vm_already_off_is_not_stopped():
    # issue 7: the note asked to Stop-VM a VM that is already off.
    verdict = judge(legacy_vm_facts(legacy_networking=False, generation=1, state="Off"))
    assert verdict.command == "Add-AzStackHCIVMAttestation -VMName 'vm01'"
    assert "Stop-VM" not in verdict.reason


def test_step7_unknown_nic_collects_host_facts():
    verdict = judge(legacy_vm_facts(legacy_networking=None, sources={}))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_UNKNOWN, v.ACTION_COLLECT_HOST_FACTS)
    assert "NODE1" in verdict.command


# ----------------------------------------------------------------------------- step 8 and accessMethod

@pytest.mark.parametrize("gsi, nic, hosts, method, paths", [
    (True, False, (), v.ACCESS_V2, (v.ACCESS_V2,)),
    (True, True, (), v.ACCESS_BOTH, (v.ACCESS_V2, v.ACCESS_V1)),
    (True, True, "legacy-off", v.ACCESS_V2, (v.ACCESS_V2,)),
])
def test_step8_active_v2(gsi, nic, hosts, method, paths):
    if hosts == "legacy-off":
        hosts = [host_document("NODE1", legacy="Disabled"), host_document("NODE2", legacy="Disabled")]
    verdict = judge(vm_facts(guest_service_interface=gsi, legacy_networking=nic), context(hosts=hosts))
    assert outcome(verdict) == (v.BENEFITS_ACTIVE, None, None)
    assert (verdict.access_method, verdict.access_paths) == (method, paths)


@pytest.mark.parametrize("name, version", [(W10_MS, "10.0.19045.4291"), (WS2012R2, "6.3.9600")])
def test_v1_guest_uses_v1_even_with_guest_service_interface_on(name, version):
    # issue 7: a Windows 10 multi-session VM showed v2+v1 while its reason said v1 only.
    verdict = judge(legacy_vm_facts(guest_os_name=name, guest_os_version=version, guest_service_interface=True))
    assert verdict.benefit_status == v.BENEFITS_ACTIVE
    assert verdict.access_method == v.ACCESS_V1
    assert verdict.access_paths == (v.ACCESS_V2, v.ACCESS_V1)
    assert "legacy OS networking (v1)" in verdict.reason


def test_inactive_v1_guest_still_names_the_path_it_needs():
    verdict = judge(legacy_vm_facts(legacy_networking=False, guest_service_interface=True))
    assert (verdict.access_method, verdict.access_paths) == (v.ACCESS_V1, (v.ACCESS_V2,))


# ----------------------------------------------------------------------------- two facts that cannot be told

def test_two_facts_that_cannot_be_told_the_first_step_decides():
    # The build cannot be told because data exchange is off (step 4), and Guest Service Interface is not
    # known (step 5): the verdict is step 4's, Turn on Hyper-V data exchange, and step 5's is listed after it.
    verdict = judge(vm_facts(guest_os_version=None, data_exchange=False, guest_service_interface=None,
                             sources={"guestOsName": "arm"}))
    assert outcome(verdict) == (v.BENEFITS_UNKNOWN, v.ACTION_TURN_ON_DATA_EXCHANGE,
                                "Enable-VMIntegrationService -VMName 'vm01' -Name \"Key-Value Pair Exchange\"")
    assert [(step["step"], step["result"]) for step in verdict.steps][3:5] == [
        ("osBuild", "Unknown"), ("guestServiceInterface", "Unknown")]
    assert verdict.unknown == (v.REASON_HOST_FACTS_NEEDED,)
    assert verdict.reason.index("data exchange") < verdict.reason.index("Also not known: Whether Guest Service")


def test_two_facts_that_cannot_be_told_reason_codes_follow_the_step_order():
    verdict = judge(vm_facts(guest_os_version="garbage", guest_service_interface=None, sources={}))
    assert (verdict.benefit_status, verdict.reason_code, verdict.action) == (
        v.BENEFITS_UNKNOWN, "os-build-unreadable", v.ACTION_COLLECT_HOST_FACTS)
    assert verdict.unknown == (v.REASON_HOST_FACTS_NEEDED,)


def test_a_definite_failure_after_a_fact_that_cannot_be_told_decides():
    # The build cannot be told (step 4), Guest Service Interface is off (step 5): Inactive, not Unknown.
    verdict = judge(vm_facts(guest_os_version=None, data_exchange=False, guest_service_interface=False,
                             sources={"guestOsName": "arm"}))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_GSI)
    assert verdict.unknown == (v.REASON_HOST_FACTS_NEEDED,)


# ----------------------------------------------------------------------------- stale host facts

def test_stale_host_facts_cannot_make_a_vm_active():
    for vm in (vm_facts(host_stale=True), legacy_vm_facts(host_stale=True)):
        verdict = judge(vm)
        assert verdict.benefit_status != v.BENEFITS_ACTIVE
        assert verdict.action and verdict.command


def test_stale_host_facts_still_show_what_is_off():
    verdict = judge(vm_facts(host_stale=True, guest_service_interface=False,
                             sources={"guestServiceInterface": "host"}, guest_os_name=AE_2022))
    assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_GSI)


def test_stale_guest_service_interface_alone_is_host_facts_stale():
    # The guest OS from ARM, Guest Service Interface only from a stale file.
    verdict = judge(vm_facts(host_stale=True, sources={"guestOsName": "arm", "guestOsVersion": "arm",
                                                       "guestServiceInterface": "host"}))
    assert (verdict.benefit_status, verdict.reason_code, verdict.action) == (
        v.BENEFITS_UNKNOWN, v.REASON_HOST_FACTS_STALE, v.ACTION_COLLECT_HOST_FACTS)
    assert "NODE1" in verdict.command


# ----------------------------------------------------------------------------- names stay data

def test_names_with_control_characters_stay_one_line_in_every_command():
    name = "vm\n'; Remove-VM *; '\r\x1b[2J"
    for vm in (vm_facts(name=name, guest_service_interface=False),
               vm_facts(name=name, guest_os_name=None, data_exchange=False),
               legacy_vm_facts(name=name, legacy_networking=False, generation=1, state="Running"),
               vm_facts(name=name, vm_id=None, guest_os_version="10.0.20348.1")):
        verdict = judge(vm)
        assert verdict.command and not has_control(verdict.command), verdict.command


def test_names_with_control_characters_keep_the_reason_one_line():
    # DESIGN: a one-line human reason; -o tsv would split the row.
    name = "vm\n'; Remove-VM *; '\r\x1b[2J"
    for vm in (vm_facts(name=name, guest_service_interface=False),
               legacy_vm_facts(name=name, legacy_networking=False, generation=1, state="Running")):
        assert not has_control(judge(vm).reason)


def test_install_updates_always_has_a_command():
    verdict = judge(vm_facts(name=None, vm_id=None, guest_os_version="10.0.20348.100"))
    assert verdict.action == v.ACTION_INSTALL_UPDATES and verdict.command


# ----------------------------------------------------------------------------- the whole verdict space

_CLUSTERS = {
    "healthy": dict(),
    "off": dict(imds="Disabled"),
    "unrecognized": dict(imds="PartiallyEnabled"),
    "not-reported": dict(reported=False),
    "unregistered": dict(status="NotYetRegistered", reported=False, last_sync=None),
    "expired": dict(last_sync=NOW - timedelta(days=40)),
    "sync-unreadable": dict(last_sync="last week"),
    "sync-future": dict(last_sync=NOW + timedelta(days=3650)),
    "capabilities-unknown": dict(capabilities=["ArcVmManagement"]),
    "malformed": dict(status=5),
}
_HOST_FILES = {
    "none": (),
    "fresh": ("Active", "Enabled", timedelta(hours=1)),
    "stale": ("Active", "Enabled", timedelta(days=60)),
    "expired-row": ("Active", "Enabled", timedelta(hours=1), NOW - timedelta(days=10)),
    "legacy-off": ("Active", "Disabled", timedelta(hours=1)),
    "inactive": ("Inactive", "Enabled", timedelta(hours=1)),
    "error": ("Error", "Enabled", timedelta(hours=1)),
    "pending": ("Pending", None, timedelta(hours=1)),
    "future": ("Active", "Enabled", -timedelta(days=2)),
}


@lru_cache(maxsize=None)
def _cluster_verdict(cluster, files):
    documents = []
    for index, key in enumerate(files):
        spec = _HOST_FILES[key]
        if not spec:
            continue
        name = "NODE{}".format(index + 1)
        extra = {"expiration": spec[3]} if len(spec) > 3 else {}
        documents.append(host_document(name, status=spec[0], legacy=spec[1], collected=NOW - spec[2], **extra))
    return evaluate(arm_cluster(**_CLUSTERS[cluster]), documents)


_TRISTATE = st.sampled_from([True, False, None])
_OS = st.sampled_from([
    (None, None, None), ("windows", "10.0.20348.2402", None), (AE_2022, "10.0.20348.2402", None),
    (AE_2022, "10.0.20348", None), (AE_2022, "10.0.20348.100", None), (AE_2022, "junk", None),
    ("Windows Server 2025 Datacenter: Azure Edition", "10.0.26100.1742", None), (W10_MS, "10.0.19045.4291", None),
    (W10_MS, "10.0.19042", None), (W10_MS, None, None), (W11_MS, "10.0.22631.3447", None), (W11_MS, None, None),
    (WS2012R2, "6.3.9600", None), ("Ubuntu", "22.04", None), ("windows", "10.0.20348", "407"),
    ("Windows Server 2019 Datacenter", "10.0.17763", None), ("Windows 10 Enterprise", "10.0.22631.3447", None),
    ("Windows 10 Enterprise multi-session", "10.0.22621.3447", None)])
_SOURCES = st.sampled_from([{}, {"guestOsName": "host", "guestOsVersion": "host", "guestServiceInterface": "host",
                                 "legacyNetworking": "host"},
                            {"guestOsName": "arm", "guestOsVersion": "arm", "guestServiceInterface": "host"}])


@settings(max_examples=400, deadline=None)
@given(cluster=st.sampled_from(sorted(_CLUSTERS)),
       files=st.lists(st.sampled_from(sorted(_HOST_FILES)), min_size=0, max_size=2).map(tuple),
       server=st.sampled_from(["NODE1", "NODE2", "node2.contoso.example", "NODE9", None]),
       os=_OS, gsi=_TRISTATE, nic=_TRISTATE, exchange=_TRISTATE, stale=st.booleans(), sources=_SOURCES,
       ids=st.sampled_from([("vm01", None), ("vm01", HV1), (None, HV1), ("it's\nme", None), ("o'brien [1]", HV1)]),
       generation=st.sampled_from([1, 2, None]), state=st.sampled_from(["Running", "Off", None]))
def test_every_verdict_is_well_formed(cluster, files, server, os, gsi, nic, exchange, stale, sources, ids,
                                      generation, state):
    name, vm_id = ids
    cluster_verdict = _cluster_verdict(cluster, files)
    vm = vm_facts(name=name, vm_id=vm_id, server=server, guest_os_name=os[0], guest_os_version=os[1],
                  guest_os_sku=os[2], guest_service_interface=gsi, legacy_networking=nic, data_exchange=exchange,
                  host_stale=stale, sources=sources, generation=generation, state=state)
    ctx = host_context(cluster_verdict, server)
    verdict = evaluate_vm(vm, ctx)
    assert verdict.benefit_status in v.BENEFIT_STATUSES
    assert verdict.reason and verdict.reason_code and not has_control(verdict.reason)
    if verdict.benefit_status == v.BENEFITS_NOT_APPLICABLE:
        assert vm_view(vm, verdict)["guestOs"] in verdict.reason
    if verdict.benefit_status in (v.BENEFITS_ACTIVE, v.BENEFITS_NOT_APPLICABLE):
        assert (verdict.action, verdict.command) == (None, None)
    else:
        assert verdict.action and verdict.command, (verdict.action, verdict.command, verdict.reason)
        assert not has_control(verdict.command)
        # A command performs the action, except where none can: then it is the public page to follow
        # (a feature update), which the reason names too.
        if verdict.command.startswith("https://"):
            assert verdict.reason_code == "feature-update-needed" and verdict.command in verdict.reason
            assert verdict.command.startswith("https://learn.microsoft.com/")
        assert verdict.reason_code != "feature-update-needed" or verdict.command.startswith("https://")
    if verdict.action == v.ACTION_COLLECT_HOST_FACTS:
        # The probe names where it must run: a server (the VM's, or the one whose file is stale), or each
        # server the cluster reports when the VM's is not known; "each server of the cluster" when none is.
        assert verdict.command.startswith(PROBE) and "host-facts-host" not in verdict.command, verdict.command
        known = [ctx.server_name] * bool(ctx.server_name) + [item.name for item in ctx.servers]
        assert any(name.split(".")[0] in verdict.command for name in known) or (
            "each server of the cluster" in verdict.command), (known, verdict.command)
        if not ctx.server_name and verdict.reason_code == v.REASON_HOST_FACTS_NEEDED:
            assert all(name in verdict.command for name in known), (known, verdict.command)
    if verdict.benefit_status == v.BENEFITS_ACTIVE:
        # Green only on a host that is On and a server that is Active, from facts that are known and fresh.
        assert cluster_verdict.host.value == v.ON
        assert ctx.server is None or ctx.server.status == v.SERVER_ACTIVE
        assert not (verdict.needs == "v2" and gsi is not True)
        assert not (verdict.needs == "v1" and (nic is not True or ctx.legacy_os_support != v.ON))
        decisive = ("guestServiceInterface",) if verdict.needs == "v2" else ("legacyNetworking",)
        assert not (stale and any(sources.get(fact) == "host" for fact in decisive))
