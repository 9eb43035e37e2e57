# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The guest-facts document (schema 1): what `probe --guest` sees inside a VM, read back with
`--guest-facts`. Pure: readings in, a document out; text in, typed facts out.

```
{"schemaVersion": 1, "kind": "guestFacts", "collectedAt": "2026-11-22T12:00:00Z",
 "computerName": "tl-w11-01", "smbiosUuid": "d48781ab-2029-4c03-8026-1b81e37b43fb",
 "os": {"family": "Windows", "name": "...", "version": "10.0.22631"},
 "secureBoot": true, "tpm": {"present": true, "ready": true, "version": "2.0"},
 "vbs": "Running", "hyperV": {"dataExchange": true, "guestServiceInterface": true},
 "probeStatus": "Succeeded", "reasonCode": null, "reason": "...", "probes": [...]}
```
Any fact may be null: the probe could not tell. `vbs` is Running, EnabledNotRunning, Off (Windows
Win32_DeviceGuard VirtualizationBasedSecurityStatus 2/1/0) or null; `hyperV` is read on Linux
from the VMBus devices. A VM is matched by `smbiosUuid` (the Arc machine's vmUuid), else by
computer name.
"""

import json
from dataclasses import dataclass, field
from typing import Optional

from .fixes import fix_fields
from .values import bool_value as _bool, get_path as _get, guid_value as _guid, int_value as _int
from .values import short_name as _short, text_value as _text

SCHEMA_VERSION = 1
KIND = "guestFacts"
VBS_BY_NUMBER = {0: "Off", 1: "EnabledNotRunning", 2: "Running"}


class GuestFactsError(ValueError):
    """A guest-facts document that cannot be used; the message says why."""


@dataclass(frozen=True)
class GuestFacts:  # pylint: disable=too-many-instance-attributes
    source: str
    computer_name: Optional[str] = None
    smbios_uuid: Optional[str] = None
    os_family: Optional[str] = None
    os_name: Optional[str] = None
    secure_boot: Optional[bool] = None
    tpm_present: Optional[bool] = None
    tpm_ready: Optional[bool] = None
    tpm_version: Optional[str] = None
    vbs: Optional[str] = None
    collected_at: Optional[str] = None
    document: dict = field(default_factory=dict, compare=False, repr=False)


def parse_guest_facts(text, source):
    try:
        document = json.loads(text)
    except ValueError as ex:
        raise GuestFactsError(f"is not valid JSON ({ex})") from None
    return guest_facts_from_document(document, source)


def guest_facts_from_document(document, source):
    if not isinstance(document, dict):
        raise GuestFactsError("must hold a JSON object")
    if document.get("kind") != KIND:
        hint = " (it is a host-facts document: pass it with --host-facts)" if "vms" in document else ""
        raise GuestFactsError(f"is not a guest-facts document{hint}; create one with `az stack-hci vm-verification "
                              "probe --guest -o json` inside the VM")
    version = document.get("schemaVersion")
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise GuestFactsError(f"has schemaVersion {json.dumps(version)}, but this extension reads schema "
                              f"{SCHEMA_VERSION}; collect it again")
    for key, kind in (("tpm", dict), ("os", dict), ("hyperV", dict)):
        if document.get(key) is not None and not isinstance(document.get(key), kind):
            raise GuestFactsError(f"field '{key}' must be an object")
    secure_boot = document.get("secureBoot")
    if secure_boot is not None and not isinstance(secure_boot, bool):
        raise GuestFactsError("field 'secureBoot' must be true, false or null")
    vbs = _text(document.get("vbs"))
    if vbs is not None and vbs not in VBS_BY_NUMBER.values():
        raise GuestFactsError(f"field 'vbs' must be one of {', '.join(VBS_BY_NUMBER.values())} or null")
    return GuestFacts(
        source=source, computer_name=_text(document.get("computerName")),
        smbios_uuid=_guid(document.get("smbiosUuid")), os_family=_text(_get(document, "os", "family")),
        os_name=_text(_get(document, "os", "name")), secure_boot=secure_boot,
        tpm_present=_bool(_get(document, "tpm", "present")), tpm_ready=_bool(_get(document, "tpm", "ready")),
        tpm_version=_text(_get(document, "tpm", "version")), vbs=vbs,
        collected_at=_text(document.get("collectedAt")), document=document)


def match_guest(vm, guests):
    """The guest facts of `vm` (a TrustedLaunchVm): by SMBIOS UUID, else by computer name."""
    for guest in guests:
        if guest.smbios_uuid and vm.vm_uuid and guest.smbios_uuid == vm.vm_uuid:
            return guest
    names = {_short(name) for name in (vm.computer_name, vm.name) if name}
    for guest in guests:
        if guest.computer_name and not (guest.smbios_uuid and vm.vm_uuid) and _short(guest.computer_name) in names:
            return guest
    return None


# ----------------------------------------------------------------------------- building a document

def secure_boot_from_efivar(data):
    """The SecureBoot EFI variable: 4 bytes of attributes, then 1 byte (1 = enabled)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) < 5:
        return None
    return {1: True, 0: False}.get(data[4])


def tpm_version_text(major):
    """'2.0' / '1.2' from tpm_version_major (or a Win32_Tpm SpecVersion like '2.0, 0, 1.59')."""
    text = _text(major)
    if text is None:
        return None
    head = text.split(",")[0].strip()
    if head in ("2", "2.0"):
        return "2.0"
    if head in ("1", "1.2"):
        return "1.2"
    return head


def vbs_text(value):
    number = _int(value)
    return VBS_BY_NUMBER.get(number) if number is not None else None


def new_document(now_text, family):
    return {"schemaVersion": SCHEMA_VERSION, "kind": KIND, "collectedAt": now_text, "computerName": None,
            "smbiosUuid": None, "os": {"family": family, "name": None, "version": None}, "secureBoot": None,
            "tpm": {"present": None, "ready": None, "version": None}, "vbs": None, "hyperV": None}


def finish_document(document, probes):
    """Add probeStatus, reason and the probes list ({probe, status, reasonCode, reason})."""
    failed = [probe["probe"] for probe in probes if probe["status"] != "Succeeded"]
    if not failed:
        document.update(probeStatus="Succeeded", reasonCode=None, reason="Every probe reported.")
    elif len(failed) < len(probes):
        document.update(probeStatus="Partial", reasonCode="some-probes-unknown",
                        reason=f'{len(failed)} of {len(probes)} probes could not report ({", ".join(failed)}); their '
                               'facts are null.')
    else:
        document.update(probeStatus="Unknown", reasonCode="no-probe-reported",
                        reason="No probe could report; see `probes` for each reason.")
    document["probes"] = probes
    return document


def unmatched_guests(vms, guests):
    """Findings for the guest-facts documents that match none of `vms` (TrustedLaunchVms): they were
    collected in a VM of another cluster, or their VM is not an Azure Local VM, and are ignored."""
    matched = {id(match_guest(vm, guests)) for vm in vms}
    return [{"scope": "guestFacts", "name": guest.source, "severity": "warning", "reasonCode": "guest-facts-unmatched",
             "reason": f"Guest facts file '{guest.source}' (computer {guest.computer_name or 'unnamed'}) matches no "
                       "Azure Local VM of this cluster and was ignored.",
             "action": None, **fix_fields(None)} for guest in guests if id(guest) not in matched]
