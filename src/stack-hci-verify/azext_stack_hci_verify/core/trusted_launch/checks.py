# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The per-VM Trusted launch checks and the verdict made from them. Pure.

`evaluate_vm` runs the checks in a fixed order. A Standard VM gets one check (security-type); a
VM whose instance could not be read gets one Unknown. The cluster-level facts a VM depends on
(IgvmAgent for vTPM state transfer, the attestation resource, the ACL of its state files, IPsec
for live migration) come from a ClusterTrustedLaunch (trusted_launch/hosts.py).
"""

import dataclasses

from .. import vocabulary as v
from ..fixes import COMMAND_UPDATE_EXTENSION
from ..guestfacts import match_guest
from . import (
    ACTION_COLLECT_GUEST_FACTS, COMMAND_GUEST_PROBE, DOC_DEPLOY, DOC_OVERVIEW, FAILED, NOT_APPLICABLE, NOT_AVAILABLE,
    PASSED, RULE_BOTH_ON, UNKNOWN, WARNING, CheckResult, VmVerdict, derive_status)
from .images import check_image, image_summary
from ..values import get_path as _get, text_value as _text

ATTESTATION_HEALTHY = "healthy"
ATTESTATION_UNHEALTHY = "unhealthy"
ATTESTATION_PENDING = ("pending", "unknown")
ATTESTATION_API = "2025-06-01-preview"

VBS_RUNNING = "Running"
VBS_ENABLED_NOT_RUNNING = "EnabledNotRunning"
VBS_OFF = "Off"

COMMAND_ENABLE_VBS = ("Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\DeviceGuard' "
                      "-Name EnableVirtualizationBasedSecurity -Value 1 -Type DWord; Restart-Computer")
COMMAND_INITIALIZE_TPM = "Initialize-Tpm"


def _quote(text):
    """A single-quoted PowerShell / shell literal."""
    escaped = str(text).replace("'", "''")
    return f"'{escaped}'"


# ----------------------------------------------------------------------------- security profile

def check_security_type(vm):
    name = "security-type"
    expected = "TrustedLaunch"
    if vm.security_type is None:
        return CheckResult(name, UNKNOWN, "instance-not-readable",
                           f"The Azure Local VM instance could not be read ({vm.instance_error}), so its security "
                           "profile is unknown.", expected, None, "Read the VM again",
                           f"az stack-hci-vm show --name {_quote(vm.name)} "
                           f"--resource-group {_quote(vm.resource_group)}")
    if vm.security_type == v.SECURITY_TRUSTED_LAUNCH:
        return CheckResult(name, PASSED, "trusted-launch", "The VM was created as a Trusted launch VM.",
                           expected, vm.security_type)
    if vm.security_type == v.SECURITY_CONFIDENTIAL:
        return CheckResult(name, PASSED, "confidential-vm",
                           "The VM is a confidential VM: an isolated VM, judged on the Trusted launch checks.",
                           expected, vm.security_type)
    if vm.security_type == v.SECURITY_STANDARD:
        return CheckResult(name, NOT_APPLICABLE, "not-trusted-launch",
                           "The VM is a Standard VM: no secure boot guarantee, no vTPM state transfer, no "
                           "attestation. Trusted launch is chosen when a VM is created.",
                           expected, vm.security_type, "Create the VM as a Trusted launch VM", DOC_DEPLOY)
    return CheckResult(name, UNKNOWN, "unrecognized-value",
                       f"securityType is '{vm.security_type}', a value this version does not know.",
                       expected, vm.security_type, "Update the extension",
                       COMMAND_UPDATE_EXTENSION)


def _rule_failure(name, reason, found):
    return CheckResult(name, FAILED, f"{name}-off",
                       f"{reason}; {RULE_BOTH_ON}, so Trusted launch does not take effect.",
                       "true", found, "Create the VM again with secure boot and vTPM on", DOC_DEPLOY)


def check_secure_boot(vm, guest=None):
    name = "secure-boot"
    seen = guest.secure_boot if guest is not None else None
    found = {"arm": vm.secure_boot, "guest": seen}
    if seen is False:
        return _rule_failure(name, f"The guest reports secure boot off ({guest.source})", found)
    if vm.secure_boot is False:
        return _rule_failure(name, "securityProfile.uefiSettings.secureBootEnabled is false", found)
    if vm.secure_boot or seen:
        where = " and ".join(source for source, value in (("ARM", vm.secure_boot), ("the guest", seen)) if value)
        return CheckResult(name, PASSED, "secure-boot-on", f"Secure boot is on ({where}).", "true", found)
    return CheckResult(name, UNKNOWN, "secure-boot-not-reported",
                       "ARM does not report secureBootEnabled for this VM and no guest facts say it.",
                       "true", found, ACTION_COLLECT_GUEST_FACTS, COMMAND_GUEST_PROBE)


def _guest_tpm(guest):
    """(status, code, reason) for what the guest sees of its TPM, or None when it says nothing."""
    if guest is None or guest.tpm_present is None:
        return None
    if not guest.tpm_present:
        return FAILED, "vtpm-absent-in-guest", f"The guest sees no TPM ({guest.source})"
    if guest.tpm_version and not str(guest.tpm_version).startswith("2"):
        return FAILED, "tpm-not-2", (f"The guest sees a TPM {guest.tpm_version}, not the TPM 2.0 vTPM of Trusted "
                                     f"launch ({guest.source})")
    if guest.tpm_ready is False:
        return WARNING, "tpm-not-ready", f"The guest's TPM is present but not ready for use ({guest.source})"
    return PASSED, "vtpm-on", None


def check_vtpm(vm, guest=None):
    name = "vtpm"
    seen = _guest_tpm(guest)
    found = {"arm": vm.vtpm, "guestPresent": getattr(guest, "tpm_present", None),
             "guestVersion": getattr(guest, "tpm_version", None), "guestReady": getattr(guest, "tpm_ready", None)}
    if seen is not None and seen[0] == FAILED:
        return _rule_failure(name, seen[2], found)
    if vm.vtpm is False:
        return _rule_failure(name, "securityProfile.enableTPM is false", found)
    if seen is not None and seen[0] == WARNING:
        return CheckResult(name, WARNING, seen[1], seen[2] + "; initialize it in the guest.", "true", found,
                           "Initialize the TPM in the guest", COMMAND_INITIALIZE_TPM)
    if vm.vtpm or seen is not None:
        where = " and ".join(source for source, value in (("ARM", vm.vtpm), ("the guest", seen)) if value)
        return CheckResult(name, PASSED, "vtpm-on", f"The vTPM is on ({where}).", "true", found)
    return CheckResult(name, UNKNOWN, "vtpm-not-reported",
                       "ARM does not report enableTPM for this VM and no guest facts say it.",
                       "true", found, ACTION_COLLECT_GUEST_FACTS, COMMAND_GUEST_PROBE)


# ----------------------------------------------------------------------------- attestation

def attestation_summary(reading):
    """The guestAttestation object of the views, or None when ARM reported none."""
    if reading is None or not reading.ok:
        return None
    properties = _get(reading.document, "properties") or {}
    return {key: _text(_get(properties, key)) for key in (
        "healthStatus", "attestSecureBootEnabled", "bootIntegrityValidated", "attestationCertValidated",
        "timestamp", "errorMessage")}


def check_guest_attestation(vm, reading, cluster):
    name = "guest-attestation"
    expected = "attestationStatus/default healthStatus Healthy"
    configuration = cluster.check("attestation-configuration") if cluster is not None else None
    note = "" if configuration is None or configuration.status == PASSED else \
        f" The system's attestation configuration: {configuration.reason}"
    if reading is None or (not reading.ok and reading.not_found):
        return CheckResult(name, UNKNOWN, "attestation-not-reported",
                           "ARM reports no attestationStatus for this VM (not found), so whether it started in a "
                           f"known good state cannot be told.{note}", expected, None,
                           "Turn on guest management, which reports attestation",
                           f"az stack-hci-vm update --name {_quote(vm.name)} --resource-group "
                           f"{_quote(vm.resource_group)} --enable-agent true")
    if not reading.ok:
        return CheckResult(name, UNKNOWN, "attestation-not-readable",
                           f"The attestationStatus of this VM could not be read: {reading.error}.",
                           expected, None, "Read it with a role that has Microsoft.AzureStackHCI/"
                           "virtualMachineInstances/read", "az role assignment list --assignee <you> --scope "
                                                           f"{_quote(vm.machine_id)}")
    summary = attestation_summary(reading)
    return _judge_attestation(name, expected, summary, note, vm.machine_id)


def _judge_attestation(name, expected, summary, note, machine_id=None):
    health = (summary.get("healthStatus") or "").lower()
    problems = []
    if (summary.get("attestSecureBootEnabled") or "").lower() == "disabled":
        problems.append("attested secure boot is Disabled")
    if (summary.get("attestationCertValidated") or "").lower() == "invalid":
        problems.append("the attestation certificate is Invalid")
    if health == ATTESTATION_UNHEALTHY or problems:
        detail = "; ".join(problems + ([f"health Unhealthy: {summary.get('errorMessage') or 'no message'}"]
                                       if health == ATTESTATION_UNHEALTHY else []))
        return CheckResult(name, FAILED, "attestation-unhealthy",
                           f"The VM's attestation says it did not start in a known good state: {detail}.{note}",
                           expected, summary,
                           "Check the VM's boot components, restart it and let it attest again", DOC_OVERVIEW)
    if health == ATTESTATION_HEALTHY:
        return CheckResult(name, PASSED, "attestation-healthy",
                           'The VM attested a known good start (healthStatus Healthy, secure boot '
                           f'{summary.get("attestSecureBootEnabled") or "not stated"}).{note}', expected, summary)
    if health in ATTESTATION_PENDING or not health:
        return CheckResult(name, UNKNOWN, "attestation-pending",
                           'Attestation has not concluded (healthStatus '
                           f'{summary.get("healthStatus") or "absent"}).{note}', expected, summary,
                           "Wait for the VM to attest, then read its attestation status again",
                           "az rest --method get --url " + _quote(
                               f"{machine_id}/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default/"
                               f"attestationStatus/default?api-version={ATTESTATION_API}"))
    return CheckResult(name, UNKNOWN, "unrecognized-value",
                       f"healthStatus is '{summary.get('healthStatus')}', a value this version does not know.{note}",
                       expected, summary,
                       "Update the extension", COMMAND_UPDATE_EXTENSION)


def check_boot_integrity(summary):
    """Seed 002: VM guest boot integrity verification is not available. Never Passed."""
    return CheckResult("boot-integrity", NOT_AVAILABLE, "boot-integrity-not-available",
                       "VM guest boot integrity verification is not available for Trusted launch VMs on Azure "
                       "Local; ARM's bootIntegrityValidated is shown, not judged.",
                       None, (summary or {}).get("bootIntegrityValidated"))


# ----------------------------------------------------------------------------- guest

def check_vbs(guest):
    """VBS as the guest reports it (Win32_DeviceGuard); None when there is nothing to judge."""
    if guest is None or (guest.os_family or "").lower() != "windows":
        return None
    name, expected = "vbs", VBS_RUNNING
    if guest.vbs is None:
        return CheckResult(name, UNKNOWN, "vbs-not-reported",
                           f"The guest facts do not say whether VBS runs ({guest.source}).", expected, None,
                           ACTION_COLLECT_GUEST_FACTS, COMMAND_GUEST_PROBE)
    if guest.vbs == VBS_RUNNING:
        return CheckResult(name, PASSED, "vbs-running", "Virtualization-based security runs in the guest.",
                           expected, guest.vbs)
    return CheckResult(name, WARNING, "vbs-not-running",
                       'Virtualization-based security is '
                       f'{"enabled but not running" if guest.vbs == VBS_ENABLED_NOT_RUNNING else "off"} in the guest '
                       f'({guest.source}); Trusted launch lets the guest use '
                       "it.", expected, guest.vbs,
                       "Turn on virtualization-based security in the guest", COMMAND_ENABLE_VBS)


# ----------------------------------------------------------------------------- the verdict

def _from_cluster(cluster, check, name, lead):
    """A cluster-level result seen from one VM."""
    result = cluster.check(check) if cluster is not None else None
    if result is None:
        return None
    return dataclasses.replace(result, check=name, reason=f"{lead} {result.reason}")


def evaluate_vm(vm, attestation=None, image=None, cluster=None, guest=None):
    """The VM's verdict. `attestation`: the Reading of attestationStatus/default; `image`: the Reading
    of its gallery image; `cluster`: ClusterTrustedLaunch; `guest`: GuestFacts or None."""
    summary = attestation_summary(attestation)
    checks = [check_security_type(vm)]
    if vm.isolated:
        checks += [check_secure_boot(vm, guest), check_vtpm(vm, guest)]
        checks.append(_from_cluster(cluster, "igvm-agent", "vtpm-state-transfer",
                                    "vTPM state transfer on migration and failover needs IgvmAgent on every "
                                    "machine of the system:"))
        checks.append(check_guest_attestation(vm, attestation, cluster))
        checks.append(check_image(vm, image))
        checks.append(check_boot_integrity(summary))
        checks.append(cluster.vm_state_files(vm) if cluster is not None else None)
        checks.append(_from_cluster(cluster, "live-migration-protection", "live-migration-protection",
                                    "Live migration moves this VM's memory and state between machines:"))
        checks.append(check_vbs(guest))
    checks = tuple(check for check in checks if check is not None)
    return VmVerdict(vm=vm, checks=checks, status=derive_status(checks), attestation=summary,
                     image=image_summary(vm, image), cluster=getattr(cluster, "name", None),
                     guest_source=getattr(guest, "source", None))


def judge_vms(vms, attestations, images, cluster, guests=()):
    """Verdicts for TrustedLaunchVms, with the readings by machine id and image id. Sorted by name."""
    verdicts = [evaluate_vm(vm, attestations.get(vm.machine_id), images.get(vm.image_id), cluster,
                            match_guest(vm, guests)) for vm in vms]
    return sorted(verdicts, key=lambda verdict: (verdict.vm.name or "").lower())
