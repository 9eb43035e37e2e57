# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What the host probes print, read into the host-facts document (schema 1). Pure.

The probes themselves (fixed PowerShell scripts) and running them live in adapters/host_probe.py;
this module only reads what they wrote. It reads both Windows PowerShell 5.1 and PowerShell 7:
`\\/Date(ms)\\/` or ISO dates, enums as numbers or names, one object instead of a one-element
array, `{"value": [...], "Count": n}` wrappers, null or empty output. A probe that failed, hung or
printed something unreadable becomes Unknown facts with a reason; the others still report.
"""

import json
import re
from dataclasses import dataclass
from xml.etree import ElementTree

from . import vocabulary as v
from .hostfacts import SCHEMA_VERSION
from .timeutil import format_timestamp, parse_timestamp
from .values import (
    bool_value as _bool, get_path as _field, guid_value as _guid, int_value as _int, text_value as _text)
from .vmfacts import normalize_vm_state

# How a PowerShell run ended (the `status` of the runner's result).
COMPLETED = "completed"
TIMED_OUT = "timeout"
NOT_STARTED = "not-started"

# The probes by name, in the order of the document's `probes` list.
HOST_INFO = "host-info"
AZURESTACKHCI = "get-azurestackhci"
ATTESTATION = "get-azurestackhciattestation"
VMS = "get-vm"
INTEGRATION_SERVICES = "get-vmintegrationservice"
NETWORK_ADAPTERS = "get-vmnetworkadapter"
SWITCH = "get-vmswitch"
GUEST_KVP = "get-vmkvp"
PROBE_NAMES = (HOST_INFO, AZURESTACKHCI, ATTESTATION, VMS, INTEGRATION_SERVICES, NETWORK_ADAPTERS, SWITCH,
               GUEST_KVP)

# Integration service ids (the part after the VM id in Get-VMIntegrationService's Id); their
# display names are localized, the ids are not.
GUEST_SERVICE_INTERFACE_ID = "6c09bb55-d683-4da0-8931-c9bf705f6480"
KEY_VALUE_PAIR_EXCHANGE_ID = "2a34b1c2-fd73-4043-8a5b-dd2159bc743f"

# Probe statuses and reason codes in the document's `probes` list.
PROBE_SUCCEEDED = "Succeeded"
PROBE_PARTIAL = "Partial"
PROBE_UNKNOWN = "Unknown"
REASON_NO_HYPERV_HOST = "no-hyperv-host"
REASON_TIMEOUT = "timeout"
REASON_NOT_STARTED = "powershell-not-started"
REASON_CMDLET_NOT_AVAILABLE = "cmdlet-not-available"
REASON_ACCESS_DENIED = "access-denied"
REASON_PROBE_FAILED = "probe-failed"
REASON_UNREADABLE_OUTPUT = "unreadable-output"
REASON_SOME_PROBES_UNKNOWN = "some-probes-unknown"
REASON_NO_PROBE_REPORTED = "no-probe-reported"


# ----------------------------------------------------------------------------- reading the output

class ProbeOutputError(ValueError):
    """Output of a probe that is not the JSON it should be."""


def parse_powershell_json(text):
    """The objects a probe printed, as a list of dicts ([] for no output or `null`)."""
    text = (text or "").lstrip("\ufeff").strip()
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError as ex:
        raise ProbeOutputError(f"the output is not JSON ({ex}): {excerpt(text)}") from None
    value = unwrap(value)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        rows = [unwrap(item) for item in value if item is not None]
        if all(isinstance(row, dict) for row in rows):
            return rows
    raise ProbeOutputError(f"expected objects, got {excerpt(text)}")


def unwrap(value):
    """Windows PowerShell 5.1 writes some arrays as {"value": [...], "Count": n}."""
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return value["value"]
    return value


def excerpt(text, limit=200):
    """`text` on one line, cut at `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def read_timestamp(value):
    """A date as 5.1 (`\\/Date(ms)\\/`, or {"value": ..., "DateTime": ...}) or 7 (ISO) writes it; ISO out."""
    if isinstance(value, dict):
        value = _field(value, "value")
    return format_timestamp(parse_timestamp(value))


def read_enum(value, names):
    """An enum as its name, whether PowerShell wrote the name or the number; unknown values as text."""
    if isinstance(value, bool):
        return None
    number = _int(value)
    if number is not None:
        return names[number] if 0 <= number < len(names) else str(number)
    text = _text(value)
    if text is None:
        return None
    return next((name for name in names if name.lower() == text.lower()), text)


def parse_cluster(rows):
    """The host-facts `cluster` object from Get-AzureStackHCI."""
    if not rows:
        return None
    row = rows[0]
    return {
        "name": _text(_field(row, "AzureResourceName")) or _text(_field(row, "ClusterName")),
        "registrationStatus": _text(_field(row, "RegistrationStatus")),
        "connectionStatus": _text(_field(row, "ConnectionStatus")),
        "imdsAttestation": _text(_field(row, "ImdsAttestation")),
        "clusterName": _text(_field(row, "ClusterName")),
        "clusterStatus": _text(_field(row, "ClusterStatus")),
        "azureResourceUri": _text(_field(row, "AzureResourceUri")),
        "lastConnected": read_timestamp(_field(row, "LastConnected")),
        "nextSync": read_timestamp(_field(row, "NextSync")),
        "region": _text(_field(row, "Region")),
    }


def parse_attestation(rows):
    """The host-facts `attestation` list from Get-AzureStackHCIAttestation."""
    return [{
        "computerName": _text(_field(row, "ComputerName")),
        "status": read_enum(_field(row, "Status"), v.NODE_STATUS_ENUM),
        "expiration": read_timestamp(_field(row, "Expiration")),
        "legacyOsSupport": read_enum(_field(row, "LegacyOsSupport"), v.LEGACY_OS_SUPPORT_ENUM),
    } for row in rows if _text(_field(row, "ComputerName")) is not None]


_KVP_MAX_ITEM_CHARS = 64 * 1024


def parse_kvp_items(items):
    """{Name: Data} from GuestIntrinsicExchangeItems: Msvm_KvpExchangeDataItem instances as XML text.

    The values come from the guest, so nothing in them is trusted: items with a DTD or entity
    declarations, oversized items and items that are not well-formed are skipped.
    """
    if isinstance(items, str):
        items = [items]
    pairs = (_kvp_item(item) for item in (items if isinstance(items, list) else ()))
    return dict(pair for pair in pairs if pair is not None)


def _kvp_item(item):
    """(Name, Data) of one data item; None for an item that is skipped or has no name."""
    if not isinstance(item, str) or len(item) > _KVP_MAX_ITEM_CHARS or "<!" in item:
        return None
    try:
        root = ElementTree.fromstring(item)
    except ElementTree.ParseError:
        return None
    properties = {}
    for prop in root.iter("PROPERTY"):
        value = prop.find("VALUE")
        properties[prop.get("NAME")] = value.text if value is not None else None
    name = (properties.get("Name") or "").strip()
    return (name, properties.get("Data")) if name else None


def guest_os_from_kvp(values):
    """The host-facts `guestOs` object from data exchange items; None when the guest reported no OS."""
    name = _text(values.get("OSName"))
    version = _text(values.get("OSVersion"))
    build_number = _text(values.get("OSBuildNumber"))
    if version is None and build_number and _text(values.get("OSMajorVersion")):
        version = f"{values.get('OSMajorVersion')}.{values.get('OSMinorVersion') or 0}.{build_number}"
    if name is None and version is None:
        return None
    return {"name": name, "version": version, "buildNumber": build_number,
            "editionId": _text(values.get("OSEditionId")), "productType": _text(values.get("ProductType"))}


# ----------------------------------------------------------------------------- one probe's outcome

@dataclass(frozen=True)
class ProbeRun:
    """A probe's outcome: rows when it succeeded, else a reason."""
    probe: str
    status: str
    rows: tuple = ()
    reason_code: str = None
    reason: str = None
    duration_ms: int = 0

    @property
    def ok(self):
        return self.status == PROBE_SUCCEEDED

    def to_dict(self):
        return {"probe": self.probe, "status": self.status, "reasonCode": self.reason_code,
                "reason": self.reason, "durationMs": self.duration_ms}


def interpret(probe, result):
    """A ProbeRun from a PowerShell result: what went wrong in words, or the parsed rows.

    `probe`: anything with a `name` and a `description`. `result`: anything with the runner
    result's fields (`status`: COMPLETED, TIMED_OUT or NOT_STARTED; returncode, stdout, stderr,
    duration_ms, error).
    """
    label = probe.description
    if result.status == TIMED_OUT:
        code, reason = REASON_TIMEOUT, f"{label} {result.error or 'did not finish in time'}."
    elif result.status == NOT_STARTED:
        code, reason = REASON_NOT_STARTED, f"{result.error}."
    elif result.returncode != 0:
        code, reason = classify_failure(label, result.stderr, result.returncode)
    else:
        try:
            rows = parse_powershell_json(result.stdout)
        except ProbeOutputError as ex:
            code, reason = REASON_UNREADABLE_OUTPUT, f"{label}: {ex}."
        else:
            return ProbeRun(probe.name, PROBE_SUCCEEDED, tuple(rows), None, None, result.duration_ms)
    return ProbeRun(probe.name, PROBE_UNKNOWN, (), code, reason, result.duration_ms)


_NOT_RECOGNIZED = re.compile(r"The term '([^']+)' is not recognized", re.IGNORECASE)
_ACCESS_DENIED_MARKERS = ("access is denied", "unauthorizedaccess", "permissiondenied", "required permission")


def classify_failure(label, stderr, returncode):
    """(reason code, reason) for a probe that exited with `returncode` and wrote `stderr`."""
    text = " ".join((stderr or "").split())
    missing = _NOT_RECOGNIZED.search(text)
    if missing or "CommandNotFoundException" in text:
        cmdlet = missing.group(1) if missing else "a cmdlet it needs"
        return REASON_CMDLET_NOT_AVAILABLE, (
            f"{label}: {cmdlet} is not available on this computer; probe on an Azure Local machine with the Hyper-V "
            "and Azure Stack HCI PowerShell modules.")
    lowered = text.lower()
    if any(marker in lowered for marker in _ACCESS_DENIED_MARKERS):
        return REASON_ACCESS_DENIED, (
            f"{label}: access denied; run the probe from an elevated PowerShell as a member of Administrators or "
            "Hyper-V Administrators.")
    return REASON_PROBE_FAILED, f"{label} failed (exit code {returncode}): {excerpt(text) if text else 'no error text'}"


# ----------------------------------------------------------------------------- the document

def build_host_facts(runs, now, vm_names=None):
    """The host-facts document from (probe name, ProbeRun) pairs, collected at `now`."""
    runs = dict(runs)

    def rows(name):
        run = runs.get(name)
        return list(run.rows) if run is not None and run.ok else None

    host_row = (rows(HOST_INFO) or [{}])[0]
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "collectedAt": format_timestamp(now),
        "computerName": _text(_field(host_row, "ComputerName")),
        "cluster": _unless_failed(parse_cluster, rows(AZURESTACKHCI)),
        "attestation": _unless_failed(parse_attestation, rows(ATTESTATION)),
        "hostImdsSwitchPresent": _unless_failed(bool, rows(SWITCH)),
        "vms": assemble_vms(rows(VMS), rows(INTEGRATION_SERVICES), rows(NETWORK_ADAPTERS), rows(GUEST_KVP)),
    }
    if vm_names is not None:
        document["vmNames"] = list(vm_names)
    document["powerShell"] = ({"version": _text(_field(host_row, "PSVersion")),
                               "edition": _text(_field(host_row, "PSEdition"))} if host_row else None)
    document["hostPrerequisites"] = host_prerequisites(host_row) if host_row else None
    ordered = [runs[name] for name in PROBE_NAMES if name in runs]
    document.update(probe_summary(ordered))
    document["probes"] = [run.to_dict() for run in ordered]
    return document


def host_prerequisites(host_row):
    """The host prerequisites (seed 000) the host-info probe saw: Hyper-V and RSAT-Hyper-V-Tools installed
    (null where Get-WindowsFeature is not available), and the version of Windows Admin Center's Cluster
    Manager extension where Windows Admin Center is installed on this computer (else null)."""
    return {"hyperVInstalled": _bool(_field(host_row, "HyperV")),
            "rsatHyperVToolsInstalled": _bool(_field(host_row, "RsatHyperVTools")),
            "clusterManagerExtensionVersion": _text(_field(host_row, "ClusterManagerExtension"))}


def _unless_failed(read, rows):
    """read(rows), or None when the probe behind `rows` did not report."""
    return None if rows is None else read(rows)


def probe_summary(runs):
    """The document's probeStatus, reasonCode and reason from its ProbeRuns (in document order)."""
    failed = [run.probe for run in runs if not run.ok]
    if runs and not failed:
        return {"probeStatus": PROBE_SUCCEEDED, "reasonCode": None, "reason": "Every probe reported."}
    if len(failed) < len(runs):
        return {"probeStatus": PROBE_PARTIAL, "reasonCode": REASON_SOME_PROBES_UNKNOWN,
                "reason": f'{len(failed)} of {len(runs)} probes could not report ({", ".join(failed)}); their facts '
                          'are null.'}
    codes = {run.reason_code for run in runs}
    code = codes.pop() if len(codes) == 1 else REASON_NO_PROBE_REPORTED
    # Without a host every probe carries the same sentence saying so; the document repeats it.
    reason = runs[0].reason if code == REASON_NO_HYPERV_HOST else _NO_PROBE_REPORTED
    return {"probeStatus": PROBE_UNKNOWN, "reasonCode": code, "reason": reason}


_NO_PROBE_REPORTED = "No probe could report; see `probes` for each reason."


# ----------------------------------------------------------------------------- the VMs

def new_vm_entry(name, vm_id, generation=None, state=None, computer_name=None):
    """A host-facts `vms` entry with every fact not yet known."""
    return {"name": name, "vmId": vm_id, "generation": generation, "state": state, "guestServiceInterface": None,
            "dataExchange": None, "legacyNetworking": None, "guestOs": None, "computerName": computer_name}


class _VmIndex:
    """The `vms` entries in order, found by VM id or (case-insensitively) by name."""

    def __init__(self):
        self.entries = []
        self._by_id = {}
        self._by_name = {}

    def add(self, entry):
        self.entries.append(entry)
        if entry["vmId"]:
            self._by_id[entry["vmId"]] = entry
        if entry["name"]:
            self._by_name.setdefault(entry["name"].lower(), entry)
        return entry

    def has_id(self, vm_id):
        return bool(vm_id) and vm_id in self._by_id

    def find(self, row, create=False):
        """The entry a row of another probe (VMId, VMName) is about; a new one with `create`."""
        vm_id, name = _guid(_field(row, "VMId")), _text(_field(row, "VMName"))
        if self.has_id(vm_id):
            return self._by_id[vm_id]
        same_name = self._by_name.get(name.lower(), {}) if name else {}
        if same_name and (not vm_id or not same_name["vmId"]):
            return same_name
        if create and (vm_id or name):
            return self.add(new_vm_entry(name, vm_id))
        return None


def assemble_vms(vm_rows, service_rows, adapter_rows, kvp_rows):
    """The host-facts `vms` list: one entry per VM, null facts where the probe behind them failed.

    Get-VM says which VMs there are; when it failed (`vm_rows` None), the VMs the other probes
    list are used. Each argument is a probe's rows, or None when that probe did not report.
    """
    index = _VmIndex()
    if vm_rows is not None:
        _add_listed_vms(index, vm_rows)
    else:
        for row in (service_rows or []) + (adapter_rows or []) + (kvp_rows or []):
            index.find(row, create=True)
    _apply_integration_services(index, service_rows or ())
    if adapter_rows is not None:
        _apply_network_adapters(index, adapter_rows)
    _apply_guest_kvp(index, kvp_rows or ())
    if vm_rows is None and not index.entries:
        return None
    return index.entries


def _add_listed_vms(index, vm_rows):
    for row in vm_rows:
        vm_id, name = _guid(_field(row, "Id")), _text(_field(row, "Name"))
        if (vm_id or name) and not index.has_id(vm_id):
            index.add(new_vm_entry(name, vm_id, _int(_field(row, "Generation")),
                                   normalize_vm_state(_field(row, "State")), _text(_field(row, "ComputerName"))))


def _apply_integration_services(index, service_rows):
    for row in service_rows:
        entry = index.find(row)
        if entry is None:
            continue
        service = (_text(_field(row, "Id")) or "").lower()
        name = (_text(_field(row, "Name")) or "").lower()
        if service.endswith(GUEST_SERVICE_INTERFACE_ID) or name == "guest service interface":
            entry["guestServiceInterface"] = _bool(_field(row, "Enabled"))
        elif service.endswith(KEY_VALUE_PAIR_EXCHANGE_ID) or name == "key-value pair exchange":
            entry["dataExchange"] = _bool(_field(row, "Enabled"))


def _apply_network_adapters(index, adapter_rows):
    with_adapter = [index.find(row) for row in adapter_rows]
    for entry in index.entries:
        entry["legacyNetworking"] = any(entry is other for other in with_adapter)


def _apply_guest_kvp(index, kvp_rows):
    for row in kvp_rows:
        entry = index.find(row)
        if entry is not None:
            entry["guestOs"] = guest_os_from_kvp(parse_kvp_items(_field(row, "Items")))
