# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""VM facts, the VM verdict of Azure verification for VMs, and the VM views.

Pure: ARM documents and host-facts entries (dicts) in, typed facts, verdicts and plain dicts out.
No I/O, no clock.

Unknown is not off. A fact is None when no source reported it: ARM alone never tells whether
Guest Service Interface or Hyper-V data exchange is on, or whether a VM has the legacy OS
networking NIC. `evaluate_vm` walks the eight ordered steps of the design; a step whose fact is
unknown is remembered instead of being treated as passed or failed. When a later step fails for
certain, the VM is `Inactive benefits` with that step's action (its status does not depend on the
unknown step) and the reason also names what could not be told. When no step fails for certain,
the VM is `Unknown` (not `Active benefits`), its reasonCode names the first fact that is missing,
and its reason says how to get it: run `az stack-hci vm-verification probe` on the host and pass
the result with `--host-facts`.
"""

import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

from . import vocabulary as v
from .builds import BELOW, REVISION_UNKNOWN, Build, compare_to_minimum, parse_build
from .values import (bool_value as _bool, get_path as _get, guid_value as _guid, int_value as _int,
                     short_name as _short_name, text_value as _text)

# ----------------------------------------------------------------------------- vocabulary (VM level)

NEEDS_V2 = "v2"
NEEDS_V1 = "v1"

COMMAND_ENABLE_GSI = 'Enable-VMIntegrationService -VMName {vm} -Name "Guest Service Interface"'
COMMAND_ENABLE_DATA_EXCHANGE = 'Enable-VMIntegrationService -VMName {vm} -Name "Key-Value Pair Exchange"'
COMMAND_ADD_VM_ATTESTATION = "Add-AzStackHCIVMAttestation -VMName {vm}"
COMMAND_PROBE = "az stack-hci vm-verification probe"

# reasonCode values of a VM verdict.
REASON_GUEST_OS_UNKNOWN = "guest-os-unknown"
REASON_GUEST_OS_NOT_REPORTED = "guest-os-not-reported"
REASON_NO_BENEFIT = "no-applicable-benefit"
REASON_HOST_ATTESTATION_OFF = "host-attestation-off"
REASON_HOST_ATTESTATION_UNKNOWN = "host-attestation-unknown"
REASON_SERVER_NOT_ACTIVE = "server-not-active"
REASON_SERVER_STATUS_UNKNOWN = "server-status-unknown"
REASON_BUILD_BELOW_MINIMUM = "build-below-minimum"
REASON_OS_BUILD_UNKNOWN = "os-build-unknown"
REASON_GSI_OFF = "guest-service-interface-off"
REASON_GSI_UNKNOWN = "guest-service-interface-unknown"
REASON_LEGACY_OS_SUPPORT_OFF = "legacy-os-support-off"
REASON_LEGACY_OS_SUPPORT_UNKNOWN = "legacy-os-support-unknown"
REASON_LEGACY_NETWORKING_MISSING = "legacy-networking-missing"
REASON_LEGACY_NETWORKING_UNKNOWN = "legacy-networking-unknown"
REASON_ACTIVE = "active"

REASON_CODES = (
    REASON_GUEST_OS_UNKNOWN, REASON_GUEST_OS_NOT_REPORTED, REASON_NO_BENEFIT,
    REASON_HOST_ATTESTATION_OFF, REASON_HOST_ATTESTATION_UNKNOWN, REASON_SERVER_NOT_ACTIVE,
    REASON_SERVER_STATUS_UNKNOWN, REASON_BUILD_BELOW_MINIMUM, REASON_OS_BUILD_UNKNOWN,
    REASON_GSI_OFF, REASON_GSI_UNKNOWN, REASON_LEGACY_OS_SUPPORT_OFF, REASON_LEGACY_OS_SUPPORT_UNKNOWN,
    REASON_LEGACY_NETWORKING_MISSING, REASON_LEGACY_NETWORKING_UNKNOWN, REASON_ACTIVE,
)

SOURCE_ARM = v.SOURCE_ARM
SOURCE_HOST = v.SOURCE_HOST

# Why a row has no minimum build to compare (Eligibility.minimum_note).
MINIMUM_SERVICING_STACK = "servicing-stack"      # ESU: the latest servicing stack update, no build number
MINIMUM_RELEASE_NOT_LISTED = "release-not-listed"  # a multi-session release the table does not list
MINIMUM_BUILD_UNKNOWN = "build-unknown"          # the release cannot be told without the build

# ----------------------------------------------------------------------------- the eligibility table


@dataclass(frozen=True)
class EligibilityRow:
    """One row of the benefit table."""
    key: str
    guest_os: str
    benefit: str
    minimum_build: Optional[Build]
    update: str
    needs: str


# Source: "Azure verification for VMs on Azure Local" (seed 000), "Benefits available on Azure
# Local": the minimum is the 4B update released on April 9, 2024 (KB5036909 for Windows Server 2022
# Azure Edition, KB5036893 for Windows 11 22H2/23H2, KB5036894 for Windows 11 21H2, KB5036892 for
# Windows 10 21H2/22H2); Windows 10 multi-session and ESU VMs (Windows Server 2012 / 2012 R2 and
# older, with the latest servicing stack update, advisory ADV990001) need legacy OS support (v1);
# the others use Guest Service Interface (v2). Every other guest OS (Linux, Windows Server 2019 /
# 2022 other than Azure Edition, single-session Windows) has no benefit that needs verification.
ELIGIBILITY_TABLE = (
    EligibilityRow("ws2022-azure-edition", "Windows Server 2022 Datacenter: Azure Edition",
                   v.BENEFIT_AZURE_EDITION, Build(20348, 2402), "KB5036909", NEEDS_V2),
    EligibilityRow("w11-multisession-23h2", "Windows 11 Enterprise multi-session 23H2",
                   v.BENEFIT_AVD, Build(22631, 3447), "KB5036893", NEEDS_V2),
    EligibilityRow("w11-multisession-22h2", "Windows 11 Enterprise multi-session 22H2",
                   v.BENEFIT_AVD, Build(22621, 3447), "KB5036893", NEEDS_V2),
    EligibilityRow("w11-multisession-21h2", "Windows 11 Enterprise multi-session 21H2",
                   v.BENEFIT_AVD, Build(22000, 2899), "KB5036894", NEEDS_V2),
    EligibilityRow("w10-multisession-22h2", "Windows 10 Enterprise multi-session 22H2",
                   v.BENEFIT_AVD, Build(19045, 4291), "KB5036892", NEEDS_V1),
    EligibilityRow("w10-multisession-21h2", "Windows 10 Enterprise multi-session 21H2",
                   v.BENEFIT_AVD, Build(19044, 4291), "KB5036892", NEEDS_V1),
    EligibilityRow("ws2012-esu", "Windows Server 2012 / 2012 R2 and older Windows Server",
                   v.BENEFIT_ESU, None, "the latest servicing stack update (ADV990001)", NEEDS_V1),
)

_ROWS = {row.key: row for row in ELIGIBILITY_TABLE}
_WINDOWS11_FIRST_BUILD = 22000
_WINDOWS11_ROWS = {row.minimum_build.major: row for row in ELIGIBILITY_TABLE if row.key.startswith("w11-")}
_WINDOWS10_ROWS = {row.minimum_build.major: row for row in ELIGIBILITY_TABLE if row.key.startswith("w10-")}

# Windows Server releases before 2012 R2 that still appear as guests, by build: 2012 R2 (9600),
# 2012 (9200), 2008 R2 (7600, 7601), 2008 (6001-6003), 2003 (3790).
_ESU_SERVER_BUILDS = frozenset((9600, 9200, 7601, 7600, 6003, 6002, 6001, 3790))

# Edition identifiers (GetProductInfo / KVP OSEditionId and registry EditionID).
_AZURE_EDITION_SKUS = frozenset(("407", "408", "409", "serverturbine", "serverturbinecor"))
_AZURE_EDITION_2022_BUILD = 20348
# A Windows Server release year in a normalized name ("windows server 2022 datacenter azure edition").
_SERVER_YEAR = re.compile(r"\bserver (?:r )?(20\d\d)\b")
_MULTI_SESSION_SKUS = frozenset(("175", "serverrdsh"))

# Names that say a guest runs Windows (or Linux) but not which edition: ARM osName/osType.
_GENERIC_NAMES = frozenset(("", "windows", "microsoft windows", "windows nt", "win", "windows os"))
_LINUX_MARKERS = ("linux", "ubuntu", "debian", "red hat", "rhel", "centos", "suse", "sles", "rocky", "alma",
                  "mariner", "fedora", "oracle", "freebsd", "photon", "coreos", "flatcar")


@dataclass(frozen=True)
class Eligibility:
    """What a guest OS can get from Azure verification for VMs.

    `benefit` None: no applicable benefit. `determined` False: the guest OS is not known well
    enough to tell (no name, or only "windows"). `minimum_build` None with a benefit: see
    `minimum_note` (MINIMUM_SERVICING_STACK, MINIMUM_RELEASE_NOT_LISTED or MINIMUM_BUILD_UNKNOWN).
    """
    benefit: Optional[str]
    minimum_build: Optional[Build]
    needs: Optional[str]
    guest_os: Optional[str] = None
    update: Optional[str] = None
    minimum_note: Optional[str] = None
    determined: bool = True

    @property
    def minimum_text(self):
        if self.minimum_build is not None:
            return "{} ({})".format(self.minimum_build, self.update) if self.update else str(self.minimum_build)
        if self.minimum_note == MINIMUM_SERVICING_STACK:
            return self.update
        return None


_UNDETERMINED = Eligibility(None, None, None, determined=False)
_NOT_ELIGIBLE = Eligibility(None, None, None)


def _normalize(text):
    text = re.sub(r"[^a-z0-9]+", " ", str(text or "").lower()).strip()
    return text[len("microsoft "):] if text.startswith("microsoft ") else text


def _from_row(row, guest_os=None, minimum_build=None, minimum_note=None, use_row_minimum=True):
    return Eligibility(row.benefit, row.minimum_build if use_row_minimum else minimum_build, row.needs,
                       guest_os or row.guest_os, row.update, minimum_note)


def eligibility(os_name, version=None, sku=None):
    """The benefit, minimum build and access need of a guest OS (the table ELIGIBILITY_TABLE).

    `os_name`: Hyper-V data exchange `OSName`, ARM `osName` or `osSku` ("Windows Server 2022
    Datacenter: Azure Edition", "Windows 10 Enterprise multi-session", "windows", "linux", ...);
    `version`: any form parse_build reads; `sku`: ARM `osSku`/`osEdition`, the registry EditionID
    or the numeric edition (OSEditionId). Windows 11 multi-session releases are told apart by the
    build (data exchange reports Windows 11 guests as "Windows 10 ..." because it reads the
    registry ProductName, so a build of 22000 or more wins over the name).
    """
    name = _normalize(os_name)
    sku_text = _normalize(sku)
    text = (name + " " + sku_text).strip()
    build = parse_build(version)
    if text in _GENERIC_NAMES or (name in _GENERIC_NAMES and sku_text in _GENERIC_NAMES):
        return _UNDETERMINED
    if any(marker in text for marker in _LINUX_MARKERS):
        return _NOT_ELIGIBLE
    sku_tokens = set(sku_text.split()) | {sku_text.replace(" ", "")}
    if "azure edition" in text or sku_tokens & _AZURE_EDITION_SKUS:
        return _azure_edition(name, sku_text, build)
    if ("multi session" in text or "multisession" in text or "virtual desktops" in text
            or sku_tokens & _MULTI_SESSION_SKUS):
        return _multi_session(name, build)
    if _is_esu_server(name, build) or _is_esu_server(sku_text, build):
        return _from_row(_ROWS["ws2012-esu"], minimum_note=MINIMUM_SERVICING_STACK, use_row_minimum=False)
    return _NOT_ELIGIBLE


def _azure_edition(name, sku_text, build):
    """Only Windows Server 2022 Datacenter: Azure Edition is in the table (seed 000: "Windows Server
    Azure Edition 2022"): a release year in the name decides; without one, a known build above 2022's
    (20348, e.g. 26100 for 2025) is another release. An unknown build keeps the row (judged unknown)."""
    year = _SERVER_YEAR.search(name) or _SERVER_YEAR.search(sku_text)
    if year:
        return _from_row(_ROWS["ws2022-azure-edition"]) if year.group(1) == "2022" else _NOT_ELIGIBLE
    if build is not None and build.major > _AZURE_EDITION_2022_BUILD:
        return _NOT_ELIGIBLE
    return _from_row(_ROWS["ws2022-azure-edition"])


def _multi_session(name, build):
    if build is not None:
        windows11 = build.major >= _WINDOWS11_FIRST_BUILD
    elif "windows 11" in name:
        windows11 = True
    elif "windows 10" in name:
        windows11 = False
    else:
        return Eligibility(v.BENEFIT_AVD, None, None, "Windows Enterprise multi-session",
                           minimum_note=MINIMUM_BUILD_UNKNOWN)
    rows = _WINDOWS11_ROWS if windows11 else _WINDOWS10_ROWS
    family = "Windows 11 Enterprise multi-session" if windows11 else "Windows 10 Enterprise multi-session"
    needs = NEEDS_V2 if windows11 else NEEDS_V1
    if build is None:
        return Eligibility(v.BENEFIT_AVD, None, needs, family, minimum_note=MINIMUM_BUILD_UNKNOWN)
    if build.major in rows:
        return _from_row(rows[build.major])
    earliest = rows[min(rows)]
    if build.major < earliest.minimum_build.major:
        # An earlier release than any in the table: below the earliest listed minimum.
        return _from_row(earliest, guest_os=family)
    return Eligibility(v.BENEFIT_AVD, None, needs, family, minimum_note=MINIMUM_RELEASE_NOT_LISTED)


def _is_esu_server(name, build):
    match = re.search(r"\bwindows (?:small business |web |storage )?server (?:r )?(\d{4})\b", name)
    if match:
        return int(match.group(1)) <= 2012
    return name.startswith("windows") and "server" in name and build is not None and build.major in _ESU_SERVER_BUILDS


# ----------------------------------------------------------------------------- facts

_FACT_NAMES = (
    ("name", "name"), ("vm_id", "vmId"), ("server", "server"), ("generation", "generation"), ("state", "state"),
    ("guest_os_name", "guestOsName"), ("guest_os_version", "guestOsVersion"), ("guest_os_sku", "guestOsSku"),
    ("data_exchange", "dataExchange"), ("guest_service_interface", "guestServiceInterface"),
    ("legacy_networking", "legacyNetworking"), ("security_type", "securityType"),
)
_CAMEL = dict(_FACT_NAMES)


@dataclass(frozen=True)
class VmFacts:
    """What is known about one VM, merged from ARM and the host. None: not known.

    `sources` maps a fact (camelCase, as in views) to where its value came from (`arm`, `host`);
    `conflicts` lists facts both sources reported with different values ({fact, arm, host}); the
    host's value is kept.
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
    if _normalize(os_name) in _GENERIC_NAMES or os_name is None or _normalize(os_name) == "linux":
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
        security_type = _text(_get(instance_props, "securityProfile", "securityType"))
        facts["security_type"] = _security_type(security_type)
    comparable.update(("name", "server", "state", "guest_os_name", "guest_os_version"))
    return {key: value for key, value in facts.items() if value is not None}, comparable


def _security_type(raw):
    if raw is None:
        return v.SECURITY_STANDARD
    for known in (v.SECURITY_TRUSTED_LAUNCH, v.SECURITY_CONFIDENTIAL, v.SECURITY_STANDARD):
        if raw.lower() == known.lower():
            return known
    return raw


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


def _same(attr, arm_value, host_value):
    """Whether ARM's and the host's values of a fact agree (or are merely more or less precise)."""
    if attr == "guest_os_version":
        arm_build, host_build = parse_build(arm_value), parse_build(host_value)
        if arm_build is None or host_build is None:
            return str(arm_value).strip() == str(host_value).strip()
        if arm_build.major != host_build.major:
            return False
        return arm_build.revision is None or host_build.revision is None or arm_build.revision == host_build.revision
    if attr == "guest_os_name":
        arm_text, host_text = _normalize(arm_value), _normalize(host_value)
        return arm_text in _GENERIC_NAMES or arm_text == host_text
    if attr == "server":
        return _short_name(arm_value) == _short_name(host_value)
    if attr == "state":
        arm_class = _STATE_CLASSES.get(str(arm_value).lower())
        host_class = _STATE_CLASSES.get(str(host_value).lower())
        return arm_class is None or host_class is None or arm_class == host_class
    return str(arm_value).lower() == str(host_value).lower()


def merge_vm_facts(arm_machine=None, arm_instance=None, host_vm=None, host_name=None):
    """VmFacts for one VM from its ARM machine, its Azure Local VM instance and its host-facts entry.

    Any of them may be None. `arm_machine` is a Microsoft.HybridCompute/machines body,
    `arm_instance` a Microsoft.AzureStackHCI/virtualMachineInstances body (`properties.hyperVVmId`,
    `hostNodeName`, `status.powerState`, `securityProfile.securityType`), `host_vm` an entry of a
    host-facts document's `vms` and `host_name` that document's computerName (the VM's server when
    the entry does not name one). The host wins where both report a fact and disagree; the
    disagreement is kept in `conflicts`. A version from data exchange (`10.0.20348`, no revision)
    that ARM reports more precisely (`10.0.20348.2402`) is not a conflict: ARM's value is kept.
    """
    arm, comparable = _arm_facts(arm_machine, arm_instance)
    host = _host_facts(host_vm, host_name)
    values, sources, conflicts = {}, {}, []
    for attr, camel in _FACT_NAMES:
        in_arm, in_host = attr in arm, attr in host
        if in_host:
            values[attr], sources[camel] = host[attr], SOURCE_HOST
            if in_arm and attr in comparable:
                if not _same(attr, arm[attr], host[attr]):
                    conflicts.append({"fact": camel, "arm": arm[attr], "host": host[attr]})
                elif attr == "guest_os_version" and _more_precise(arm[attr], host[attr]):
                    values[attr], sources[camel] = arm[attr], SOURCE_ARM
        elif in_arm:
            values[attr], sources[camel] = arm[attr], SOURCE_ARM
    return VmFacts(sources=sources, conflicts=tuple(conflicts), **values)


def _more_precise(arm_value, host_value):
    arm_build, host_build = parse_build(arm_value), parse_build(host_value)
    return (arm_build is not None and host_build is not None
            and arm_build.revision is not None and host_build.revision is None)


def arm_vm_keys(arm_machine=None, arm_instance=None):
    """(Hyper-V VM id, name) by which a host-facts entry is matched to ARM's VM."""
    facts, _ = _arm_facts(arm_machine, arm_instance)
    return facts.get("vm_id"), facts.get("name")


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


# ----------------------------------------------------------------------------- host context

@dataclass(frozen=True)
class HostContext:
    """What a VM's verdict needs to know about its host: cluster hostStatus, the VM's server's
    status and legacy OS support (vocabulary values), and the server's name (None when not known)."""
    host_status: str = v.UNKNOWN
    server_status: str = v.UNKNOWN
    legacy_os_support: str = v.UNKNOWN
    server_name: Optional[str] = None


def host_context_from_cluster(cluster_verdict, server_name):
    """HostContext for a VM on `server_name` from a core.clusters ClusterVerdict (duck-typed: `.host.value`,
    `.legacy.value`, `.servers[*].name/.status/.legacy_os_support`)."""
    host = getattr(getattr(cluster_verdict, "host", None), "value", v.UNKNOWN)
    legacy = getattr(getattr(cluster_verdict, "legacy", None), "value", v.UNKNOWN)
    wanted = _short_name(server_name) if server_name else None
    for server in getattr(cluster_verdict, "servers", ()) or ():
        if wanted and _short_name(server.name) == wanted:
            return HostContext(host, server.status, server.legacy_os_support or legacy, server.name)
    return HostContext(host, v.UNKNOWN, legacy, server_name)


# ----------------------------------------------------------------------------- PowerShell quoting

_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PS_WILDCARDS = "*?[]"


def powershell_literal(text):
    """`text` as a PowerShell single-quoted string literal: nothing in it is code.

    PowerShell ends a single-quoted string at ' and at the typographic quotes U+2018-U+201B; each
    is doubled.
    """
    return "'" + "".join(char * 2 if char in _PS_SINGLE_QUOTES else char for char in str(text)) + "'"


def vm_name_argument(name):
    """A VM name for `-VMName`: a literal that is also no wildcard pattern.

    `-VMName` takes wildcards, so a name with * ? [ ] would act on other VMs: those characters
    (and the backtick, the wildcard escape) are escaped with a backtick when the name has any.
    """
    name = str(name)
    if any(char in _PS_WILDCARDS for char in name):
        name = "".join("`" + char if char in _PS_WILDCARDS + "`" else char for char in name)
    return powershell_literal(name)


def command_for(template, vm_name):
    return template.format(vm=vm_name_argument(vm_name if vm_name is not None else "<vm>"))


# ----------------------------------------------------------------------------- the verdict

@dataclass(frozen=True)
class VmVerdict:
    """The verdict on one VM: the WAC benefit status, the action and the exact command to run."""
    eligible_benefit: Optional[str]
    benefit_status: str
    action: Optional[str]
    command: Optional[str]
    access_method: Optional[str]
    reason_code: str
    reason: str
    notes: Tuple[str, ...] = ()
    minimum_build: Optional[str] = None
    needs: Optional[str] = None
    unknown: Tuple[str, ...] = ()

    def to_dict(self):
        return {
            "eligibleBenefit": self.eligible_benefit,
            "benefitStatus": self.benefit_status,
            "action": self.action,
            "command": self.command,
            "accessMethod": self.access_method,
            "reasonCode": self.reason_code,
            "reason": self.reason,
            "notes": list(self.notes),
            "minimumBuild": self.minimum_build,
            "needs": self.needs,
            "unknown": list(self.unknown),
        }


def access_method(vm, host):
    """How the VM can reach Azure verification: v2 (Guest Service Interface on), v1 (legacy OS NIC and
    legacy OS support on), v2+v1, none; None when nothing is known to work and a fact that could is
    unknown."""
    v2 = vm.guest_service_interface is True
    v1 = vm.legacy_networking is True and host.legacy_os_support == v.ON
    if v2 and v1:
        return v.ACCESS_BOTH
    if v2:
        return v.ACCESS_V2
    if v1:
        return v.ACCESS_V1
    v2_unknown = vm.guest_service_interface is None
    v1_unknown = (vm.legacy_networking is None and host.legacy_os_support != v.OFF) or (
        vm.legacy_networking is True and host.legacy_os_support == v.UNKNOWN)
    return None if v2_unknown or v1_unknown else v.ACCESS_NONE


def _where(server):
    return "on {}".format(server) if server else "on the VM's host server"


def _probe_hint(server):
    return ("run `{} -o json > facts.json` {} and pass the file with `--host-facts facts.json`"
            .format(COMMAND_PROBE, _where(server)))


def evaluate_vm(vm, host):
    """The eight ordered steps of the design (first match wins), with unknown facts kept unknown."""
    server = host.server_name or vm.server
    elig = eligibility(vm.guest_os_name, vm.guest_os_version, vm.guest_os_sku)
    access = access_method(vm, host)
    label = vm.name or vm.vm_id or "the VM"

    def verdict(status, code, reason, action=None, command=None, notes=(), unknown=()):
        return VmVerdict(
            eligible_benefit=elig.benefit, benefit_status=status, action=action, command=command,
            access_method=access, reason_code=code, reason=reason, notes=tuple(note for note in notes if note),
            minimum_build=elig.minimum_text, needs=elig.needs, unknown=tuple(unknown))

    # 1. Guest OS unknown.
    if not elig.determined:
        said = " (the only name reported is '{}')".format(vm.guest_os_name) if vm.guest_os_name else ""
        if vm.data_exchange is True:
            return verdict(v.BENEFITS_UNKNOWN, REASON_GUEST_OS_NOT_REPORTED,
                           "Hyper-V data exchange is on, but the guest has not reported its OS{}{}; start the VM "
                           "and make sure its integration services run.".format(
                               said, " (VM state: {})".format(vm.state) if vm.state else ""))
        if vm.data_exchange is False:
            reason = ("Hyper-V data exchange is off and no other source reported the guest OS{}, so its "
                      "eligible benefit cannot be told; turn on data exchange.".format(said))
        else:
            reason = ("No source reported the guest OS{} and whether Hyper-V data exchange is on is not known; "
                      "{}, or turn on data exchange.".format(said, _probe_hint(server)))
        return verdict(v.BENEFITS_UNKNOWN, REASON_GUEST_OS_UNKNOWN, reason, v.ACTION_TURN_ON_DATA_EXCHANGE,
                       command_for(COMMAND_ENABLE_DATA_EXCHANGE, vm.name))

    # 2. No eligible benefit.
    if elig.benefit is None:
        return verdict(v.BENEFITS_NOT_APPLICABLE, REASON_NO_BENEFIT,
                       "{} has no benefit that needs Azure verification for VMs.".format(
                           vm.guest_os_name or vm.guest_os_sku))

    pending = []     # (reasonCode, reason) of steps whose facts are unknown
    notes = []

    # 3. Host attestation and the VM's server.
    if host.host_status == v.OFF:
        return verdict(v.BENEFITS_INACTIVE, REASON_HOST_ATTESTATION_OFF,
                       _with_pending("Azure verification for VMs is off on the cluster (host status Off); a sync "
                                     "with Azure turns it back on.", pending),
                       v.ACTION_SYNC, v.COMMAND_SYNC, unknown=_codes(pending))
    if host.host_status != v.ON:
        pending.append((REASON_HOST_ATTESTATION_UNKNOWN,
                        "the cluster's host status is not known (no imdsAttestation was reported; the cluster may "
                        "not be registered yet)"))
    if host.server_status in (v.SERVER_EXPIRED, v.SERVER_INACTIVE, v.SERVER_ERROR):
        return verdict(v.BENEFITS_INACTIVE, REASON_SERVER_NOT_ACTIVE,
                       _with_pending("Azure verification on server {} is {}; a sync with Azure renews it."
                                     .format(server or "(unknown)", host.server_status), pending),
                       v.ACTION_SYNC, v.COMMAND_SYNC, unknown=_codes(pending))
    if host.server_status != v.SERVER_ACTIVE:
        pending.append((REASON_SERVER_STATUS_UNKNOWN,
                        "the Azure verification status of {} is not known".format(
                            "server " + server if server else "the VM's server (ARM reports no hostNodeName)")))

    # 4. Build below the minimum.
    build = parse_build(vm.guest_os_version)
    if elig.minimum_note == MINIMUM_SERVICING_STACK:
        notes.append("{} needs {} in the guest; there is no build number to compare, so this is not checked."
                     .format(elig.benefit, elig.update))
    elif build is None:
        if vm.guest_os_version:
            why = "the reported version {!r} has no build number that can be read".format(vm.guest_os_version)
        else:
            why = "no source reported its version{}".format(
                "; Hyper-V data exchange reports it" if vm.data_exchange is not True else "")
        pending.append((REASON_OS_BUILD_UNKNOWN, "the guest OS build is not known ({}){}".format(
            why, "; the minimum is " + elig.minimum_text if elig.minimum_text else "")))
    elif elig.minimum_build is None:
        notes.append("No minimum build is listed for {} build {}; the OS build is not checked.".format(
            elig.guest_os, build.major))
    else:
        standing = compare_to_minimum(build, elig.minimum_build)
        if standing == BELOW:
            return verdict(v.BENEFITS_INACTIVE, REASON_BUILD_BELOW_MINIMUM,
                           _with_pending("The guest OS build {} is below the minimum {} for {}; install {} or a "
                                         "later cumulative update in the guest."
                                         .format(build, elig.minimum_build, elig.benefit, elig.update), pending),
                           v.ACTION_INSTALL_UPDATES, None, notes, _codes(pending))
        if standing == REVISION_UNKNOWN:
            notes.append("The OS build is {} but its revision could not be read{}; the minimum is {}.".format(
                build.major, " (Hyper-V data exchange does not report it)"
                if vm.sources.get("guestOsVersion") == SOURCE_HOST else "", elig.minimum_text))

    # 5. v2: Guest Service Interface.
    if elig.needs == NEEDS_V2:
        if vm.guest_service_interface is False:
            return verdict(v.BENEFITS_INACTIVE, REASON_GSI_OFF,
                           _with_pending(_with_notes("Guest Service Interface is off; {} reaches Azure verification "
                                                     "through it (v2).".format(label), notes), pending),
                           v.ACTION_TURN_ON_GSI, command_for(COMMAND_ENABLE_GSI, vm.name), notes, _codes(pending))
        if vm.guest_service_interface is None:
            pending.append((REASON_GSI_UNKNOWN,
                            "whether Guest Service Interface is on is not known (ARM does not report it)"))

    # 6, 7. v1: legacy OS support on the host, the legacy OS networking NIC on the VM.
    if elig.needs == NEEDS_V1:
        if host.legacy_os_support == v.OFF:
            return verdict(v.BENEFITS_INACTIVE, REASON_LEGACY_OS_SUPPORT_OFF,
                           _with_pending(_with_notes("Legacy OS support is off {}; {} reaches Azure verification "
                                                     "over legacy OS networking (v1).".format(_where(server), label),
                                                     notes), pending),
                           v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, v.COMMAND_ENABLE_LEGACY_OS_SUPPORT, notes,
                           _codes(pending))
        if host.legacy_os_support != v.ON:
            pending.append((REASON_LEGACY_OS_SUPPORT_UNKNOWN,
                            "whether legacy OS support is on {} is not known".format(_where(server))))
        if vm.legacy_networking is False:
            notes.append(_generation_note(vm))
            return verdict(v.BENEFITS_INACTIVE, REASON_LEGACY_NETWORKING_MISSING,
                           _with_pending(_with_notes("{} has no AZSHCI_GUEST-IMDS_DO_NOT_MODIFY network adapter, "
                                                     "which legacy OS networking (v1) needs.".format(label), notes),
                                         pending),
                           v.ACTION_SET_UP_LEGACY_NETWORKING, command_for(COMMAND_ADD_VM_ATTESTATION, vm.name),
                           notes, _codes(pending))
        if vm.legacy_networking is None:
            pending.append((REASON_LEGACY_NETWORKING_UNKNOWN,
                            "whether the VM has the legacy OS networking adapter is not known (ARM does not report "
                            "it)"))

    # 8. Active, unless a step could not be judged.
    if pending:
        code = pending[0][0]
        reason = "Cannot tell whether {} is active: {}. To find out, {}.".format(
            elig.benefit, "; ".join(text for _, text in pending), _probe_hint(server))
        return verdict(v.BENEFITS_UNKNOWN, code, _with_notes(reason, notes), notes=notes, unknown=_codes(pending))
    method = {v.ACCESS_V2: "Guest Service Interface (v2)", v.ACCESS_V1: "legacy OS networking (v1)",
              v.ACCESS_BOTH: "Guest Service Interface (v2), with legacy OS networking (v1) as fallback"}
    # A guest that needs v1 (Windows 10 multi-session, ESU) is verified over legacy OS networking even
    # when Guest Service Interface is also on.
    path = method[v.ACCESS_V1] if elig.needs == NEEDS_V1 else method.get(access, "the host")
    return verdict(v.BENEFITS_ACTIVE, REASON_ACTIVE,
                   _with_notes("{} is active through {}.".format(elig.benefit, path), notes), notes=notes)


def _codes(pending):
    return tuple(code for code, _ in pending)


def _with_pending(reason, pending):
    if not pending:
        return reason
    return "{} Also not known: {}.".format(reason, "; ".join(text for _, text in pending))


def _with_notes(reason, notes):
    return " ".join([reason] + [note for note in notes if note])


def _generation_note(vm):
    stop = "Stop-VM -Name {}".format(vm_name_argument(vm.name)) if vm.name else "Stop-VM"
    if vm.generation == 1:
        return ("A Generation 1 VM must be powered off before the adapter can be added ({}{}).".format(
            stop, ", it is {} now".format(vm.state) if vm.state and vm.state != "Off" else ""))
    if vm.generation is None:
        return "If this is a Generation 1 VM, it must be powered off ({}) before the adapter can be added.".format(
            stop)
    return ""


# ----------------------------------------------------------------------------- views

def vm_view(vm, verdict, detail=False):
    """The row `vm list` returns for a VM (detail=True: the object `vm show` returns)."""
    build = parse_build(vm.guest_os_version)
    view = {
        "name": vm.name,
        "server": vm.server,
        "guestOs": vm.guest_os_name or vm.guest_os_sku,
        "osBuild": str(build) if build is not None else None,
        "eligibleBenefit": verdict.eligible_benefit,
        "benefitStatus": verdict.benefit_status,
        "action": verdict.action,
        "command": verdict.command,
        "accessMethod": verdict.access_method,
        "guestServiceInterface": vm.guest_service_interface,
        "dataExchange": vm.data_exchange,
        "legacyNetworking": vm.legacy_networking,
        "generation": vm.generation,
        "reason": verdict.reason,
        "reasonCode": verdict.reason_code,
        "sources": sources_list(vm.sources),
    }
    if detail:
        view.update({
            "vmId": vm.vm_id,
            "state": vm.state,
            "securityType": vm.security_type,
            "notes": [note for note in verdict.notes if note],
            "facts": vm.facts_dict(),
            "conflicts": [dict(conflict) for conflict in vm.conflicts],
        })
    return view


def summarize(verdicts):
    """The counts on Windows Admin Center's VMs dashboard. Takes VmVerdicts or views."""
    counts = {v.BENEFITS_ACTIVE: 0, v.BENEFITS_INACTIVE: 0, v.BENEFITS_UNKNOWN: 0, v.BENEFITS_NOT_APPLICABLE: 0}
    total = 0
    for item in verdicts:
        status = item.get("benefitStatus") if isinstance(item, dict) else item.benefit_status
        total += 1
        counts[status if status in counts else v.BENEFITS_UNKNOWN] += 1
    return {
        "activeBenefits": counts[v.BENEFITS_ACTIVE],
        "inactiveBenefits": counts[v.BENEFITS_INACTIVE],
        "unknown": counts[v.BENEFITS_UNKNOWN],
        "noApplicableBenefits": counts[v.BENEFITS_NOT_APPLICABLE],
        "total": total,
    }
