# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The Trusted launch rules (seed 002), one case per rule, on hand-made facts. Pure."""

from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core import trusted_launch as tl
from azext_stack_hci_verify.core.guestfacts import GuestFacts
from azext_stack_hci_verify.core.trusted_launch import Reading
from azext_stack_hci_verify.core.trusted_launch.checks import evaluate_vm
from azext_stack_hci_verify.core.trusted_launch.hosts import evaluate_cluster

SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
BASE = "/subscriptions/{}/resourceGroups/rg".format(SUB)
W11 = BASE + "/providers/Microsoft.AzureStackHCI/marketplaceGalleryImages/win11"
WS22 = BASE + "/providers/Microsoft.AzureStackHCI/marketplaceGalleryImages/ws2022"
CUSTOM = BASE + "/providers/Microsoft.AzureStackHCI/galleryImages/golden"
VM_ID = "6f1c0041-7d2e-4c1d-9b3a-5e8d7c6b0041"
ADMINS = {"identity": "BUILTIN\\Administrators", "sid": "S-1-5-32-544", "type": "Allow", "rights": "FullControl"}
SYSTEM = {"identity": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18", "type": "Allow", "rights": "FullControl"}
USERS = {"identity": "NT AUTHORITY\\Authenticated Users", "sid": "S-1-5-11", "type": "Allow",
         "rights": "ReadAndExecute", "inherited": True}
REQUIRE_6600 = {"name": "lm", "displayName": "LM", "enabled": True, "inboundSecurity": "Require",
                "outboundSecurity": "Require", "protocol": "TCP", "localPorts": ["6600"], "remotePorts": ["Any"]}
REQUIRE_6600_OUT = dict(REQUIRE_6600, name="lm-out", localPorts=["Any"], remotePorts=["6600"])


def machine(name="vm01", security=None, image=W11, host="N1"):
    instance = {"properties": {"securityProfile": security, "hostNodeName": host, "hyperVVmId": VM_ID,
                               "storageProfile": {"imageReference": {"id": image} if image else None}}}
    return {"id": BASE + "/providers/Microsoft.HybridCompute/machines/" + name, "name": name}, instance


def trusted(tpm=True, secure_boot=True, security_type="TrustedLaunch", **kwargs):
    document, instance = machine(security={"enableTPM": tpm, "uefiSettings": {"secureBootEnabled": secure_boot},
                                           "securityType": security_type}, **kwargs)
    return tl.vm_facts_from_arm(document, instance)


def image_document(publisher="MicrosoftWindowsDesktop", offer="windows-11", sku="win11-24h2-ent"):
    return {"properties": {"osType": "Windows", "identifier": {"publisher": publisher, "offer": offer, "sku": sku}}}


HEALTHY = Reading({"properties": {"healthStatus": "Healthy", "attestSecureBootEnabled": "Enabled",
                                  "attestationCertValidated": "Valid", "bootIntegrityValidated": "Valid"}})


def host_facts(name="N1", igvm="Running", acl=None, ipsec=None, migration=None, present=True):
    section = {"igvmAgent": {"present": present, "status": igvm} if igvm is not None or not present else None,
               "vmConfigurationAcl": acl if acl is not None else
               [{"path": "C:\\VMs", "vms": [{"name": "vm01", "vmId": VM_ID}], "access": [ADMINS, SYSTEM]}],
               "ipsecRules": ipsec if ipsec is not None else [REQUIRE_6600, REQUIRE_6600_OUT],
               "liveMigration": migration}
    return SimpleNamespace(computer_name=name, collected_at=None, source=name + ".json",
                           document={"schemaVersion": 1, "trustedLaunch": section})


def cluster(nodes=("N1",), config=True, registered=True):
    configuration = {"attestationResourceId": BASE + "/providers/Microsoft.Attestation/attestationProviders/a",
                     "relyingPartyServiceEndpoint": "https://rp", "attestationServiceEndpoint": "https://as"}
    return SimpleNamespace(name="c1", nodes=tuple(SimpleNamespace(name=n) for n in nodes),
                           has_reported_properties=registered,
                           isolated_vm_attestation_configuration=configuration if config else None)


def verdict(vm=None, attestation=HEALTHY, image=Reading(image_document()), facts=(None,), guest=None, **kwargs):
    facts = [host_facts()] if facts == (None,) else list(facts)
    context = evaluate_cluster(cluster(**kwargs), facts)
    return evaluate_vm(vm or trusted(), attestation, image, context, guest)


def codes(result):
    return {check.check: (check.status, check.reason_code) for check in result.checks}


# ----------------------------------------------------------------------------- the VM

def test_everything_in_place_is_passed_and_boot_integrity_is_not_available():
    result = verdict()
    assert result.status == tl.PASSED
    assert codes(result)["boot-integrity"] == (tl.NOT_AVAILABLE, "boot-integrity-not-available")
    assert [check.check for check in result.checks] == [
        "security-type", "secure-boot", "vtpm", "vtpm-state-transfer", "guest-attestation", "guest-image",
        "boot-integrity", "vm-state-files", "live-migration-protection"]


@pytest.mark.parametrize("tpm, secure_boot, failing", [
    (False, True, "vtpm"), (True, False, "secure-boot"), (False, False, "secure-boot")])
def test_trusted_launch_with_tpm_or_secure_boot_off_is_failed_with_the_api_rule(tpm, secure_boot, failing):
    result = verdict(trusted(tpm=tpm, secure_boot=secure_boot))
    assert result.status == tl.FAILED
    check = result.check(failing)
    assert check.status == tl.FAILED and tl.RULE_BOTH_ON in check.reason and check.command


def test_absent_security_profile_values_are_unknown_not_off():
    document, instance = machine(security={"securityType": "TrustedLaunch"})
    result = verdict(tl.vm_facts_from_arm(document, instance))
    assert codes(result)["secure-boot"] == (tl.UNKNOWN, "secure-boot-not-reported")
    assert codes(result)["vtpm"] == (tl.UNKNOWN, "vtpm-not-reported")
    assert result.status == tl.UNKNOWN


@pytest.mark.parametrize("raw, expected", [(None, "Standard"), ("", "Standard"), ("trustedlaunch", "TrustedLaunch"),
                                           ("CONFIDENTIALVM", "ConfidentialVM"), ("Standard", "Standard"),
                                           ("SomethingNew", "SomethingNew")])
def test_security_type_is_read_in_any_case(raw, expected):
    assert tl.normalize_security_type(raw) == expected


def test_standard_vm_is_not_applicable_with_one_check():
    """Trusted launch checks apply to Trusted launch and Confidential VMs; a Standard VM has the one
    security-type result, Not applicable, and its row says so at the top level."""
    document, instance = machine(security=None)
    result = verdict(tl.vm_facts_from_arm(document, instance))
    assert codes(result) == {"security-type": (tl.NOT_APPLICABLE, "not-trusted-launch")}
    assert result.status == tl.NOT_APPLICABLE and result.checks[0].command
    row = tl.vm_row(result)
    assert (row["status"], row["reasonCode"]) == (tl.NOT_APPLICABLE, "not-trusted-launch") and row["action"]


def test_unknown_security_type_and_unreadable_instance_are_unknown():
    assert codes(verdict(trusted(security_type="Quantum")))["security-type"] == (tl.UNKNOWN, "unrecognized-value")
    unread = tl.vm_facts_from_arm(machine()[0], None, "ARM answered 500")
    result = verdict(unread)
    assert codes(result) == {"security-type": (tl.UNKNOWN, "instance-not-readable")}
    assert "ARM answered 500" in result.checks[0].reason


# ----------------------------------------------------------------------------- attestation

@pytest.mark.parametrize("reading, status, code", [
    (Reading(status=404, error="ARM answered 404"), tl.UNKNOWN, "attestation-not-reported"),
    (None, tl.UNKNOWN, "attestation-not-reported"),
    (Reading(status=403, error="ARM answered 403"), tl.UNKNOWN, "attestation-not-readable"),
    (Reading(error="ARM did not answer"), tl.UNKNOWN, "attestation-not-readable"),
    (HEALTHY, tl.PASSED, "attestation-healthy"),
    (Reading({"properties": {"healthStatus": "Unhealthy", "errorMessage": "bad"}}), tl.FAILED,
     "attestation-unhealthy"),
    (Reading({"properties": {"healthStatus": "Healthy", "attestSecureBootEnabled": "Disabled"}}), tl.FAILED,
     "attestation-unhealthy"),
    (Reading({"properties": {"healthStatus": "Healthy", "attestationCertValidated": "Invalid"}}), tl.FAILED,
     "attestation-unhealthy"),
    (Reading({"properties": {"healthStatus": "Pending"}}), tl.UNKNOWN, "attestation-pending"),
    (Reading({"properties": {}}), tl.UNKNOWN, "attestation-pending"),
    (Reading({"properties": {"healthStatus": "Degraded"}}), tl.UNKNOWN, "unrecognized-value"),
])
def test_guest_attestation(reading, status, code):
    result = verdict(attestation=reading)
    assert codes(result)["guest-attestation"] == (status, code)


def test_a_404_is_never_failed_and_names_the_missing_attestation_configuration():
    result = verdict(attestation=Reading(status=404), config=False)
    check = result.check("guest-attestation")
    assert check.status == tl.UNKNOWN and "isolatedVmAttestationConfiguration" in check.reason


@given(st.sampled_from(["Valid", "Invalid", "Unknown", None, "x"]))
def test_boot_integrity_is_never_passed_whatever_arm_says(value):
    reading = Reading({"properties": {"healthStatus": "Healthy", "bootIntegrityValidated": value}})
    check = verdict(attestation=reading).check("boot-integrity")
    assert check.status == tl.NOT_AVAILABLE and check.found == value


@pytest.mark.parametrize("value", [True, "true", "True", "TRUE", 1, "Valid", "valid"], ids=repr)
def test_boot_integrity_is_never_passed_even_when_arm_says_true(value):
    # Seed 002: guest boot integrity verification is not available; a true from ARM is shown, not judged.
    reading = Reading({"properties": {"healthStatus": "Healthy", "bootIntegrityValidated": value}})
    check = verdict(attestation=reading).check("boot-integrity")
    assert check.status != tl.PASSED
    assert (check.status, check.reason_code) == (tl.NOT_AVAILABLE, "boot-integrity-not-available")
    assert check.found == str(value) and "not available" in check.reason


# ----------------------------------------------------------------------------- image

@pytest.mark.parametrize("image_id, reading, status, code, source", [
    (W11, Reading(image_document()), tl.PASSED, "windows-11-marketplace", "Azure Marketplace"),
    (W11, Reading(image_document(offer="Windows-11", sku="win11-23h2-avd")), tl.PASSED, "windows-11-marketplace",
     "Azure Marketplace"),
    (WS22, Reading(image_document("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-azure-edition")),
     tl.WARNING, "image-not-windows-11", "Azure Marketplace"),
    (W11, Reading(image_document("Canonical", "ubuntu-24_04-lts", "server")), tl.WARNING, "image-not-windows-11",
     "Azure Marketplace"),
    (CUSTOM, Reading(image_document("Contoso", "w11-golden", "2026-10")), tl.WARNING, "image-not-from-marketplace",
     "Custom"),
    (CUSTOM, Reading(status=404), tl.WARNING, "image-not-from-marketplace", "Custom"),
    (W11, Reading(status=404), tl.UNKNOWN, "image-not-resolved", "Azure Marketplace"),
    (W11, Reading({"properties": {}}), tl.UNKNOWN, "image-not-resolved", "Azure Marketplace"),
    (BASE + "/providers/Microsoft.Compute/images/x", None, tl.UNKNOWN, "image-not-resolved", None),
    (None, None, tl.UNKNOWN, "image-not-resolved", None),
])
def test_guest_image(image_id, reading, status, code, source):
    result = verdict(trusted(image=image_id), image=reading)
    assert codes(result)["guest-image"] == (status, code)
    assert result.image["source"] == source
    if status == tl.WARNING:
        assert result.image["name"] in result.check("guest-image").reason


# ----------------------------------------------------------------------------- guest facts

def guest(**kwargs):
    values = {"source": "vm01.guest.json", "os_family": "Windows", "secure_boot": True, "tpm_present": True,
              "tpm_ready": True, "tpm_version": "2.0", "vbs": "Running"}
    values.update(kwargs)
    return GuestFacts(**values)


@pytest.mark.parametrize("facts, check, status, code", [
    (guest(), "vbs", tl.PASSED, "vbs-running"),
    (guest(vbs="Off"), "vbs", tl.WARNING, "vbs-not-running"),
    (guest(vbs="EnabledNotRunning"), "vbs", tl.WARNING, "vbs-not-running"),
    (guest(vbs=None), "vbs", tl.UNKNOWN, "vbs-not-reported"),
    (guest(secure_boot=False), "secure-boot", tl.FAILED, "secure-boot-off"),
    (guest(tpm_present=False), "vtpm", tl.FAILED, "vtpm-off"),
    (guest(tpm_version="1.2"), "vtpm", tl.FAILED, "vtpm-off"),
    (guest(tpm_ready=False), "vtpm", tl.WARNING, "tpm-not-ready"),
])
def test_guest_facts_decide_what_the_guest_sees(facts, check, status, code):
    assert codes(verdict(guest=facts))[check] == (status, code)


def test_guest_facts_settle_what_arm_does_not_report_and_linux_has_no_vbs_check():
    document, instance = machine(security={"securityType": "TrustedLaunch"})
    result = verdict(tl.vm_facts_from_arm(document, instance), guest=guest(os_family="Linux", tpm_ready=None))
    assert codes(result)["secure-boot"] == (tl.PASSED, "secure-boot-on")
    assert codes(result)["vtpm"] == (tl.PASSED, "vtpm-on")
    assert "vbs" not in codes(result)


# ----------------------------------------------------------------------------- the cluster

def test_igvm_agent_per_machine():
    assert codes(verdict(nodes=("N1", "N2"), facts=[host_facts("N1"), host_facts("N2.contoso.example")])
                 )["vtpm-state-transfer"] == (tl.PASSED, "igvm-agent-running")
    stopped = verdict(nodes=("N1", "N2"), facts=[host_facts("N1"), host_facts("N2", igvm="Stopped")])
    check = stopped.check("vtpm-state-transfer")
    assert (check.status, check.reason_code) == (tl.FAILED, "igvm-agent-not-running")
    assert "Start-Service -Name IgvmAgent" in check.command and "'N2'" in check.command
    missing = verdict(facts=[host_facts("N1", igvm=None, present=False)])
    assert codes(missing)["vtpm-state-transfer"] == (tl.FAILED, "igvm-agent-missing")
    unknown = verdict(nodes=("N1", "N2"), facts=[host_facts("N1")])
    check = unknown.check("vtpm-state-transfer")
    assert (check.status, check.reason_code) == (tl.UNKNOWN, "host-facts-needed") and "N2" in check.reason


def test_attestation_configuration():
    context = evaluate_cluster(cluster(), [])
    assert context.check("attestation-configuration").status == tl.PASSED
    assert evaluate_cluster(cluster(config=False), []).check("attestation-configuration").status == tl.FAILED
    assert evaluate_cluster(cluster(config=False, registered=False), []).check(
        "attestation-configuration").status == tl.UNKNOWN
    partial = cluster()
    partial.isolated_vm_attestation_configuration = {"attestationResourceId": "x"}
    check = evaluate_cluster(partial, []).check("attestation-configuration")
    assert check.status == tl.WARNING and "attestationServiceEndpoint" in check.reason


@pytest.mark.parametrize("access, status", [
    ([ADMINS, SYSTEM], tl.PASSED),
    ([ADMINS, SYSTEM, {"identity": "NT VIRTUAL MACHINE\\6F1C0041", "sid": "S-1-5-83-1-1", "type": "Allow"}],
     tl.PASSED),
    ([ADMINS, SYSTEM, dict(USERS, type="Deny")], tl.PASSED),
    ([ADMINS, SYSTEM, dict(USERS, type=1)], tl.PASSED),
    ([ADMINS, SYSTEM, USERS], tl.FAILED),
    ([ADMINS, {"identity": "CONTOSO\\hv-operators", "sid": "S-1-5-21-1-2-3-1104", "type": 0}], tl.FAILED),
    ([], tl.UNKNOWN),
])
def test_vm_state_files_allow_only_host_administrators(access, status):
    acl = [{"path": "C:\\VMs", "vms": [{"name": "vm01", "vmId": VM_ID}], "access": access}]
    check = verdict(facts=[host_facts(acl=acl)]).check("vm-state-files")
    assert check.status == status
    if status == tl.FAILED:
        assert check.command.startswith("Invoke-Command -ComputerName 'N1'") and "icacls 'C:\\VMs'" in check.command


def test_vm_state_files_command_breaks_inheritance_for_inherited_entries_and_quotes_paths():
    acl = [{"path": "C:\\VM's", "vms": [{"name": "vm01"}], "access": [ADMINS, USERS]}]
    check = verdict(facts=[host_facts(acl=acl)]).check("vm-state-files")
    assert "icacls 'C:\\VM''s' /inheritance:d" in check.command and "/remove:g '*S-1-5-11'" in check.command


def test_vm_state_files_of_a_vm_no_host_lists_are_unknown():
    acl = [{"path": "C:\\VMs", "vms": [{"name": "other", "vmId": "00000000-0000-0000-0000-000000000001"}],
            "access": [ADMINS]}]
    assert codes(verdict(facts=[host_facts(acl=acl)]))["vm-state-files"] == (tl.UNKNOWN, "host-facts-needed")
    assert codes(verdict(facts=[]))["vm-state-files"] == (tl.UNKNOWN, "host-facts-needed")
    error = [{"path": "C:\\VMs", "vms": [{"name": "vm01"}], "access": [], "error": "Access is denied"}]
    assert "Access is denied" in verdict(facts=[host_facts(acl=error)]).check("vm-state-files").reason


IN_6600 = {"name": "in", "displayName": "LM in", "enabled": True, "inboundSecurity": "Require",
           "outboundSecurity": "Require", "protocol": "TCP", "localPorts": ["6600"], "remotePorts": ["Any"]}
OUT_6600 = dict(IN_6600, name="out", displayName="LM out", localPorts=["Any"], remotePorts=["6600"])


@pytest.mark.parametrize("rules, migration, status, code", [
    ([IN_6600, OUT_6600], None, tl.PASSED, "live-migration-ipsec"),
    ([dict(IN_6600, localPorts=["6000-7000"]), OUT_6600], {"performanceOption": "TCPIP"}, tl.PASSED,
     "live-migration-ipsec"),
    ([dict(IN_6600, localPorts=["445"]), dict(OUT_6600, remotePorts=["445"])], {"performanceOption": 2}, tl.PASSED,
     "live-migration-ipsec"),
    ([dict(IN_6600, inboundSecurity=2, outboundSecurity=2, protocol="6"), OUT_6600], None, tl.PASSED,
     "live-migration-ipsec"),
    ([dict(IN_6600, localPorts=[], remotePorts=[])], None, tl.PASSED, "live-migration-ipsec"),
    ([IN_6600, OUT_6600], {"performanceOption": "SMB"}, tl.WARNING, "live-migration-not-protected"),
    ([IN_6600], None, tl.WARNING, "live-migration-not-protected"),
    ([dict(IN_6600, remotePorts=["6600"]), OUT_6600], None, tl.WARNING, "live-migration-not-protected"),
    ([dict(IN_6600, inboundSecurity="Request"), OUT_6600], None, tl.WARNING, "live-migration-not-protected"),
    ([dict(IN_6600, enabled=False), OUT_6600], None, tl.WARNING, "live-migration-not-protected"),
    ([dict(IN_6600, protocol="UDP"), OUT_6600], None, tl.WARNING, "live-migration-not-protected"),
    ([], None, tl.WARNING, "live-migration-not-protected"),
])
def test_live_migration_protection(rules, migration, status, code):
    result = verdict(facts=[host_facts(ipsec=rules, migration=migration)])
    assert codes(result)["live-migration-protection"] == (status, code)


def test_live_migration_that_cannot_be_seen_is_a_warning_not_passed():
    check = verdict(facts=[]).check("live-migration-protection")
    assert (check.status, check.reason_code) == (tl.WARNING, "live-migration-protection-unseen")
    assert "not encrypted by default" in check.reason


# ----------------------------------------------------------------------------- status and views

@given(st.lists(st.sampled_from(tl.CHECK_STATUSES), min_size=1))
def test_status_is_the_most_severe_check(statuses):
    results = [tl.CheckResult("c{}".format(i), status, "code", "reason") for i, status in enumerate(statuses)]
    status = tl.derive_status(results)
    for candidate in (tl.FAILED, tl.WARNING, tl.UNKNOWN, tl.PASSED):
        if candidate in statuses:
            assert status == candidate
            break
    else:
        if tl.NOT_APPLICABLE in statuses:     # a Standard VM's one check
            assert status == tl.NOT_APPLICABLE
        else:
            assert status == tl.UNKNOWN       # only NotAvailable: nothing could be judged


SCENARIOS = [
    {}, {"vm": trusted(tpm=False)}, {"attestation": Reading(status=404)}, {"facts": []},
    {"facts": [host_facts(igvm="Stopped", ipsec=[],
                          acl=[{"path": "C:\\V", "vms": [{"name": "vm01"}], "access": [USERS]}])]},
    {"image": Reading(status=404)}, {"vm": trusted(image=CUSTOM)}, {"guest": guest(vbs="Off", tpm_ready=False)},
    {"vm": tl.vm_facts_from_arm(*machine(security=None))}, {"config": False},
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_failed_warning_and_unknown_has_an_action_and_a_command(scenario):
    result = verdict(**scenario)
    assert result.checks
    for check in result.checks:
        if check.status in (tl.FAILED, tl.WARNING, tl.UNKNOWN):
            assert check.action and check.command, check
        if check.status == tl.PASSED:
            assert check.action is None and check.command is None, check


def test_row_and_detail_views():
    result = verdict(facts=[host_facts(igvm="Stopped")])
    row = tl.vm_row(result)
    assert list(row) == ["name", "resourceGroup", "cluster", "securityType", "secureBoot", "vtpm",
                         "vtpmStateTransfer", "guestAttestation", "image", "imageSource", "status", "reasonCode",
                         "reason", "action", "command", "runOn", "learnMore", "findings"]
    assert row["status"] == tl.FAILED and row["vtpmStateTransfer"] == tl.FAILED
    assert row["findings"][0]["status"] == tl.FAILED and row["command"] == row["findings"][0]["command"]
    assert row["reasonCode"] == row["findings"][0]["reasonCode"] and row["reason"]
    assert row["guestAttestation"]["healthStatus"] == "Healthy" and row["imageSource"] == "Azure Marketplace"
    detail = tl.vm_detail(result, {"checks": []})
    assert len(detail["checks"]) == 9 and detail["hyperVVmId"] == VM_ID and detail["server"] == "N1"
    assert all(set(check) == {"check", "status", "reasonCode", "reason", "expected", "found", "action", "command",
                              "runOn", "learnMore"}
               for check in detail["checks"])
