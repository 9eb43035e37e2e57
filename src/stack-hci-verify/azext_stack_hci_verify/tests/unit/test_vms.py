# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""VM eligibility, the eight-step VM verdict, merging ARM and host facts, and the VM views."""

from dataclasses import replace

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.builds import Build
from azext_stack_hci_verify.core.vms import (
    ELIGIBILITY_TABLE, MINIMUM_BUILD_UNKNOWN, MINIMUM_RELEASE_NOT_LISTED, MINIMUM_SERVICING_STACK, REASON_CODES,
    HostContext, VmFacts, arm_vm_keys, eligibility, evaluate_vm, find_host_vm, host_context_from_cluster,
    merge_vm_facts, powershell_literal, summarize, vm_name_argument, vm_view)

AE = v.BENEFIT_AZURE_EDITION
AVD = v.BENEFIT_AVD
ESU = v.BENEFIT_ESU

HEALTHY = HostContext(v.ON, v.SERVER_ACTIVE, v.ON, "NODE1")


def facts(**overrides):
    """A VM that gets Active benefits through v2 unless told otherwise."""
    base = dict(name="vm01", vm_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427", server="NODE1", generation=2,
                state="Running", guest_os_name="Windows Server 2022 Datacenter: Azure Edition",
                guest_os_version="10.0.20348.2402", data_exchange=True, guest_service_interface=True,
                legacy_networking=False)
    base.update(overrides)
    return VmFacts(**base)


def legacy_facts(**overrides):
    """A Windows 10 multi-session VM (needs v1) that gets Active benefits unless told otherwise."""
    base = dict(guest_os_name="Windows 10 Enterprise multi-session", guest_os_version="10.0.19045.4291",
                guest_service_interface=False, legacy_networking=True)
    base.update(overrides)
    return facts(**base)


# ----------------------------------------------------------------------------- eligibility

@pytest.mark.parametrize("name, version, sku, benefit, minimum, needs", [
    # Windows Server 2022 Datacenter: Azure Edition, as data exchange, ARM osName and ARM osSku say it.
    ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348", None, AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter Azure Edition", "10.0.20348.2402", None, AE, Build(20348, 2402), "v2"),
    ("Microsoft Windows Server 2022 Datacenter: Azure Edition", None, None, AE, Build(20348, 2402), "v2"),
    ("windows", "10.0.20348.2402", "Windows Server 2022 Datacenter Azure Edition", AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter: Azure Edition Core", None, None, AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter", "10.0.20348", "407", AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter", "10.0.20348", "ServerTurbineCor", AE, Build(20348, 2402), "v2"),
    # Windows 11 Enterprise multi-session, told apart by build.
    ("Windows 11 Enterprise multi-session", "10.0.22631.3447", None, AVD, Build(22631, 3447), "v2"),
    ("Windows 11 Enterprise multi-session", "10.0.22621", None, AVD, Build(22621, 3447), "v2"),
    ("Windows 11 Enterprise multi-session", "10.0.22000.1", None, AVD, Build(22000, 2899), "v2"),
    # data exchange reads ProductName, which says Windows 10 on Windows 11: the build decides.
    ("Windows 10 Enterprise multi-session", "10.0.22631", None, AVD, Build(22631, 3447), "v2"),
    ("windows", "10.0.22621.3447", "Windows 11 Enterprise multi-session", AVD, Build(22621, 3447), "v2"),
    # Windows 10 Enterprise multi-session 21H2 / 22H2.
    ("Windows 10 Enterprise multi-session", "10.0.19045", None, AVD, Build(19045, 4291), "v1"),
    ("Windows 10 Enterprise multi-session", "10.0.19044.4291", None, AVD, Build(19044, 4291), "v1"),
    ("Windows 10 Enterprise for Virtual Desktops", "10.0.19044", None, AVD, Build(19044, 4291), "v1"),
    ("Windows 10 Enterprise", "10.0.19045", "175", AVD, Build(19045, 4291), "v1"),
    ("Windows 10 Enterprise", "10.0.19045", "ServerRdsh", AVD, Build(19045, 4291), "v1"),
    # Earlier Windows 10 multi-session releases: below the earliest listed minimum.
    ("Windows 10 Enterprise multi-session", "10.0.19042", None, AVD, Build(19044, 4291), "v1"),
    # Windows Server 2012 / 2012 R2 and older: ESU, latest servicing stack update, v1.
    ("Windows Server 2012 R2 Datacenter", "6.3.9600", None, ESU, None, "v1"),
    ("Windows Server 2012 Standard", "6.2.9200", None, ESU, None, "v1"),
    ("Windows Server 2008 R2 Enterprise", "6.1.7601", None, ESU, None, "v1"),
    ("Windows Server (R) 2008 Standard", "6.0.6002", None, ESU, None, "v1"),
    ("windows", "6.3.9600.21620", "Windows Server 2012 R2 Standard", ESU, None, "v1"),
    ("Windows Server Datacenter", "6.3.9600", None, ESU, None, "v1"),
])
def test_eligible(name, version, sku, benefit, minimum, needs):
    result = eligibility(name, version, sku)
    assert (result.benefit, result.minimum_build, result.needs, result.determined) == (benefit, minimum, needs, True)


@pytest.mark.parametrize("name, version, sku", [
    ("Windows Server 2022 Datacenter", "10.0.20348", None),
    ("Windows Server 2022 Standard", "10.0.20348.2402", None),
    ("Windows Server 2019 Datacenter", "10.0.17763", None),
    ("Windows Server 2016 Datacenter", "10.0.14393", None),
    ("Windows Server 2025 Datacenter", "10.0.26100", None),
    ("Windows 11 Enterprise", "10.0.22631", None),
    ("Windows 10 Enterprise", "10.0.19045", None),
    ("Windows 10 Pro", "10.0.19045", None),
    ("Ubuntu", "5.15.0-1051-azure", None),
    ("linux", "22.04", "Ubuntu 22.04.4 LTS"),
    ("Red Hat Enterprise Linux", "9.4", None),
    ("CBL-Mariner", None, None),
    ("Windows Server Datacenter", "10.0.17763", None),
])
def test_not_eligible(name, version, sku):
    result = eligibility(name, version, sku)
    assert (result.benefit, result.needs, result.determined) == (None, None, True)


@pytest.mark.parametrize("name, sku", [
    (None, None), ("", ""), ("windows", None), ("Windows", ""), ("Microsoft Windows", None), (None, "windows")])
def test_undetermined(name, sku):
    assert eligibility(name, "10.0.20348", sku).determined is False


@pytest.mark.parametrize("name, version, sku, eligible", [
    # Only Windows Server 2022 Datacenter: Azure Edition is in the table; other Azure Edition releases
    # have no applicable benefit. A year in the name decides; without one, a build above 20348 is not 2022.
    ("Windows Server 2025 Datacenter: Azure Edition", "10.0.26100.1742", None, False),
    ("Windows Server 2025 Datacenter: Azure Edition", None, None, False),
    ("windows", "10.0.26100.1742", "Windows Server 2025 Datacenter Azure Edition", False),
    ("Windows Server 2025 Datacenter", "10.0.26100", "407", False),
    ("windows", "10.0.26100", "ServerTurbine", False),
    ("Windows Server Datacenter: Azure Edition", "10.0.26100", None, False),
    ("Windows Server Datacenter: Azure Edition", "10.0.20348", None, True),
    ("Windows Server Datacenter: Azure Edition", None, None, True),
    ("windows", "10.0.20348.2402", "ServerTurbine", True),
    ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.1", None, True),
])
def test_azure_edition_is_2022_only(name, version, sku, eligible):
    result = eligibility(name, version, sku)
    assert result.benefit == (AE if eligible else None)
    assert result.determined is True
    verdict = evaluate_vm(facts(guest_os_name=name, guest_os_version=version, guest_os_sku=sku), HEALTHY)
    if not eligible:
        assert (verdict.benefit_status, verdict.action) == (v.BENEFITS_NOT_APPLICABLE, None)


def test_multi_session_without_a_build():
    windows11 = eligibility("Windows 11 Enterprise multi-session")
    assert (windows11.benefit, windows11.needs, windows11.minimum_build, windows11.minimum_note) == (
        AVD, "v2", None, MINIMUM_BUILD_UNKNOWN)
    windows10 = eligibility("Windows 10 Enterprise multi-session")
    assert (windows10.needs, windows10.minimum_note) == ("v1", MINIMUM_BUILD_UNKNOWN)
    neither = eligibility("Windows Enterprise multi-session")
    assert (neither.benefit, neither.needs, neither.minimum_note) == (AVD, None, MINIMUM_BUILD_UNKNOWN)


@pytest.mark.parametrize("version, needs", [("10.0.26100.1", "v2"), ("10.0.22500", "v2"), ("10.0.19046", "v1")])
def test_multi_session_release_not_listed(version, needs):
    result = eligibility("Windows 11 Enterprise multi-session", version)
    assert (result.benefit, result.minimum_build, result.needs, result.minimum_note) == (
        AVD, None, needs, MINIMUM_RELEASE_NOT_LISTED)


def test_esu_minimum_is_the_servicing_stack():
    result = eligibility("Windows Server 2012 R2 Datacenter", "6.3.9600")
    assert result.minimum_note == MINIMUM_SERVICING_STACK
    assert "servicing stack" in result.minimum_text


def test_table_is_the_design_table():
    rows = {row.key: (row.benefit, str(row.minimum_build) if row.minimum_build else None, row.needs, row.update)
            for row in ELIGIBILITY_TABLE}
    assert rows == {
        "ws2022-azure-edition": (AE, "20348.2402", "v2", "KB5036909"),
        "w11-multisession-23h2": (AVD, "22631.3447", "v2", "KB5036893"),
        "w11-multisession-22h2": (AVD, "22621.3447", "v2", "KB5036893"),
        "w11-multisession-21h2": (AVD, "22000.2899", "v2", "KB5036894"),
        "w10-multisession-22h2": (AVD, "19045.4291", "v1", "KB5036892"),
        "w10-multisession-21h2": (AVD, "19044.4291", "v1", "KB5036892"),
        "ws2012-esu": (ESU, None, "v1", "the latest servicing stack update (ADV990001)"),
    }


@given(st.one_of(st.none(), st.text(max_size=80)), st.one_of(st.none(), st.text(max_size=30)),
       st.one_of(st.none(), st.text(max_size=30)))
def test_eligibility_never_raises(name, version, sku):
    result = eligibility(name, version, sku)
    assert result.benefit in (None, AE, AVD, ESU)


# ----------------------------------------------------------------------------- build boundaries

_BOUNDARY_ROWS = [
    ("Windows Server 2022 Datacenter: Azure Edition", 20348, 2402, "v2"),
    ("Windows 11 Enterprise multi-session", 22631, 3447, "v2"),
    ("Windows 11 Enterprise multi-session", 22621, 3447, "v2"),
    ("Windows 11 Enterprise multi-session", 22000, 2899, "v2"),
    ("Windows 10 Enterprise multi-session", 19045, 4291, "v1"),
    ("Windows 10 Enterprise multi-session", 19044, 4291, "v1"),
]


def _boundary_vm(name, needs, version):
    if needs == "v2":
        return facts(guest_os_name=name, guest_os_version=version)
    return legacy_facts(guest_os_name=name, guest_os_version=version)


@pytest.mark.parametrize("name, major, revision, needs", _BOUNDARY_ROWS)
def test_build_boundaries(name, major, revision, needs):
    def judge(version):
        return evaluate_vm(_boundary_vm(name, needs, version), HEALTHY)

    below = judge("10.0.{}.{}".format(major, revision - 1))
    assert (below.benefit_status, below.action, below.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES, "build-below-minimum")
    assert "{}.{}".format(major, revision) in below.reason
    assert below.command is None
    for version in ("10.0.{}.{}".format(major, revision), "10.0.{}.{}".format(major, revision + 1),
                    "{}.{}".format(major, revision + 1000)):
        assert judge(version).benefit_status == v.BENEFITS_ACTIVE, version
    unknown_revision = judge("10.0.{}".format(major))
    assert unknown_revision.benefit_status == v.BENEFITS_ACTIVE
    assert "revision could not be read" in unknown_revision.reason
    assert "{}.{}".format(major, revision) in unknown_revision.reason
    assert any("revision could not be read" in note for note in unknown_revision.notes)


def test_lower_major_is_below_even_without_a_revision():
    verdict = evaluate_vm(facts(guest_os_version="10.0.17763"), HEALTHY)
    assert verdict.reason_code == "build-below-minimum"
    earlier_release = evaluate_vm(legacy_facts(guest_os_version="10.0.19042"), HEALTHY)
    assert (earlier_release.reason_code, earlier_release.minimum_build) == (
        "build-below-minimum", "19044.4291 (KB5036892)")


def test_unknown_revision_goes_on_to_the_other_steps():
    verdict = evaluate_vm(facts(guest_os_version="10.0.20348", guest_service_interface=False), HEALTHY)
    assert verdict.reason_code == "guest-service-interface-off"
    assert "revision could not be read" in verdict.reason and "20348.2402" in verdict.reason


def test_esu_says_there_is_nothing_to_compare():
    verdict = evaluate_vm(legacy_facts(guest_os_name="Windows Server 2012 R2 Datacenter",
                                       guest_os_version="6.3.9600"), HEALTHY)
    assert (verdict.benefit_status, verdict.eligible_benefit, verdict.access_method) == (
        v.BENEFITS_ACTIVE, ESU, "v1")
    assert "latest servicing stack update" in verdict.reason and "not checked" in verdict.reason


def test_multi_session_release_not_listed_is_judged_on_the_other_steps():
    verdict = evaluate_vm(facts(guest_os_name="Windows 11 Enterprise multi-session",
                                guest_os_version="10.0.26100.2033"), HEALTHY)
    assert verdict.benefit_status == v.BENEFITS_ACTIVE
    assert "No minimum build is listed" in verdict.reason


# ----------------------------------------------------------------------------- the eight steps

def test_step1_guest_os_unknown_data_exchange_off():
    verdict = evaluate_vm(facts(guest_os_name=None, guest_os_version=None, data_exchange=False), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.reason_code, verdict.eligible_benefit) == (
        v.BENEFITS_UNKNOWN, v.ACTION_TURN_ON_DATA_EXCHANGE, "guest-os-unknown", None)
    assert verdict.command == "Enable-VMIntegrationService -VMName 'vm01' -Name \"Key-Value Pair Exchange\""


def test_step1_guest_os_unknown_data_exchange_unknown():
    verdict = evaluate_vm(facts(guest_os_name="windows", guest_os_version=None, data_exchange=None), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.reason_code) == (
        v.BENEFITS_UNKNOWN, v.ACTION_TURN_ON_DATA_EXCHANGE, "guest-os-unknown")
    assert "az stack-hci vm-verification probe" in verdict.reason and "--host-facts" in verdict.reason


def test_step1_data_exchange_on_but_nothing_reported():
    verdict = evaluate_vm(facts(guest_os_name=None, guest_os_version=None, state="Off"), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code) == (
        v.BENEFITS_UNKNOWN, None, None, "guest-os-not-reported")
    assert "Off" in verdict.reason


def test_step1_other_source_gives_the_os():
    verdict = evaluate_vm(facts(data_exchange=False), HEALTHY)
    assert verdict.benefit_status == v.BENEFITS_ACTIVE


@pytest.mark.parametrize("name", ["Windows Server 2019 Datacenter", "Ubuntu", "Windows 11 Enterprise"])
def test_step2_no_applicable_benefit(name):
    verdict = evaluate_vm(facts(guest_os_name=name, guest_service_interface=None),
                          HostContext(v.OFF, v.SERVER_EXPIRED, v.OFF, "NODE1"))
    assert (verdict.benefit_status, verdict.action, verdict.reason_code, verdict.eligible_benefit) == (
        v.BENEFITS_NOT_APPLICABLE, None, "no-applicable-benefit", None)


def test_step3_host_attestation_off():
    verdict = evaluate_vm(facts(guest_service_interface=False), HostContext(v.OFF, v.SERVER_EXPIRED, v.ON, "N"))
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_SYNC, "Sync-AzureStackHCI", "host-attestation-off")


@pytest.mark.parametrize("status", [v.SERVER_EXPIRED, v.SERVER_INACTIVE, v.SERVER_ERROR])
def test_step3_server_not_active(status):
    verdict = evaluate_vm(facts(guest_os_version="10.0.17763"), HostContext(v.ON, status, v.ON, "NODE2"))
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_SYNC, "Sync-AzureStackHCI", "server-not-active")
    assert "NODE2" in verdict.reason and status in verdict.reason


def test_step4_build_below_minimum():
    verdict = evaluate_vm(facts(guest_os_version="10.0.20348.2340", guest_service_interface=False), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_INSTALL_UPDATES, "build-below-minimum")
    assert "KB5036909" in verdict.reason


def test_step5_guest_service_interface_off():
    verdict = evaluate_vm(facts(guest_service_interface=False), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.reason_code, verdict.access_method) == (
        v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_GSI, "guest-service-interface-off", "none")
    assert verdict.command == "Enable-VMIntegrationService -VMName 'vm01' -Name \"Guest Service Interface\""


def test_step5_does_not_apply_to_v1():
    assert evaluate_vm(legacy_facts(guest_service_interface=False), HEALTHY).benefit_status == v.BENEFITS_ACTIVE


def test_step6_legacy_os_support_off():
    verdict = evaluate_vm(legacy_facts(legacy_networking=False), HostContext(v.ON, v.SERVER_ACTIVE, v.OFF, "N"))
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, "Enable-AzStackHCIAttestation",
        "legacy-os-support-off")


def test_step6_does_not_apply_to_v2():
    verdict = evaluate_vm(facts(), HostContext(v.ON, v.SERVER_ACTIVE, v.OFF, "N"))
    assert verdict.benefit_status == v.BENEFITS_ACTIVE


@pytest.mark.parametrize("generation, state, note", [
    (1, "Running", "Generation 1 VM must be powered off"),
    (1, "Off", "Generation 1 VM must be powered off"),
    (None, None, "If this is a Generation 1 VM"),
    (2, "Running", None),
])
def test_step7_legacy_networking_missing(generation, state, note):
    verdict = evaluate_vm(legacy_facts(legacy_networking=False, generation=generation, state=state), HEALTHY)
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code) == (
        v.BENEFITS_INACTIVE, v.ACTION_SET_UP_LEGACY_NETWORKING, "Add-AzStackHCIVMAttestation -VMName 'vm01'",
        "legacy-networking-missing")
    if note:
        assert any(note in item for item in verdict.notes) and note in verdict.reason
        assert "Stop-VM -Name 'vm01'" in verdict.reason
    else:
        assert not verdict.notes


@pytest.mark.parametrize("gsi, nic, legacy, access", [
    (True, False, v.ON, "v2"), (True, True, v.ON, "v2+v1"), (True, True, v.OFF, "v2"),
])
def test_step8_active_v2(gsi, nic, legacy, access):
    verdict = evaluate_vm(facts(guest_service_interface=gsi, legacy_networking=nic),
                          HostContext(v.ON, v.SERVER_ACTIVE, legacy, "N"))
    assert (verdict.benefit_status, verdict.action, verdict.command, verdict.reason_code, verdict.access_method) == (
        v.BENEFITS_ACTIVE, None, None, "active", access)


@pytest.mark.parametrize("name, version", [
    ("Windows 10 Enterprise multi-session", "10.0.19045.4291"),
    ("Windows Server 2012 R2 Datacenter", "6.3.9600"),
])
def test_active_v1_guest_is_verified_over_legacy_networking_even_with_gsi_on(name, version):
    verdict = evaluate_vm(legacy_facts(guest_os_name=name, guest_os_version=version, guest_service_interface=True),
                          HEALTHY)
    assert (verdict.benefit_status, verdict.access_method) == (v.BENEFITS_ACTIVE, v.ACCESS_BOTH)
    assert "active through legacy OS networking (v1)." in verdict.reason
    assert "Guest Service Interface" not in verdict.reason


@pytest.mark.parametrize("version", ["garbage", "1.2.3.4", "0.0.0.0"])
def test_unreadable_version_is_an_unknown_build_not_below(version):
    verdict = evaluate_vm(facts(guest_os_version=version), HEALTHY)
    assert (verdict.benefit_status, verdict.reason_code, verdict.action) == (
        v.BENEFITS_UNKNOWN, "os-build-unknown", None)
    assert repr(version) in verdict.reason and "20348.2402" in verdict.reason
    assert "no source reported" not in verdict.reason


def test_first_match_wins():
    everything_wrong = legacy_facts(guest_os_version="10.0.19045.1", legacy_networking=False)
    assert evaluate_vm(everything_wrong, HostContext(v.OFF, v.SERVER_EXPIRED, v.OFF, "N")).reason_code == \
        "host-attestation-off"
    assert evaluate_vm(everything_wrong, HostContext(v.ON, v.SERVER_EXPIRED, v.OFF, "N")).reason_code == \
        "server-not-active"
    assert evaluate_vm(everything_wrong, HostContext(v.ON, v.SERVER_ACTIVE, v.OFF, "N")).reason_code == \
        "build-below-minimum"
    fixed_build = replace(everything_wrong, guest_os_version="10.0.19045.4291")
    assert evaluate_vm(fixed_build, HostContext(v.ON, v.SERVER_ACTIVE, v.OFF, "N")).reason_code == \
        "legacy-os-support-off"
    assert evaluate_vm(fixed_build, HEALTHY).reason_code == "legacy-networking-missing"


# ----------------------------------------------------------------------------- unknown facts

def test_arm_only_is_unknown_not_active():
    vm = facts(data_exchange=None, guest_service_interface=None, legacy_networking=None, generation=None)
    verdict = evaluate_vm(vm, HostContext(v.ON, v.SERVER_ACTIVE, v.UNKNOWN, "NODE1"))
    assert (verdict.benefit_status, verdict.reason_code, verdict.action, verdict.access_method) == (
        v.BENEFITS_UNKNOWN, "guest-service-interface-unknown", None, None)
    assert verdict.eligible_benefit == AE
    assert "Guest Service Interface" in verdict.reason
    assert "az stack-hci vm-verification probe" in verdict.reason and "NODE1" in verdict.reason


def test_v1_unknowns_are_listed_in_order():
    vm = legacy_facts(legacy_networking=None, guest_service_interface=None)
    verdict = evaluate_vm(vm, HostContext(v.ON, v.SERVER_ACTIVE, v.UNKNOWN, "NODE1"))
    assert verdict.benefit_status == v.BENEFITS_UNKNOWN
    assert verdict.unknown == ("legacy-os-support-unknown", "legacy-networking-unknown")
    assert verdict.reason_code == "legacy-os-support-unknown"


def test_unknown_build_is_not_below():
    verdict = evaluate_vm(facts(guest_os_version=None), HEALTHY)
    assert (verdict.benefit_status, verdict.reason_code) == (v.BENEFITS_UNKNOWN, "os-build-unknown")
    assert "20348.2402" in verdict.reason


@pytest.mark.parametrize("host, code", [
    (HostContext(v.UNKNOWN, v.SERVER_ACTIVE, v.ON, "N"), "host-attestation-unknown"),
    (HostContext(v.ON, v.UNKNOWN, v.ON, "N"), "server-status-unknown"),
    (HostContext(v.ON, v.UNKNOWN, v.ON, None), "server-status-unknown"),
])
def test_unknown_host_is_not_off(host, code):
    verdict = evaluate_vm(facts(), host)
    assert (verdict.benefit_status, verdict.reason_code, verdict.action) == (v.BENEFITS_UNKNOWN, code, None)


def test_a_certain_failure_after_an_unknown_step_is_inactive():
    verdict = evaluate_vm(facts(guest_service_interface=False), HostContext(v.UNKNOWN, v.UNKNOWN, v.ON, "N"))
    assert (verdict.benefit_status, verdict.reason_code, verdict.action) == (
        v.BENEFITS_INACTIVE, "guest-service-interface-off", v.ACTION_TURN_ON_GSI)
    assert verdict.unknown == ("host-attestation-unknown", "server-status-unknown")
    assert "Also not known" in verdict.reason


def test_no_applicable_benefit_needs_no_host_facts():
    verdict = evaluate_vm(facts(guest_os_name="Windows Server 2019 Datacenter", guest_service_interface=None),
                          HostContext())
    assert verdict.benefit_status == v.BENEFITS_NOT_APPLICABLE


_TRISTATE = st.sampled_from([True, False, None])


@given(gsi=_TRISTATE, nic=_TRISTATE, exchange=_TRISTATE,
       host=st.sampled_from([v.ON, v.OFF, v.UNKNOWN]), server=st.sampled_from(list(v.SERVER_STATUSES)),
       legacy=st.sampled_from([v.ON, v.OFF, v.UNKNOWN]),
       os_name=st.sampled_from([None, "windows", "Windows Server 2022 Datacenter: Azure Edition",
                                "Windows 10 Enterprise multi-session", "Windows Server 2012 R2 Datacenter",
                                "Windows 11 Enterprise multi-session", "Ubuntu"]),
       version=st.sampled_from([None, "10.0.20348", "10.0.19045.4291", "10.0.22631.1", "6.3.9600", "junk"]))
def test_verdict_is_always_well_formed(gsi, nic, exchange, host, server, legacy, os_name, version):
    vm = facts(guest_service_interface=gsi, legacy_networking=nic, data_exchange=exchange, guest_os_name=os_name,
               guest_os_version=version)
    verdict = evaluate_vm(vm, HostContext(host, server, legacy, "N"))
    assert verdict.benefit_status in v.BENEFIT_STATUSES
    assert verdict.reason_code in REASON_CODES
    assert verdict.reason and "\n" not in verdict.reason
    assert (verdict.action is None) == (verdict.command is None) or verdict.action == v.ACTION_INSTALL_UPDATES
    if verdict.benefit_status == v.BENEFITS_ACTIVE:
        # Active only when every fact the steps need is known.
        assert not verdict.unknown and host == v.ON and server == v.SERVER_ACTIVE
    if verdict.benefit_status == v.BENEFITS_INACTIVE:
        assert verdict.action is not None
    if gsi is None and verdict.needs == "v2" and verdict.benefit_status == v.BENEFITS_ACTIVE:
        pytest.fail("unknown Guest Service Interface judged on")


# ----------------------------------------------------------------------------- quoting

HOSTILE = "x'; Remove-VM *; '"


def test_hostile_name_is_inert_in_every_command():
    literal = vm_name_argument(HOSTILE)
    assert literal == "'x''; Remove-VM `*; '''"
    assert _single_quoted_value(literal) == "x'; Remove-VM `*; '"
    for vm in (facts(name=HOSTILE, guest_service_interface=False),
               facts(name=HOSTILE, guest_os_name=None, data_exchange=False),
               legacy_facts(name=HOSTILE, legacy_networking=False)):
        command = evaluate_vm(vm, HEALTHY).command
        argument = command.split("-VMName ", 1)[1]
        value, rest = _split_literal(argument)
        assert value == "x'; Remove-VM `*; '"
        assert rest in ("", ' -Name "Guest Service Interface"', ' -Name "Key-Value Pair Exchange"')


@pytest.mark.parametrize("name, expected", [
    ("vm01", "'vm01'"),
    ("o'brien", "'o''brien'"),
    ("o\u2019brien", "'o\u2019\u2019brien'"),
    ("\u2018q\u201b", "'\u2018\u2018q\u201b\u201b'"),
    ("web[1]", "'web`[1`]'"),
    ("a?b", "'a`?b'"),
    ("tick`only", "'tick`only'"),
    ("tick`*", "'tick```*'"),
    ("$(Stop-Computer)", "'$(Stop-Computer)'"),
    ('say "hi"', "'say \"hi\"'"),
])
def test_vm_name_argument(name, expected):
    assert vm_name_argument(name) == expected


@given(st.text())
def test_powershell_literal_round_trips(text):
    literal = powershell_literal(text)
    assert _single_quoted_value(literal) == text


def _split_literal(text):
    """Read one PowerShell single-quoted literal from the start of text: (value, rest)."""
    quotes = "'\u2018\u2019\u201a\u201b"
    assert text[0] in quotes
    value, index = [], 1
    while True:
        char = text[index]
        if char in quotes:
            if index + 1 < len(text) and text[index + 1] in quotes:
                value.append(char)
                index += 2
                continue
            return "".join(value), text[index + 1:]
        value.append(char)
        index += 1


def _single_quoted_value(literal):
    value, rest = _split_literal(literal)
    assert rest == ""
    return value


# ----------------------------------------------------------------------------- merging

MACHINE = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01",
    "name": "vm01", "type": "Microsoft.HybridCompute/machines", "kind": "HCI",
    "properties": {"osName": "windows", "osSku": "Windows Server 2022 Datacenter Azure Edition",
                   "osVersion": "10.0.20348.2402", "osType": "windows", "vmId": "smbios-id-not-hyper-v",
                   "parentClusterResourceId": "/subscriptions/s/resourceGroups/rg/providers/"
                                              "Microsoft.AzureStackHCI/clusters/c1"},
}
INSTANCE = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01/providers/"
          "Microsoft.AzureStackHCI/virtualMachineInstances/default",
    "name": "default", "type": "microsoft.azurestackhci/virtualmachineinstances",
    "properties": {
        "hardwareProfile": {"vmSize": "Custom", "processors": 4, "memoryMB": 8192},
        "securityProfile": {"enableTPM": True, "uefiSettings": {"secureBootEnabled": True},
                            "securityType": "TrustedLaunch"},
        "osProfile": {"computerName": "web01"},
        "status": {"powerState": "Running"},
        "instanceView": {"vmAgent": {"vmConfigAgentVersion": "1.0"}},
        "vmId": "aaaaaaaa-0000-0000-0000-000000000001",
        "hyperVVmId": "1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
        "hostNodeName": "NODE1",
    },
}
HOST_VM = {"name": "vm01", "vmId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "generation": 2, "state": "Running",
           "guestServiceInterface": True, "dataExchange": True, "legacyNetworking": False,
           "guestOs": {"name": "Windows Server 2022 Datacenter: Azure Edition", "version": "10.0.20348"}}


def test_merge_arm_only():
    vm = merge_vm_facts(MACHINE, INSTANCE)
    assert (vm.name, vm.vm_id, vm.server, vm.state, vm.guest_os_name, vm.guest_os_version, vm.security_type) == (
        "vm01", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "NODE1", "Running",
        "Windows Server 2022 Datacenter Azure Edition", "10.0.20348.2402", "TrustedLaunch")
    assert (vm.generation, vm.data_exchange, vm.guest_service_interface, vm.legacy_networking) == (
        None, None, None, None)
    assert set(vm.sources.values()) == {"arm"}
    assert vm.conflicts == ()


def test_merge_host_only():
    vm = merge_vm_facts(host_vm=HOST_VM, host_name="NODE1")
    assert (vm.server, vm.generation, vm.guest_service_interface, vm.guest_os_version) == (
        "NODE1", 2, True, "10.0.20348")
    assert set(vm.sources.values()) == {"host"}
    assert vm.security_type is None


def test_merge_agreeing_sources_keep_the_more_precise_version():
    vm = merge_vm_facts(MACHINE, INSTANCE, HOST_VM, host_name="NODE1")
    assert vm.conflicts == ()
    assert vm.guest_os_version == "10.0.20348.2402" and vm.sources["guestOsVersion"] == "arm"
    assert vm.guest_os_name == "Windows Server 2022 Datacenter: Azure Edition"
    assert vm.sources["guestOsName"] == "host" and vm.sources["guestServiceInterface"] == "host"
    assert evaluate_vm(vm, HEALTHY).benefit_status == v.BENEFITS_ACTIVE


def test_merge_host_wins_and_conflicts_are_recorded():
    host_vm = dict(HOST_VM, state=3, guestOs={"name": "Windows Server 2019 Datacenter", "version": "10.0.17763"},
                   computerName="NODE2")
    vm = merge_vm_facts(MACHINE, INSTANCE, host_vm, host_name="NODE2")
    assert (vm.state, vm.server, vm.guest_os_name, vm.guest_os_version) == (
        "Off", "NODE2", "Windows Server 2019 Datacenter", "10.0.17763")
    assert {conflict["fact"]: (conflict["arm"], conflict["host"]) for conflict in vm.conflicts} == {
        "server": ("NODE1", "NODE2"), "state": ("Running", "Off"),
        "guestOsName": ("Windows Server 2022 Datacenter Azure Edition", "Windows Server 2019 Datacenter"),
        "guestOsVersion": ("10.0.20348.2402", "10.0.17763"),
    }
    assert all(vm.sources[fact] == "host" for fact in ("server", "state", "guestOsName", "guestOsVersion"))


def test_merge_vm_id_conflict_uses_the_hyper_v_id_only():
    vm = merge_vm_facts(MACHINE, INSTANCE, dict(HOST_VM, vmId="{99999999-0000-0000-0000-000000000000}"))
    assert vm.vm_id == "99999999-0000-0000-0000-000000000000"
    assert [conflict["fact"] for conflict in vm.conflicts] == ["vmId"]
    no_hyperv_id = {**INSTANCE, "properties": {**INSTANCE["properties"], "hyperVVmId": None}}
    vm = merge_vm_facts(MACHINE, no_hyperv_id, HOST_VM)
    assert vm.conflicts == () and vm.vm_id == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert merge_vm_facts(MACHINE, no_hyperv_id).vm_id == "aaaaaaaa-0000-0000-0000-000000000001"


def test_merge_equivalent_states_and_fqdn_are_not_conflicts():
    instance = {**INSTANCE, "properties": {**INSTANCE["properties"], "status": {"powerState": "Stopped"},
                                           "hostNodeName": "node1.contoso.example"}}
    vm = merge_vm_facts(MACHINE, instance, dict(HOST_VM, state="Off"), host_name="NODE1")
    assert vm.conflicts == ()


def test_merge_tolerates_odd_documents():
    odd_machine = {"NAME": "vm02", "Properties": {"OSNAME": None, "osSku": None, "osVersion": None}}
    odd_instance = {"properties": {"securityProfile": None, "status": None, "storageProfile":
                                   {"osDisk": {"osType": "Linux"}}}}
    vm = merge_vm_facts(odd_machine, odd_instance, None)
    assert (vm.name, vm.guest_os_name, vm.security_type) == ("vm02", "Linux", "Standard")
    assert evaluate_vm(vm, HEALTHY).benefit_status == v.BENEFITS_NOT_APPLICABLE
    for machine, instance, host in ((None, None, None), ([], "x", 5), ({"properties": []}, {"properties": "x"}, {})):
        assert isinstance(merge_vm_facts(machine, instance, host), VmFacts)
    name_from_id = merge_vm_facts(None, {"id": INSTANCE["id"], "properties": {}})
    assert name_from_id.name == "vm01" and name_from_id.security_type == "Standard"


def test_merge_host_numbers_and_strings():
    vm = merge_vm_facts(host_vm={"name": "a", "state": "32779", "generation": "1", "guestServiceInterface": "True",
                                 "dataExchange": 0, "legacyNetworking": None, "guestOs": None})
    assert (vm.state, vm.generation, vm.guest_service_interface, vm.data_exchange, vm.legacy_networking) == (
        "FastSaved", 1, True, False, None)


def test_find_host_vm():
    vms = [{"name": "VM01", "vmId": "other"}, HOST_VM, {"name": "vm03"}]
    assert find_host_vm(vms, *arm_vm_keys(MACHINE, INSTANCE)) is HOST_VM
    assert find_host_vm(vms, None, "vm03") is vms[2]
    assert find_host_vm(vms, "{1B4E28BA-2FA1-11D2-883F-0016D3CCA427}") is HOST_VM
    assert find_host_vm(vms, None, "nope") is None
    assert find_host_vm(None, "x", "y") is None


def test_host_context_from_cluster():
    class Server:
        def __init__(self, name, status, legacy):
            self.name, self.status, self.legacy_os_support = name, status, legacy

    class Value:
        def __init__(self, value):
            self.value = value

    class Cluster:
        host = Value(v.ON)
        legacy = Value(v.ON)
        servers = (Server("NODE1", v.SERVER_ACTIVE, v.ON), Server("NODE2", v.SERVER_EXPIRED, v.OFF))

    assert host_context_from_cluster(Cluster, "node2.contoso.example") == HostContext(
        v.ON, v.SERVER_EXPIRED, v.OFF, "NODE2")
    assert host_context_from_cluster(Cluster, None) == HostContext(v.ON, v.UNKNOWN, v.ON, None)


# ----------------------------------------------------------------------------- views

LIST_FIELDS = ["name", "server", "guestOs", "osBuild", "eligibleBenefit", "benefitStatus", "action", "command",
               "accessMethod", "guestServiceInterface", "dataExchange", "legacyNetworking", "generation", "reason",
               "reasonCode", "sources"]
SHOW_FIELDS = LIST_FIELDS + ["vmId", "state", "securityType", "notes", "facts", "conflicts"]


def test_vm_view_fields_and_order():
    vm = merge_vm_facts(MACHINE, INSTANCE, dict(HOST_VM, guestServiceInterface=False), host_name="NODE1")
    verdict = evaluate_vm(vm, HEALTHY)
    row = vm_view(vm, verdict)
    assert list(row) == LIST_FIELDS
    assert row["osBuild"] == "20348.2402" and row["guestOs"] == "Windows Server 2022 Datacenter: Azure Edition"
    assert row["command"] == 'Enable-VMIntegrationService -VMName \'vm01\' -Name "Guest Service Interface"'
    assert isinstance(row["sources"], list) and {"fact": "guestServiceInterface", "source": "host"} in row["sources"]
    detail = vm_view(vm, verdict, detail=True)
    assert list(detail) == SHOW_FIELDS
    assert detail["securityType"] == "TrustedLaunch" and detail["facts"]["generation"] == 2
    assert isinstance(detail["conflicts"], list) and isinstance(detail["notes"], list)


def test_to_dict_is_camel_case():
    vm = merge_vm_facts(MACHINE, INSTANCE, HOST_VM)
    assert list(vm.to_dict()) == ["name", "vmId", "server", "generation", "state", "guestOsName", "guestOsVersion",
                                  "guestOsSku", "dataExchange", "guestServiceInterface", "legacyNetworking",
                                  "securityType", "sources", "conflicts"]
    verdict = evaluate_vm(vm, HEALTHY).to_dict()
    assert verdict["benefitStatus"] == v.BENEFITS_ACTIVE and verdict["minimumBuild"] == "20348.2402 (KB5036909)"
    assert all(key[0].islower() and "_" not in key for key in verdict)


def test_summarize():
    verdicts = [evaluate_vm(facts(), HEALTHY), evaluate_vm(facts(guest_service_interface=False), HEALTHY),
                evaluate_vm(facts(guest_os_name="Ubuntu"), HEALTHY),
                evaluate_vm(facts(guest_os_name=None, data_exchange=False), HEALTHY),
                evaluate_vm(facts(), HEALTHY)]
    assert summarize(verdicts) == {"activeBenefits": 2, "inactiveBenefits": 1, "unknown": 1,
                                   "noApplicableBenefits": 1, "total": 5}
    assert summarize([{"benefitStatus": "Active benefits"}, {"benefitStatus": "something new"}]) == {
        "activeBenefits": 1, "inactiveBenefits": 0, "unknown": 1, "noApplicableBenefits": 0, "total": 2}
    assert summarize([])["total"] == 0
