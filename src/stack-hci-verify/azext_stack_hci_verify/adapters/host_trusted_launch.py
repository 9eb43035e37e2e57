# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Host probes for Trusted launch (seed 002, "Guidance"), run by `probe` beside the others: the
IgvmAgent service, the ACL of every VM state location (each VM's ConfigurationLocation and the
host's default VirtualMachinePath), the IPsec rules with their port filters, and the live migration
settings. Fixed scripts, each in its own PowerShell process with a timeout, all at once; what they
print is read by core/trusted_launch/hostfacts.py into the host-facts `trustedLaunch` object.
"""

from concurrent.futures import ThreadPoolExecutor

from azext_stack_hci_verify.core.hostprobe import PROBE_SUCCEEDED, PROBE_UNKNOWN, REASON_NO_HYPERV_HOST, ProbeRun
from azext_stack_hci_verify.core.trusted_launch.hostfacts import trusted_launch_section

from .host_probe import NO_HYPERV_HOST_REASON, Probe, run_probe

PROBE_IGVM_AGENT = Probe("tl-igvmagent", "Get-Service IgvmAgent (isolated VM support)", r"""
$service = Get-Service -Name 'IgvmAgent' -ErrorAction SilentlyContinue
if ($null -eq $service) {
    [pscustomobject]@{ Present = $false; Status = $null; StartType = $null } | ConvertTo-Json @jsonOptions
} else {
    [pscustomobject]@{ Present = $true; Status = [string]$service.Status; StartType = [string]$service.StartType } |
        ConvertTo-Json @jsonOptions
}
""")

PROBE_STATE_ACL = Probe("tl-vm-state-acl", "Get-Acl of the VM state locations", r"""
$locations = @{}
Get-VM | ForEach-Object {
    $path = [string]$_.ConfigurationLocation
    if (-not $locations.ContainsKey($path)) { $locations[$path] = New-Object System.Collections.ArrayList }
    [void]$locations[$path].Add([pscustomobject]@{ Name = $_.Name; VMId = [string]$_.Id })
}
$default = [string](Get-VMHost).VirtualMachinePath
if ($default -and -not $locations.ContainsKey($default)) {
    $locations[$default] = New-Object System.Collections.ArrayList
}
$rows = foreach ($path in $locations.Keys) {
    $entry = [ordered]@{ Path = $path; VMs = @($locations[$path]); Access = @(); Error = $null }
    try {
        $acl = Get-Acl -LiteralPath $path
        $entry.Access = @($acl.Access | ForEach-Object {
            $sid = $null
            try {
                $sid = $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value
            } catch { }
            [pscustomobject]@{ Identity = [string]$_.IdentityReference; Sid = $sid;
                Type = [string]$_.AccessControlType; Rights = [string]$_.FileSystemRights;
                Inherited = [bool]$_.IsInherited }
        })
    } catch { $entry.Error = $_.Exception.Message }
    [pscustomobject]$entry
}
$rows | ConvertTo-Json @jsonOptions
""")

PROBE_IPSEC = Probe("tl-ipsec", "Get-NetIPsecRule with port filters (live migration protection)", r"""
Get-NetIPsecRule -PolicyStore ActiveStore | ForEach-Object {
    $ports = Get-NetFirewallPortFilter -AssociatedNetIPsecRule $_ -ErrorAction SilentlyContinue
    [pscustomobject]@{ Name = $_.Name; DisplayName = $_.DisplayName; Enabled = [string]$_.Enabled;
        Mode = [string]$_.Mode; InboundSecurity = [string]$_.InboundSecurity;
        OutboundSecurity = [string]$_.OutboundSecurity; Protocol = [string]$ports.Protocol;
        LocalPort = @($ports.LocalPort | ForEach-Object { [string]$_ });
        RemotePort = @($ports.RemotePort | ForEach-Object { [string]$_ }) }
} | ConvertTo-Json @jsonOptions
""")

PROBE_LIVE_MIGRATION = Probe("tl-live-migration", "Get-VMHost (live migration settings)", r"""
Get-VMHost | Select-Object @{ n = 'Enabled'; e = { [bool]$_.VirtualMachineMigrationEnabled } },
    @{ n = 'PerformanceOption'; e = { [string]$_.VirtualMachineMigrationPerformanceOption } } |
    ConvertTo-Json @jsonOptions
""")

PROBES = (PROBE_IGVM_AGENT, PROBE_STATE_ACL, PROBE_IPSEC, PROBE_LIVE_MIGRATION)


def collect(runner, timeout=60.0):
    """{probe name: ProbeRun} of the Trusted launch probes; never raises. `runner` None: no host here."""
    if runner is None:
        return {probe.name: ProbeRun(probe.name, PROBE_UNKNOWN, (), REASON_NO_HYPERV_HOST, NO_HYPERV_HOST_REASON)
                for probe in PROBES}
    with ThreadPoolExecutor(max_workers=len(PROBES)) as pool:
        futures = [(probe, pool.submit(run_probe, runner, probe, None, timeout)) for probe in PROBES]
        return {probe.name: future.result() for probe, future in futures}


def add_to_document(document, runs):
    """Put the `trustedLaunch` object and the probes' outcomes into a host-facts document."""
    def rows(probe):
        run = runs.get(probe.name)
        return list(run.rows) if run is not None and run.ok else None

    document["trustedLaunch"] = trusted_launch_section(
        rows(PROBE_IGVM_AGENT), rows(PROBE_STATE_ACL), rows(PROBE_IPSEC), rows(PROBE_LIVE_MIGRATION))
    ordered = [runs[probe.name] for probe in PROBES if probe.name in runs]
    document.setdefault("probes", []).extend(run.to_dict() for run in ordered)
    failed = [run.probe for run in ordered if run.status != PROBE_SUCCEEDED]
    if failed and document.get("probeStatus") == PROBE_SUCCEEDED:
        document.update(probeStatus="Partial", reasonCode="some-probes-unknown",
                        reason=f'{len(failed)} Trusted launch probes could not report ({", ".join(failed)}); their '
                               'facts are null.')
    return document
