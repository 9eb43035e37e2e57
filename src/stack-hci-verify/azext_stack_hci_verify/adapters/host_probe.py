# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Probing an Azure Local machine: the host-facts document (schema 1) from PowerShell cmdlets.

Each probe is a fixed script (the constants below; the first line `# probe: <name>` names it) run
in its own PowerShell process with its own timeout, all of them at once. Reading what they print
and building the document is pure and lives in core/hostprobe.py: a probe that fails, hangs or
prints something unreadable becomes Unknown facts with a reason; the others still report.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azext_stack_hci_verify.core import hostprobe as hp
from azext_stack_hci_verify.core.hostprobe import (
    PROBE_UNKNOWN, REASON_NO_HYPERV_HOST, REASON_PROBE_FAILED, ProbeRun, build_host_facts, interpret)

from .powershell import POWERSHELL_SETTING

PROBE_TIMEOUT_SECONDS = 60.0

GUEST_IMDS_ADAPTER = "AZSHCI_GUEST-IMDS_DO_NOT_MODIFY"
HOST_IMDS_SWITCH = "AZSHCI_HOST-IMDS_DO_NOT_MODIFY"

NO_HYPERV_HOST_REASON = (
    "There is no Hyper-V host to probe here: no PowerShell was found, or this is not Windows. Run `az stack-hci "
    f"vm-verification probe` on an Azure Local machine (or set {POWERSHELL_SETTING} to the PowerShell to use).")

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
        return f"# probe: {self.name}\n{_PREAMBLE.strip()}\n{self.body.strip()}"


PROBE_HOST_INFO = Probe(hp.HOST_INFO, "this computer, its PowerShell and the host prerequisites", r"""
$features = @{}
try { Get-WindowsFeature -Name Hyper-V, RSAT-Hyper-V-Tools -ErrorAction Stop |
    ForEach-Object { $features[$_.Name] = [bool]$_.Installed } } catch { }
$clusterManager = $null
try {
    $wac = Join-Path $env:ProgramData 'Server Management Experience'
    $clusterManager = Get-ChildItem -Path $wac -Recurse -Directory -Filter 'msft.sme.failover-cluster*' `
        -ErrorAction Stop | ForEach-Object { ($_.Name -replace '^msft\.sme\.failover-cluster\.?', '') } |
        Where-Object { $_ -match '^\d+(\.\d+)+$' } | Sort-Object { [version]$_ } | Select-Object -Last 1
} catch { }
[pscustomobject]@{
    ComputerName = $env:COMPUTERNAME
    PSVersion = [string]$PSVersionTable.PSVersion
    PSEdition = [string]$PSVersionTable.PSEdition
    HyperV = $features['Hyper-V']
    RsatHyperVTools = $features['RSAT-Hyper-V-Tools']
    ClusterManagerExtension = $clusterManager
} | ConvertTo-Json @jsonOptions
""")

PROBE_AZURESTACKHCI = Probe(hp.AZURESTACKHCI, "Get-AzureStackHCI (registration, IMDS attestation)", r"""
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

PROBE_ATTESTATION = Probe(hp.ATTESTATION, "Get-AzureStackHCIAttestation (per server)", r"""
Get-AzureStackHCIAttestation | Select-Object ComputerName, Status, Expiration, LegacyOsSupport |
    ConvertTo-Json @jsonOptions
""")

PROBE_VMS = Probe(hp.VMS, "Get-VM (name, id, generation, state)", r"""
Get-VM | Where-Object { Test-WantedVM $_.Name } |
    Select-Object Name, @{ n = 'Id'; e = { [string]$_.Id } }, Generation, State, ComputerName |
    ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBE_INTEGRATION_SERVICES = Probe(
    hp.INTEGRATION_SERVICES, "Get-VMIntegrationService (Guest Service Interface, Key-Value Pair Exchange)", r"""
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
    hp.NETWORK_ADAPTERS, "Get-VMNetworkAdapter -All (the legacy OS networking adapter)", r"""
Get-VMNetworkAdapter -All | Where-Object {
    -not $_.IsManagementOs -and $_.Name -eq 'AZSHCI_GUEST-IMDS_DO_NOT_MODIFY' -and (Test-WantedVM $_.VMName)
} | Select-Object VMName, @{ n = 'VMId'; e = { [string]$_.VMId } }, Name, SwitchName |
    ConvertTo-Json @jsonOptions
""", takes_vm_names=True)

PROBE_SWITCH = Probe(hp.SWITCH, "Get-VMSwitch (the legacy OS networking switch)", r"""
Get-VMSwitch | Where-Object { $_.Name -eq 'AZSHCI_HOST-IMDS_DO_NOT_MODIFY' } |
    Select-Object Name, @{ n = 'SwitchType'; e = { [string]$_.SwitchType } } |
    ConvertTo-Json @jsonOptions
""")

PROBE_GUEST_KVP = Probe(
    hp.GUEST_KVP, "Msvm_KvpExchangeComponent (guest OS name and version from Hyper-V data exchange)", r"""
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


# ----------------------------------------------------------------------------- running the probes

def run_probe(runner, probe, vm_names=None, timeout=PROBE_TIMEOUT_SECONDS):
    """Run one probe; never raises."""
    data = {"vmNames": list(vm_names)} if probe.takes_vm_names and vm_names is not None else None
    try:
        result = runner.run(probe.script, data=data, timeout=timeout)
    except Exception as ex:  # pylint: disable=broad-except
        # The boundary of the adapter: a runner bug becomes an Unknown probe, not a traceback.
        return ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_PROBE_FAILED,
                        f"{probe.description} could not run: {ex}.")
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
