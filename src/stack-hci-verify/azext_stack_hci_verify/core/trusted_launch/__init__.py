# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Trusted launch posture of Azure Local VMs (seed 002): the check result type, the VM's facts
from ARM, the status made from its checks, and the views. Pure: no I/O, no clock.

Each check is a small function that returns one CheckResult: Passed, Failed, Warning, Unknown
("we cannot tell", never "probably off") or NotAvailable (what the product does not offer, such
as guest boot integrity verification). Every Failed, Warning and Unknown carries an action and a
command, or, where no command performs the fix, the address of the document section to follow.
The VM's status is made from its checks in one place, `derive_status`.
"""

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple

from .. import fixes
from .. import vocabulary as v
from ..values import bool_value as _bool, get_path as _get, guid_value as _guid, text_value as _text

PASSED = "Passed"
FAILED = "Failed"
WARNING = "Warning"
UNKNOWN = "Unknown"
NOT_AVAILABLE = "NotAvailable"
# A Standard VM: the Trusted launch checks do not apply to it (its one check says so).
NOT_APPLICABLE = "Not applicable"
CHECK_STATUSES = (PASSED, FAILED, WARNING, UNKNOWN, NOT_AVAILABLE, NOT_APPLICABLE)

# The most severe check decides the VM's status; NotAvailable does not take part.
_SEVERITY = {FAILED: 3, WARNING: 2, UNKNOWN: 1, PASSED: 0}

# Where to read what no command can do for you (seed 002 and the documents it links).
DOC_OVERVIEW = "https://learn.microsoft.com/azure/azure-local/manage/trusted-launch-vm-overview"
DOC_GUIDANCE = DOC_OVERVIEW + "#guidance"
DOC_IMAGES = DOC_OVERVIEW + "#guest-operating-system-images"
DOC_DEPLOY = "https://learn.microsoft.com/azure/azure-local/manage/trusted-launch-vm-deploy"

COMMAND_GUEST_PROBE = "az stack-hci vm-verification probe --guest -o json"
ACTION_COLLECT_GUEST_FACTS = "Collect guest facts"
ACTION_COLLECT_HOST_FACTS = "Collect host facts"

RULE_BOTH_ON = "enableTPM and secureBootEnabled must both be true for securityType to take effect"

IMAGE_MARKETPLACE = "Azure Marketplace"
IMAGE_CUSTOM = "Custom"

MARKETPLACE_IMAGE_TYPE = "microsoft.azurestackhci/marketplacegalleryimages"
GALLERY_IMAGE_TYPE = "microsoft.azurestackhci/galleryimages"


def host_probe_command(machines=()):
    """The probe that collects the host facts a check needs, naming the machines it must run on (each
    machine of the system when none is named): fixes.probe_command."""
    return fixes.probe_command(servers=machines)


@dataclass(frozen=True)
class CheckResult:  # pylint: disable=too-many-instance-attributes
    """One check's outcome, with what was expected, what was found and what to do."""
    check: str
    status: str
    reason_code: str
    reason: str
    expected: Optional[str] = None
    found: object = None
    action: Optional[str] = None
    command: Optional[str] = None

    def to_dict(self):
        return {"check": self.check, "status": self.status, "reasonCode": self.reason_code,
                "reason": self.reason, "expected": self.expected, "found": self.found,
                "action": self.action, **fixes.fix_fields(self.command)}


def derive_status(results):
    """The VM's (or cluster's) status from its checks: Failed > Warning > Unknown > Passed; Not applicable
    when the only check says the checks do not apply."""
    statuses = [result.status for result in results if result.status in _SEVERITY]
    if not statuses and any(result.status == NOT_APPLICABLE for result in results):
        return NOT_APPLICABLE
    if not statuses:
        return UNKNOWN
    return max(statuses, key=_SEVERITY.get)


def by_severity(results):
    """Checks most severe first (stable for equal severity)."""
    return sorted(results, key=lambda result: -_SEVERITY.get(result.status, -1))


class Reading(NamedTuple):
    """One ARM read: the document, or the HTTP status (None when no answer) and why it failed.
    Reading() means the read was not attempted."""
    document: Optional[dict] = None
    status: Optional[int] = None
    error: Optional[str] = None

    @property
    def ok(self):
        return isinstance(self.document, dict)

    @property
    def not_found(self):
        return self.status == 404


# ----------------------------------------------------------------------------- facts

@dataclass(frozen=True)
class TrustedLaunchVm:  # pylint: disable=too-many-instance-attributes
    """What ARM says about one Azure Local VM's Trusted launch posture."""
    name: Optional[str]
    machine_id: Optional[str]
    resource_group: Optional[str]
    security_type: Optional[str]            # vocabulary, raw text for a value we do not know, None unread
    security_type_raw: object = None
    secure_boot: Optional[bool] = None
    vtpm: Optional[bool] = None
    image_id: Optional[str] = None
    created_from_disk: bool = False
    host_node: Optional[str] = None
    hyperv_vm_id: Optional[str] = None
    vm_uuid: Optional[str] = None
    computer_name: Optional[str] = None
    instance_error: Optional[str] = None

    @property
    def isolated(self):
        """Trusted launch or confidential: the VMs whose secure boot and vTPM rule applies."""
        return self.security_type in (v.SECURITY_TRUSTED_LAUNCH, v.SECURITY_CONFIDENTIAL)


def normalize_security_type(raw):
    """securityType as vocabulary: absent is Standard; unknown values are kept as written."""
    text = _text(raw)
    if text is None:
        return v.SECURITY_STANDARD
    for known in (v.SECURITY_TRUSTED_LAUNCH, v.SECURITY_CONFIDENTIAL, v.SECURITY_STANDARD):
        if text.lower() == known.lower():
            return known
    return text


def vm_facts_from_arm(machine, instance, instance_error=None):
    """TrustedLaunchVm from the Arc machine and its virtualMachineInstances/default (None if unread)."""
    machine = machine if isinstance(machine, dict) else {}
    machine_id = _text(machine.get("id"))
    parts = (machine_id or "").split("/")
    security = _get(instance, "properties", "securityProfile")
    storage = _get(instance, "properties", "storageProfile")
    readable = isinstance(instance, dict)
    raw_type = _get(security, "securityType")
    return TrustedLaunchVm(
        name=_text(machine.get("name")) or (parts[-1] if machine_id else None),
        machine_id=machine_id,
        resource_group=parts[4] if len(parts) > 4 else None,
        security_type=normalize_security_type(raw_type) if readable else None,
        security_type_raw=raw_type,
        secure_boot=_bool(_get(security, "uefiSettings", "secureBootEnabled")),
        vtpm=_bool(_get(security, "enableTPM")),
        image_id=_text(_get(storage, "imageReference", "id")),
        created_from_disk=bool(_get(storage, "osDisk", "id") or _get(instance, "properties", "createFromLocal")),
        host_node=_text(_get(instance, "properties", "hostNodeName")),
        hyperv_vm_id=_guid(_get(instance, "properties", "hyperVVmId")),
        vm_uuid=_guid(_get(machine, "properties", "vmUuid")
                      or _get(instance, "properties", "guestAgentInstallStatus", "vmUuid")),
        computer_name=_text(_get(machine, "properties", "osProfile", "computerName")
                            or _get(instance, "properties", "osProfile", "computerName")),
        instance_error=None if readable else (instance_error or "it could not be read"),
    )


@dataclass(frozen=True)
class VmVerdict:
    """A VM, the checks it was judged on and the status made from them."""
    vm: TrustedLaunchVm
    checks: Tuple[CheckResult, ...]
    status: str
    attestation: Optional[dict] = None
    image: dict = field(default_factory=dict)
    cluster: Optional[str] = None
    guest_source: Optional[str] = None

    def check(self, name):
        return next((result for result in self.checks if result.check == name), None)


# ----------------------------------------------------------------------------- views

def _finding(result):
    return {"check": result.check, "status": result.status, "reasonCode": result.reason_code,
            "reason": result.reason, "action": result.action, **fixes.fix_fields(result.command)}


def vm_row(verdict):
    """One row of `trusted-launch list`."""
    vm = verdict.vm
    transfer = verdict.check("vtpm-state-transfer")
    findings = [_finding(result) for result in by_severity(verdict.checks)
                if result.status in (FAILED, WARNING, UNKNOWN, NOT_APPLICABLE)]
    first = findings[0] if findings else {"reasonCode": "trusted-launch-passed",
                                          "reason": "Every Trusted launch check that can be made passed."}
    return {
        "name": vm.name,
        "resourceGroup": vm.resource_group,
        "cluster": verdict.cluster,
        "securityType": vm.security_type,
        "secureBoot": vm.secure_boot,
        "vtpm": vm.vtpm,
        "vtpmStateTransfer": transfer.status if transfer is not None else None,
        "guestAttestation": verdict.attestation,
        "image": verdict.image.get("name"),
        "imageSource": verdict.image.get("source"),
        "status": verdict.status,
        "reasonCode": first.get("reasonCode"),
        "reason": first.get("reason"),
        "action": first.get("action"),
        "command": first.get("command"),
        "runOn": first.get("runOn"),
        "learnMore": first.get("learnMore"),
        "findings": findings,
    }


def vm_detail(verdict, cluster_view=None):
    """`trusted-launch show`: the row, every check, the image, the cluster's checks and the sources."""
    view = vm_row(verdict)
    view.update({
        "armResourceId": verdict.vm.machine_id,
        "server": verdict.vm.host_node,
        "hyperVVmId": verdict.vm.hyperv_vm_id,
        "imageReference": dict(verdict.image),
        "checks": [result.to_dict() for result in verdict.checks],
        "guestFacts": verdict.guest_source,
        "clusterChecks": cluster_view,
    })
    return view
