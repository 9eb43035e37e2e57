# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Probing an Azure Local machine: the host-facts document (schema 1) from PowerShell cmdlets.

Each probe is a fixed script (the constants below; the first line `# probe: <name>` names it) run
in its own PowerShell process with its own timeout, all of them at once. A probe that fails, hangs
or prints something unreadable becomes Unknown facts with a reason; the others still report.
The parsing half (`parse_*`, `build_host_facts`) is pure and reads what both Windows PowerShell 5.1
and PowerShell 7 write: `\\/Date(ms)\\/` or ISO dates, enums as numbers or names, one object
instead of a one-element array, `{"value": [...], "Count": n}` wrappers, null or empty output.
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from xml.etree import ElementTree

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.timeutil import format_timestamp, parse_timestamp
from azext_stack_hci_verify.core.values import (
    bool_value as _bool, get_path as _field, guid_value as _guid, int_value as _int, text_value as _text)
from azext_stack_hci_verify.core.vms import normalize_vm_state

from .powershell import NOT_STARTED, POWERSHELL_SETTING, TIMED_OUT

SCHEMA_VERSION = 1
PROBE_TIMEOUT_SECONDS = 60.0

GUEST_IMDS_ADAPTER = "AZSHCI_GUEST-IMDS_DO_NOT_MODIFY"
HOST_IMDS_SWITCH = "AZSHCI_HOST-IMDS_DO_NOT_MODIFY"
# Integration service ids (the part after the VM id in Get-VMIntegrationService's Id); their
# display names are localized, the ids are not.
GUEST_SERVICE_INTERFACE_ID = "6c09bb55-d683-4da0-8931-c9bf705f6480"
KEY_VALUE_PAIR_EXCHANGE_ID = "2a34b1c2-fd73-4043-8a5b-dd2159bc743f"

# Probe statuses and reason codes in the document's `probes` list.
PROBE_SUCCEEDED = "Succeeded"
PROBE_UNKNOWN = "Unknown"
REASON_NO_HYPERV_HOST = "no-hyperv-host"
REASON_TIMEOUT = "timeout"
REASON_NOT_STARTED = "powershell-not-started"
REASON_CMDLET_NOT_AVAILABLE = "cmdlet-not-available"
REASON_ACCESS_DENIED = "access-denied"
REASON_PROBE_FAILED = "probe-failed"
REASON_UNREADABLE_OUTPUT = "unreadable-output"

NO_HYPERV_HOST_REASON = (
    "There is no Hyper-V host to probe here: no PowerShell was found, or this is not Windows. Run "
    "`az stack-hci vm-verification probe` on an Azure Local machine (or set {} to the PowerShell to use)."
    .format(POWERSHELL_SETTING))

# ----------------------------------------------------------------------------- the scripts

# Shared by every script. Output is UTF-8 JSON; enums are names where PowerShell 7 can say so
# (-EnumsAsStrings); Windows PowerShell 5.1 writes numbers and `\/Date(ms)\/`, which the parser reads.
_PREAMBLE = r"""
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$jsonOptions = @{ Depth = 5; Compress = $true }
if ($PSVersionTable.PSVersion.Major -ge 6) { $jsonOptions['EnumsAsStrings'] = $true }
$probeData = $null
if ($env:STACK_HCI_VERIFY_PROBE_DATA) { $probeData = $env:STACK_HCI_VERIFY_PROBE_DATA | ConvertFrom-Json }
$wantedNames = $null
if ($null -ne $probeData -and $null -ne $probeData.vmNames) { $wantedNames = @($probeData.vmNames) }
function Test-WantedVM([string]$Name) { ($null -eq $wantedNames) -or ($wantedNames -contains $Name) }
"""


@dataclass(frozen=True)
class Probe:
    name: str
    description: str
    body: str
    takes_vm_names: bool = False

    @property
    def script(self):
        return "# probe: {}\n{}\n{}".format(self.name, _PREAMBLE.strip(), self.body.strip())


PROBE_HOST_INFO = Probe("host-info", "this computer and its PowerShell", r"""
[pscustomobject]@{
    ComputerName = $env:COMPUTERNAME
    PSVersion = [string]$PSVersionTable.PSVersion
    PSEdition = [string]$PSVersionTable.PSEdition
} | ConvertTo-Json @jsonOptions
""")

PROBE_AZURESTACKHCI = Probe("get-azurestackhci", "Get-AzureStackHCI (registration, IMDS attestation)", r"""
$clusterName = $null
try { $clusterName = (Get-Cluster -ErrorAction Stop).Name } catch { }
Get-AzureStackHCI | Select-Object `
    @{ n = 'ClusterName'; e = { $clusterName } },
    AzureResourceName, AzureResourceUri,
    @{ n = 'ClusterStatus'; e = { [string]$_.ClusterStatus } },
    @{ n = 'RegistrationStatus'; e = { [string]$_.RegistrationStatus } },
    @{ n = 'ConnectionStatus'; e = { [string]$_.ConnectionStatus } },
    @{ n = 'ImdsAttestation'; e = { [string]$_.IMDSAttestation } },
    LastConnected, NextSync, Region |
    ConvertTo-Json @jsonOptions
""")

PROBE_ATTESTATION = Probe("get-azurestackhciattestation", "Get-AzureStackHCIAttestation (per server)", r"""
Get-AzureStackHCIAttestation | Select-Object ComputerName, Status, Expiration, LegacyOsSupport |
    ConvertTo-Json @jsonOptions
""")

PROBE_VMS = Probe("get-vm", "Get-VM (name, id, generation, state)", r"""
Get-VM | Where-Object { Test-WantedVM $_.Name } |
    Select-Object Name, @{ n = 'Id'; e = { [string]$_.Id } }, Generation, State, ComputerName |
    ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBE_INTEGRATION_SERVICES = Probe(
    "get-vmintegrationservice", "Get-VMIntegrationService (Guest Service Interface, Key-Value Pair Exchange)", r"""
$serviceIds = @('6C09BB55-D683-4DA0-8931-C9BF705F6480', '2A34B1C2-FD73-4043-8A5B-DD2159BC743F')
Get-VM | Where-Object { Test-WantedVM $_.Name } | ForEach-Object {
    Get-VMIntegrationService -VM $_ | Where-Object {
        $id = [string]$_.Id
        @($serviceIds | Where-Object { $id.EndsWith($_, [StringComparison]::OrdinalIgnoreCase) }).Count -gt 0
    } | Select-Object VMName, @{ n = 'VMId'; e = { [string]$_.VMId } }, Name,
        @{ n = 'Id'; e = { [string]$_.Id } }, Enabled
} | ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBE_NETWORK_ADAPTERS = Probe(
    "get-vmnetworkadapter", "Get-VMNetworkAdapter -All (the legacy OS networking adapter)", r"""
Get-VMNetworkAdapter -All | Where-Object {
    -not $_.IsManagementOs -and $_.Name -eq 'AZSHCI_GUEST-IMDS_DO_NOT_MODIFY' -and (Test-WantedVM $_.VMName)
} | Select-Object VMName, @{ n = 'VMId'; e = { [string]$_.VMId } }, Name, SwitchName |
    ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBE_SWITCH = Probe("get-vmswitch", "Get-VMSwitch (the legacy OS networking switch)", r"""
Get-VMSwitch | Where-Object { $_.Name -eq 'AZSHCI_HOST-IMDS_DO_NOT_MODIFY' } |
    Select-Object Name, @{ n = 'SwitchType'; e = { [string]$_.SwitchType } } |
    ConvertTo-Json @jsonOptions
""")

PROBE_GUEST_KVP = Probe(
    "get-vmkvp", "Msvm_KvpExchangeComponent (guest OS name and version from Hyper-V data exchange)", r"""
$names = @{}
Get-VM | Where-Object { Test-WantedVM $_.Name } | ForEach-Object {
    $names[([string]$_.Id).ToLowerInvariant()] = $_.Name
}
Get-CimInstance -Namespace 'root/virtualization/v2' -ClassName 'Msvm_KvpExchangeComponent' | ForEach-Object {
    $vmId = ([string]$_.SystemName).ToLowerInvariant()
    if ($names.ContainsKey($vmId)) {
        [pscustomobject]@{ VMName = $names[$vmId]; VMId = $vmId; Items = $_.GuestIntrinsicExchangeItems }
    }
} | ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBES = (PROBE_HOST_INFO, PROBE_AZURESTACKHCI, PROBE_ATTESTATION, PROBE_VMS, PROBE_INTEGRATION_SERVICES,
          PROBE_NETWORK_ADAPTERS, PROBE_SWITCH, PROBE_GUEST_KVP)


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
        raise ProbeOutputError("the output is not JSON ({}): {}".format(ex, _excerpt(text))) from None
    value = _unwrap(value)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        rows = [_unwrap(item) for item in value if item is not None]
        if not all(isinstance(row, dict) for row in rows):
            raise ProbeOutputError("expected objects, got {}".format(_excerpt(text)))
        return rows
    raise ProbeOutputError("expected objects, got {}".format(_excerpt(text)))


def _unwrap(value):
    """Windows PowerShell 5.1 writes some arrays as {"value": [...], "Count": n}."""
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return value["value"]
    return value


def _excerpt(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _timestamp(value):
    """A date as 5.1 (`\\/Date(ms)\\/`, or {"value": ..., "DateTime": ...}) or 7 (ISO) writes it; ISO out."""
    if isinstance(value, dict):
        value = _field(value, "value")
    return format_timestamp(parse_timestamp(value))


_NODE_STATUS = v.NODE_STATUS_ENUM
_LEGACY_OS_SUPPORT = v.LEGACY_OS_SUPPORT_ENUM


def _enum(value, names):
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
        "lastConnected": _timestamp(_field(row, "LastConnected")),
        "nextSync": _timestamp(_field(row, "NextSync")),
        "region": _text(_field(row, "Region")),
    }


def parse_attestation(rows):
    """The host-facts `attestation` list from Get-AzureStackHCIAttestation."""
    result = []
    for row in rows:
        name = _text(_field(row, "ComputerName"))
        if name is None:
            continue
        result.append({
            "computerName": name,
            "status": _enum(_field(row, "Status"), _NODE_STATUS),
            "expiration": _timestamp(_field(row, "Expiration")),
            "legacyOsSupport": _enum(_field(row, "LegacyOsSupport"), _LEGACY_OS_SUPPORT),
        })
    return result


_KVP_MAX_ITEM_CHARS = 64 * 1024


def parse_kvp_items(items):
    """{Name: Data} from GuestIntrinsicExchangeItems: Msvm_KvpExchangeDataItem instances as XML text.

    The values come from the guest, so nothing in them is trusted: items with a DTD or entity
    declarations, oversized items and items that are not well-formed are skipped.
    """
    if isinstance(items, str):
        items = [items]
    result = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, str) or len(item) > _KVP_MAX_ITEM_CHARS or "<!" in item:
            continue
        try:
            root = ElementTree.fromstring(item)
        except ElementTree.ParseError:
            continue
        properties = {}
        for prop in root.iter("PROPERTY"):
            value = prop.find("VALUE")
            properties[prop.get("NAME")] = value.text if value is not None else None
        name = (properties.get("Name") or "").strip()
        if name:
            result[name] = properties.get("Data")
    return result


def guest_os_from_kvp(values):
    """The host-facts `guestOs` object from data exchange items; None when the guest reported no OS."""
    name = _text(values.get("OSName"))
    version = _text(values.get("OSVersion"))
    build_number = _text(values.get("OSBuildNumber"))
    if version is None and build_number and _text(values.get("OSMajorVersion")):
        version = "{}.{}.{}".format(values.get("OSMajorVersion"), values.get("OSMinorVersion") or 0, build_number)
    if name is None and version is None:
        return None
    return {"name": name, "version": version, "buildNumber": build_number,
            "editionId": _text(values.get("OSEditionId")), "productType": _text(values.get("ProductType"))}


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
    """A ProbeRun from a PowerShellResult: what went wrong in words, or the parsed rows."""
    label = probe.description
    if result.status == TIMED_OUT:
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_TIMEOUT,
                        "{} {}.".format(label, result.error or "did not finish in time"), result.duration_ms)
    if result.status == NOT_STARTED:
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_NOT_STARTED, "{}.".format(result.error),
                        result.duration_ms)
    if result.returncode != 0:
        code, reason = _failure(label, result.stderr, result.returncode)
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), code, reason, result.duration_ms)
    try:
        rows = parse_powershell_json(result.stdout)
    except ProbeOutputError as ex:
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_UNREADABLE_OUTPUT,
                        "{}: {}.".format(label, ex), result.duration_ms)
    return ProbeRun(probe.name, PROBE_SUCCEEDED, tuple(rows), None, None, result.duration_ms)


_NOT_RECOGNIZED = re.compile(r"The term '([^']+)' is not recognized", re.IGNORECASE)


def _failure(label, stderr, returncode):
    text = " ".join((stderr or "").split())
    missing = _NOT_RECOGNIZED.search(text)
    if missing or "CommandNotFoundException" in text:
        cmdlet = missing.group(1) if missing else "a cmdlet it needs"
        return REASON_CMDLET_NOT_AVAILABLE, (
            "{}: {} is not available on this computer; probe on an Azure Local machine with the Hyper-V and "
            "Azure Stack HCI PowerShell modules.".format(label, cmdlet))
    lowered = text.lower()
    if any(marker in lowered for marker in ("access is denied", "unauthorizedaccess", "permissiondenied",
                                            "required permission")):
        return REASON_ACCESS_DENIED, (
            "{}: access denied; run the probe from an elevated PowerShell as a member of Administrators or "
            "Hyper-V Administrators.".format(label))
    return REASON_PROBE_FAILED, "{} failed (exit code {}): {}".format(
        label, returncode, _excerpt(text) if text else "no error text")


# ----------------------------------------------------------------------------- the document

def build_host_facts(runs, now, vm_names=None):
    """The host-facts document from the ProbeRuns (by probe name). Pure."""
    runs = dict(runs)

    def rows(probe):
        run = runs.get(probe.name)
        return list(run.rows) if run is not None and run.ok else None

    host_info = rows(PROBE_HOST_INFO)
    host_row = host_info[0] if host_info else {}
    attestation_rows = rows(PROBE_ATTESTATION)
    switch_rows = rows(PROBE_SWITCH)
    ordered = [runs[probe.name] for probe in PROBES if probe.name in runs]
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "collectedAt": format_timestamp(now),
        "computerName": _text(_field(host_row, "ComputerName")),
        "cluster": parse_cluster(rows(PROBE_AZURESTACKHCI) or []) if rows(PROBE_AZURESTACKHCI) is not None else None,
        "attestation": parse_attestation(attestation_rows) if attestation_rows is not None else None,
        "hostImdsSwitchPresent": bool(switch_rows) if switch_rows is not None else None,
        "vms": _vms(rows(PROBE_VMS), rows(PROBE_INTEGRATION_SERVICES), rows(PROBE_NETWORK_ADAPTERS),
                    rows(PROBE_GUEST_KVP)),
    }
    if vm_names is not None:
        document["vmNames"] = list(vm_names)
    document["powerShell"] = ({"version": _text(_field(host_row, "PSVersion")),
                               "edition": _text(_field(host_row, "PSEdition"))} if host_row else None)
    succeeded = sum(1 for run in ordered if run.ok)
    if ordered and succeeded == len(ordered):
        document.update(probeStatus=PROBE_SUCCEEDED, reasonCode=None, reason="Every probe reported.")
    elif succeeded:
        failed = [run.probe for run in ordered if not run.ok]
        document.update(probeStatus="Partial", reasonCode="some-probes-unknown",
                        reason="{} of {} probes could not report ({}); their facts are null.".format(
                            len(failed), len(ordered), ", ".join(failed)))
    else:
        codes = {run.reason_code for run in ordered}
        code = codes.pop() if len(codes) == 1 else "no-probe-reported"
        document.update(probeStatus=PROBE_UNKNOWN, reasonCode=code,
                        reason=NO_HYPERV_HOST_REASON if code == REASON_NO_HYPERV_HOST
                        else "No probe could report; see `probes` for each reason.")
    document["probes"] = [run.to_dict() for run in ordered]
    return document


def _new_vm(name, vm_id, generation=None, state=None, computer_name=None):
    return {"name": name, "vmId": vm_id, "generation": generation, "state": state, "guestServiceInterface": None,
            "dataExchange": None, "legacyNetworking": None, "guestOs": None, "computerName": computer_name}


def _vms(vm_rows, service_rows, adapter_rows, kvp_rows):
    """The host-facts `vms` list: one entry per VM, null facts where the probe behind them failed.

    Get-VM says which VMs there are; when it failed, the VMs the other probes list are used.
    """
    entries, by_id, by_name = [], {}, {}

    def add(entry):
        entries.append(entry)
        if entry["vmId"]:
            by_id[entry["vmId"]] = entry
        if entry["name"]:
            by_name.setdefault(entry["name"].lower(), entry)
        return entry

    def lookup(row, id_key="VMId", name_key="VMName", create=False):
        vm_id, name = _guid(_field(row, id_key)), _text(_field(row, name_key))
        if vm_id and vm_id in by_id:
            return by_id[vm_id]
        if name and name.lower() in by_name and (not vm_id or not by_name[name.lower()]["vmId"]):
            return by_name[name.lower()]
        if create and (vm_id or name):
            return add(_new_vm(name, vm_id))
        return None

    if vm_rows is not None:
        for row in vm_rows:
            vm_id, name = _guid(_field(row, "Id")), _text(_field(row, "Name"))
            if (vm_id or name) and not (vm_id and vm_id in by_id):
                add(_new_vm(name, vm_id, _int(_field(row, "Generation")), normalize_vm_state(_field(row, "State")),
                            _text(_field(row, "ComputerName"))))
    else:
        for row in (service_rows or []) + (adapter_rows or []) + (kvp_rows or []):
            lookup(row, create=True)

    for row in service_rows or ():
        entry = lookup(row)
        if entry is None:
            continue
        service = (_text(_field(row, "Id")) or "").lower()
        name = (_text(_field(row, "Name")) or "").lower()
        if service.endswith(GUEST_SERVICE_INTERFACE_ID) or name == "guest service interface":
            entry["guestServiceInterface"] = _bool(_field(row, "Enabled"))
        elif service.endswith(KEY_VALUE_PAIR_EXCHANGE_ID) or name == "key-value pair exchange":
            entry["dataExchange"] = _bool(_field(row, "Enabled"))

    if adapter_rows is not None:
        with_adapter = [lookup(row) for row in adapter_rows]
        for entry in entries:
            entry["legacyNetworking"] = any(entry is other for other in with_adapter)

    for row in kvp_rows or ():
        entry = lookup(row)
        if entry is not None:
            entry["guestOs"] = guest_os_from_kvp(parse_kvp_items(_field(row, "Items")))

    if vm_rows is None and not entries:
        return None
    return entries


# ----------------------------------------------------------------------------- running the probes

def run_probe(runner, probe, vm_names=None, timeout=PROBE_TIMEOUT_SECONDS):
    """Run one probe; never raises."""
    data = {"vmNames": list(vm_names)} if probe.takes_vm_names and vm_names is not None else None
    try:
        result = runner.run(probe.script, data=data, timeout=timeout)
    except Exception as ex:  # pylint: disable=broad-except
        # The boundary of the adapter: a runner bug becomes an Unknown probe, not a traceback.
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_PROBE_FAILED,
                        "{} could not run: {}.".format(probe.description, ex))
    return interpret(probe, result)


def no_host_runs():
    return [ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_NO_HYPERV_HOST, NO_HYPERV_HOST_REASON)
            for probe in PROBES]


def collect_host_facts(runner, *, now, vm_names=None, timeout=PROBE_TIMEOUT_SECONDS, max_workers=None):
    """Probe this host and return its host-facts document (schema 1). Never raises.

    `runner`: a PowerShellRunner (powershell.find_powershell()), or None when there is no Hyper-V
    host here (the document then says so, every probe Unknown with reasonCode no-hyperv-host).
    `now`: the collection time written to `collectedAt`. `vm_names`: probe only these VMs (passed to
    the scripts as data, matched exactly, never as wildcards). The probes run at once (`max_workers`
    bounds that; by default all eight), each limited to `timeout` seconds, so the whole probe takes
    about one timeout at worst.
    """
    if runner is None:
        return build_host_facts([(run.probe, run) for run in no_host_runs()], now, vm_names)
    workers = len(PROBES) if max_workers is None else max(1, min(max_workers, len(PROBES)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(probe, pool.submit(run_probe, runner, probe, vm_names, timeout)) for probe in PROBES]
        runs = [(probe.name, future.result()) for probe, future in futures]
    return build_host_facts(runs, now, vm_names)
