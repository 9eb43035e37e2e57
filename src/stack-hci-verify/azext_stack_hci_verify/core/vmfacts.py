# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What is known about one VM, merged from ARM and the host's facts. Pure.

A fact is None when no source reported it: ARM alone never tells whether Guest Service Interface
or Hyper-V data exchange is on, or whether a VM has the legacy OS networking NIC. The guest OS as
the host's data exchange reports it wins over ARM's (it is what Windows Admin Center shows), and
the edition is taken from the same source as the name, never mixed.
"""

import re
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from . import vocabulary as v
from .builds import parse_build
from .eligibility import GENERIC_NAMES, displayed_os_name, normalize
from .trusted_launch import normalize_security_type
from .values import (bool_value as _bool, get_path as _get, guid_value as _guid, int_value as _int,
                     short_name as _short_name, text_value as _text)

SOURCE_ARM = v.SOURCE_ARM
SOURCE_HOST = v.SOURCE_HOST
_GUEST_OS_FACTS = ("guest_os_name", "guest_os_version", "guest_os_sku")

_FACT_NAMES = (
    ("name", "name"), ("vm_id", "vmId"), ("server", "server"), ("generation", "generation"), ("state", "state"),
    ("guest_os_name", "guestOsName"), ("guest_os_version", "guestOsVersion"), ("guest_os_sku", "guestOsSku"),
    ("data_exchange", "dataExchange"), ("guest_service_interface", "guestServiceInterface"),
    ("legacy_networking", "legacyNetworking"), ("security_type", "securityType"),
)
_CAMEL = dict(_FACT_NAMES)


@dataclass(frozen=True)
class VmFacts:  # pylint: disable=too-many-instance-attributes
    """What is known about one VM, merged from ARM and the host. None: not known.

    `sources` maps a fact (camelCase, as in views) to where its value came from (`arm`, `host`);
    `conflicts` lists facts both sources reported with different values ({fact, arm, host}); the
    host's value is kept. `host_stale`: the host's facts were collected longer ago than the
    certificate lifetime, so they may fail a check but never pass one.
    """
    name: Optional[str] = None
    vm_id: Optional[str] = None
    server: Optional[str] = None
    generation: Optional[int] = None
    state: Optional[str] = None
    guest_os_name: Optional[str] = None
    guest_os_version: Optional[str] = None
    guest_os_sku: Optional[str] = None
    data_exchange: Optional[bool] = None
    guest_service_interface: Optional[bool] = None
    legacy_networking: Optional[bool] = None
    security_type: Optional[str] = None
    sources: dict = field(default_factory=dict, compare=False)
    conflicts: tuple = ()
    host_stale: bool = False

    @property
    def guest_os_label(self):
        """The guest OS as Windows Admin Center shows it (eligibility.displayed_os_name): the name, or the
        edition when no name was reported, with Windows 11 told by its build."""
        return displayed_os_name(self.guest_os_name or self.guest_os_sku, self.guest_os_version)

    def from_stale_host(self, camel):
        """Whether the fact `camel` came only from a stale host-facts file."""
        return self.host_stale and self.sources.get(camel) == SOURCE_HOST

    def facts_dict(self):
        """The facts alone, camelCase, in a fixed order."""
        return {camel: getattr(self, attr) for attr, camel in _FACT_NAMES}

    def to_dict(self):
        result = self.facts_dict()
        result["sources"] = sources_list(self.sources)
        result["conflicts"] = [dict(conflict) for conflict in self.conflicts]
        return result


def sources_list(sources):
    """{fact: source} as a list of {fact, source} in the order of the facts."""
    order = [camel for _, camel in _FACT_NAMES]
    keys = sorted(sources, key=lambda key: (order.index(key) if key in order else len(order), key))
    return [{"fact": key, "source": sources[key]} for key in keys]


# Microsoft.HyperV.PowerShell.VMState as Windows PowerShell 5.1 writes it (numbers). Values above
# 32781 differ between Windows versions and are not mapped.
VM_STATE_BY_NUMBER = {
    1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused", 10: "Starting", 11: "Reset",
    32773: "Saving", 32776: "Pausing", 32777: "Resuming", 32779: "FastSaved", 32780: "FastSaving",
    32781: "ForceShutdown",
}
_STATE_NAMES = {name.lower(): name for name in VM_STATE_BY_NUMBER.values()}
# Hyper-V states and ARM powerState values that mean the same thing, for telling real conflicts.
_STATE_CLASSES = {"running": "running", "off": "off", "stopped": "off", "deallocated": "off", "saved": "saved",
                  "fastsaved": "saved", "paused": "paused"}


def normalize_vm_state(raw):
    """A VM state name from Get-VM (name or number) or ARM powerState; None when absent."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return VM_STATE_BY_NUMBER.get(raw, str(raw))
    text = _text(raw)
    if text is None:
        return None
    if text.isdigit():
        return VM_STATE_BY_NUMBER.get(int(text), text)
    return _STATE_NAMES.get(text.lower(), text)


_MACHINE_IN_ID = re.compile(r"/providers/Microsoft\.HybridCompute/machines/([^/]+)", re.IGNORECASE)


def _arm_facts(arm_machine, arm_instance):
    """(facts, comparable) from ARM; `comparable` names the facts that may be compared with the host."""
    facts = {}
    comparable = set()
    machine_props = _get(arm_machine, "properties") if isinstance(arm_machine, dict) else None
    instance_props = _get(arm_instance, "properties") if isinstance(arm_instance, dict) else None

    name = _text(_get(arm_machine, "name"))
    if name is None:
        match = _MACHINE_IN_ID.search(_text(_get(arm_instance, "id")) or "")
        name = match.group(1) if match else None
    facts["name"] = name

    hyperv_id = _guid(_get(instance_props, "hyperVVmId"))
    if hyperv_id:
        facts["vm_id"] = hyperv_id
        comparable.add("vm_id")
    else:
        facts["vm_id"] = _guid(_get(instance_props, "vmId"))
    facts["server"] = _text(_get(instance_props, "hostNodeName"))
    facts["state"] = normalize_vm_state(_get(instance_props, "status", "powerState"))

    os_name = _text(_get(machine_props, "osName"))
    os_sku = _text(_get(machine_props, "osSku"))
    os_edition = _text(_get(machine_props, "osEdition"))
    if normalize(os_name) in GENERIC_NAMES or os_name is None or normalize(os_name) == "linux":
        # ARM often says only "windows" / "linux" in osName and the product in osSku.
        facts["guest_os_name"] = os_sku or os_name
        facts["guest_os_sku"] = os_edition if os_sku else None
    else:
        facts["guest_os_name"] = os_name
        facts["guest_os_sku"] = os_sku or os_edition
    if facts["guest_os_name"] is None:
        facts["guest_os_name"] = _text(_get(instance_props, "storageProfile", "osDisk", "osType"))
    facts["guest_os_version"] = _text(_get(machine_props, "osVersion"))

    if isinstance(instance_props, dict):
        facts["security_type"] = normalize_security_type(_get(instance_props, "securityProfile", "securityType"))
    comparable.update(("name", "server", "state", "guest_os_name", "guest_os_version"))
    return {key: value for key, value in facts.items() if value is not None}, comparable


def _host_facts(host_vm, host_name):
    if not isinstance(host_vm, dict):
        return {}
    guest_os = _get(host_vm, "guestOs")
    guest_os = guest_os if isinstance(guest_os, dict) else {}
    facts = {
        "name": _text(_get(host_vm, "name")),
        "vm_id": _guid(_get(host_vm, "vmId")),
        "server": _text(_get(host_vm, "computerName")) or _text(_get(host_vm, "server")) or _text(host_name),
        "generation": _int(_get(host_vm, "generation")),
        "state": normalize_vm_state(_get(host_vm, "state")),
        "guest_os_name": _text(_get(guest_os, "name")),
        "guest_os_version": _text(_get(guest_os, "version")),
        "guest_os_sku": _text(_get(guest_os, "sku")) or _text(_get(guest_os, "editionId")),
        "data_exchange": _bool(_get(host_vm, "dataExchange")),
        "guest_service_interface": _bool(_get(host_vm, "guestServiceInterface")),
        "legacy_networking": _bool(_get(host_vm, "legacyNetworking")),
    }
    if facts["guest_os_version"] is None and _int(_get(guest_os, "buildNumber")) is not None:
        facts["guest_os_version"] = str(_int(_get(guest_os, "buildNumber")))
    return {key: value for key, value in facts.items() if value is not None}


def _same(attr, arm_value, host_value):  # pylint: disable=too-many-return-statements
    """Whether ARM's and the host's values of a fact agree (or are merely more or less precise)."""
    if attr == "guest_os_version":
        arm_build, host_build = parse_build(arm_value), parse_build(host_value)
        if arm_build is None or host_build is None:
            return str(arm_value).strip() == str(host_value).strip()
        if arm_build.major != host_build.major:
            return False
        return arm_build.revision is None or host_build.revision is None or arm_build.revision == host_build.revision
    if attr == "guest_os_name":
        arm_text, host_text = normalize(arm_value), normalize(host_value)
        return arm_text in GENERIC_NAMES or arm_text == host_text
    if attr == "server":
        return _short_name(arm_value) == _short_name(host_value)
    if attr == "state":
        arm_class = _STATE_CLASSES.get(str(arm_value).lower())
        host_class = _STATE_CLASSES.get(str(host_value).lower())
        return arm_class is None or host_class is None or arm_class == host_class
    return str(arm_value).lower() == str(host_value).lower()


def merge_vm_facts(*, arm_machine=None, arm_instance=None, host_vm=None, host_name=None, host_stale=False,
                   arm_facts=None):
    """VmFacts for one VM from its ARM machine, its Azure Local VM instance and its host-facts entry.

    Any of them may be None. `arm_machine` is a Microsoft.HybridCompute/machines body,
    `arm_instance` a Microsoft.AzureStackHCI/virtualMachineInstances body (`properties.hyperVVmId`,
    `hostNodeName`, `status.powerState`, `securityProfile.securityType`), `host_vm` an entry of a
    host-facts document's `vms` and `host_name` that document's computerName (the VM's server when
    the entry does not name one). The host wins where both report a fact and disagree; the
    disagreement is kept in `conflicts`. When the host reports the guest OS, ARM's edition (osSku)
    is not mixed in: the guest OS is judged on the host's name, version and edition alone. A
    version from data exchange (`10.0.20348`, no revision) that ARM reports more precisely
    (`10.0.20348.2402`) is not a conflict: ARM's value is kept.
    """
    arm_facts = arm_facts or read_arm_vm(arm_machine, arm_instance)
    arm = dict(arm_facts.facts)
    host = _host_facts(host_vm, host_name)
    if "guest_os_name" in host:
        arm.pop("guest_os_sku", None)
    values, sources, conflicts = {}, {}, []
    for attr, camel in _FACT_NAMES:
        if attr in host:
            values[attr], sources[camel] = host[attr], SOURCE_HOST
            if attr in arm and attr in arm_facts.comparable:
                if not _same(attr, arm[attr], host[attr]):
                    conflicts.append({"fact": camel, "arm": arm[attr], "host": host[attr]})
                elif attr == "guest_os_version" and _more_precise(arm[attr], host[attr]):
                    values[attr], sources[camel] = arm[attr], SOURCE_ARM
        elif attr in arm:
            values[attr], sources[camel] = arm[attr], SOURCE_ARM
    return VmFacts(sources=sources, conflicts=tuple(conflicts), host_stale=bool(host_stale and host), **values)


def _more_precise(arm_value, host_value):
    arm_build, host_build = parse_build(arm_value), parse_build(host_value)
    return (arm_build is not None and host_build is not None
            and arm_build.revision is not None and host_build.revision is None)


class ArmVmFacts(NamedTuple):
    """What ARM says of one VM, read once: the facts, the ones comparable with the host's, and the
    (Hyper-V VM id, name) by which a host-facts entry is matched to it."""
    facts: dict
    comparable: frozenset

    @property
    def keys(self):
        return self.facts.get("vm_id"), self.facts.get("name")


def read_arm_vm(arm_machine=None, arm_instance=None):
    facts, comparable = _arm_facts(arm_machine, arm_instance)
    return ArmVmFacts(facts, frozenset(comparable))


def arm_vm_keys(arm_machine=None, arm_instance=None):
    """(Hyper-V VM id, name) by which a host-facts entry is matched to ARM's VM."""
    return read_arm_vm(arm_machine, arm_instance).keys


def find_host_vm(host_vms, vm_id=None, name=None):
    """The host-facts entry for a VM: by Hyper-V VM id, else by name (case-insensitive); None if none."""
    entries = [entry for entry in host_vms or () if isinstance(entry, dict)]
    wanted = _guid(vm_id)
    if wanted:
        for entry in entries:
            if _guid(entry.get("vmId")) == wanted:
                return entry
    if name:
        for entry in entries:
            if isinstance(entry.get("name"), str) and entry["name"].lower() == str(name).lower():
                return entry
    return None
