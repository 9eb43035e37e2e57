# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The exact commands that perform each action, with names quoted so that they stay data. Pure.

Names come from ARM documents and host-facts files, so nothing in them is trusted: a name is always
written as a PowerShell literal that keeps the command on one line (control characters become
`[char]` codes, never raw line breaks) and that `-VMName` does not read as a wildcard pattern.
"""

import re
import unicodedata

from . import vocabulary as v

COMMAND_SYNC = v.COMMAND_SYNC
COMMAND_ENABLE_LEGACY_OS_SUPPORT = v.COMMAND_ENABLE_LEGACY_OS_SUPPORT
# Both ways the extension is installed: by name from an extension index (extension.index_url), else
# from a newer wheel built with scripts/build.
COMMAND_UPDATE_EXTENSION = ("az extension update --name stack-hci-verify || "
                            "az extension add --upgrade -y --source <newer stack_hci_verify wheel>")
COMMAND_PROBE = "az stack-hci vm-verification probe"

_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PS_WILDCARDS = "*?[]"


def _is_control(char):
    """Characters that must never appear raw in a command: C0/C1 controls, format characters, line
    and paragraph separators (each can end a line or hide text in a terminal or a TSV cell)."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def powershell_literal(text):
    """`text` as one PowerShell expression whose value is exactly `text`, on one line.

    Plain text is a single-quoted literal (a quote, including the typographic ones PowerShell also
    ends strings at, is doubled). Text with control characters is a parenthesised concatenation of
    such literals and `[char]0xNN` codes, which Windows PowerShell 5.1 and PowerShell 7 both read.
    """
    text = str(text)
    parts, current = [], []
    for char in text:
        if _is_control(char):
            if current:
                parts.append(_single_quoted("".join(current)))
                current = []
            parts.append(f"[char]0x{ord(char):04X}")
        else:
            current.append(char)
    if current or not parts:
        parts.append(_single_quoted("".join(current)))
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    return "(" + " + ".join(parts) + ")"


def display_name(name):
    """A name for prose (reasons, findings): as it is when it is plain, else as its PowerShell literal,
    so that a name never breaks a line or hides text in a terminal."""
    text = str(name) if name is not None else "(unnamed)"
    return powershell_literal(text) if any(_is_control(char) for char in text) else text


def _single_quoted(text):
    return "'" + "".join(char * 2 if char in _PS_SINGLE_QUOTES else char for char in text) + "'"


def vm_name_argument(name):
    """A VM name for `-VMName` / `-Name`: a literal that is also no wildcard pattern.

    `-VMName` takes wildcards, so a name with * ? [ ] would act on other VMs: those characters
    (and the backtick, the wildcard escape) are escaped with a backtick when the name has any.
    """
    name = str(name)
    if any(char in _PS_WILDCARDS for char in name):
        name = "".join("`" + char if char in _PS_WILDCARDS + "`" else char for char in name)
    return powershell_literal(name)


def _vm(name):
    return vm_name_argument(name if name is not None else "<vm>")


def enable_guest_service_interface(vm_name):
    return f'Enable-VMIntegrationService -VMName {_vm(vm_name)} -Name "Guest Service Interface"'


def enable_data_exchange(vm_name):
    return f'Enable-VMIntegrationService -VMName {_vm(vm_name)} -Name "Key-Value Pair Exchange"'


def set_up_legacy_networking(vm_name, generation=None, state=None):
    """Add-AzStackHCIVMAttestation; a Generation 1 VM that is not off is stopped first and started after
    (seed 000: the NIC can be added to a Generation 1 VM only while it is powered off)."""
    add = f"Add-AzStackHCIVMAttestation -VMName {_vm(vm_name)}"
    if generation == 1 and vm_name is not None and (state or "").lower() != "off":
        name = vm_name_argument(vm_name)
        return f"Stop-VM -Name {name}; {add}; Start-VM -Name {name}"
    return add


def enable_legacy_os_support(server=None):
    """Enable-AzStackHCIAttestation, on one server when only that one is off (seed 000, FAQ)."""
    if server:
        return f"{COMMAND_ENABLE_LEGACY_OS_SUPPORT} -ComputerName {powershell_literal(server)}"
    return COMMAND_ENABLE_LEGACY_OS_SUPPORT


def sync_with_azure():
    return COMMAND_SYNC


def update_extension():
    return COMMAND_UPDATE_EXTENSION


def _probe_servers(server=None, servers=()):
    """The servers the probe must run on: `server` when it is known, else `servers` (each once, by
    name without its domain, in their order)."""
    if server:
        return [str(server)]
    names, seen = [], set()
    for name in servers or ():
        key = str(name).split(".", maxsplit=1)[0].lower() if name else ""
        if key and key not in seen:
            seen.add(key)
            names.append(str(name))
    return names


def probe_command(server=None, servers=()):
    """The probe that collects host facts, with the server(s) it must run on.

    On one server (`server`, or `servers` of one): its output file is named after the server (letters,
    digits, '-', '_' and '.' kept; anything else becomes '_'). On several (the VM's server is not known),
    or when no server is known: one PowerShell line for each of them to run, which writes a file named
    after the server it runs on, and a comment that names them (a name stays data in a comment too: it
    is written on one line).
    """
    names = _probe_servers(server, servers)
    if len(names) == 1:
        label = re.sub(r"[^A-Za-z0-9._-]", "_", names[0].split(".", maxsplit=1)[0])
        return f"{COMMAND_PROBE} -o json > host-facts-{label or '_'}.json"
    where = f"each of: {', '.join(display_name(name) for name in names)}" if names else "each server of the cluster"
    return f'{COMMAND_PROBE} -o json > "host-facts-$env:COMPUTERNAME.json"  # run on {where}'


def probe_where(server=None, servers=()):
    """Where the probe must run, for a reason: 'NODE1', 'each of NODE1, NODE2' or 'each server of the
    cluster' (the same servers probe_command names)."""
    names = _probe_servers(server, servers)
    if len(names) == 1:
        return display_name(names[0])
    if names:
        return "each of " + ", ".join(display_name(name) for name in names)
    return "each server of the cluster"


def register_with_azure(subscription_id=None, resource_group=None, region=None):
    """Registration of a system's machines with Azure Arc, run on each machine (then the system is
    deployed): Invoke-AzStackHciArcInitialization with the cluster's subscription, group and region."""
    return ('Invoke-AzStackHciArcInitialization -SubscriptionID '
            f'{powershell_literal(subscription_id or "<subscription>")} -ResourceGroup '
            f'{powershell_literal(resource_group or "<resource-group>")} -TenantID '
            f'(Get-AzContext).Tenant.Id -Region {powershell_literal(region or "<region>")} -Cloud AzureCloud')


# Windows Update through its CIM provider (Windows Server 2019 / Windows 10 1809 and later, which
# every guest with a minimum build in the eligibility table is), run in the guest over PowerShell
# Direct from the host.
_WINDOWS_UPDATE_IN_GUEST = (
    "$u = (Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
    "-MethodName ScanForUpdates -Arguments @{SearchCriteria='IsInstalled=0'}).Updates; "
    "Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
    "-MethodName InstallUpdates -Arguments @{Updates=$u}")


# Where no command performs a fix, the command is the public page to follow (as the Trusted launch checks
# do). A Windows 10 guest older than 21H2 needs the 22H2 feature update before KB5036892 applies, and the
# update commands above install quality updates (Critical and Security), never a feature update.
DOC_WINDOWS10_22H2 = "https://learn.microsoft.com/windows/release-health/status-windows-10-22h2"


def feature_update_documentation():
    """The page to follow for the Windows 10 22H2 feature update (no command here installs it)."""
    return DOC_WINDOWS10_22H2


def install_updates(machine_id=None, vm_id=None, vm_name=None):
    """The command that installs updates in a VM: Azure Update Manager (free for Azure Local VMs)
    through its Arc machine when ARM knows it, else Windows Update over PowerShell Direct on the host."""
    parts = (machine_id or "").split("/")
    if len(parts) >= 9:
        # -SubscriptionId: a fleet spans subscriptions, and the cmdlet otherwise uses the current context's.
        return (f"Install-AzConnectedMachinePatch -ResourceGroupName {powershell_literal(parts[4])} -Name "
                f"{powershell_literal(parts[8])} -MaximumDuration PT4H "
                "-RebootSetting IfRequired -WindowParameterClassificationsToInclude Critical,Security "
                f"-SubscriptionId {powershell_literal(parts[2])}")
    if not (vm_id or vm_name):
        vm_name = "<vm>"
    target = (f"-VMId {powershell_literal(vm_id)}" if vm_id
              else f"-VMName {powershell_literal(vm_name)}")
    return f"Invoke-Command {target} -Credential (Get-Credential) -ScriptBlock {{ {_WINDOWS_UPDATE_IN_GUEST} }}"


# Where a command runs (`runOn`): on an Azure Local machine, in PowerShell as an administrator (`server`);
# inside the VM (`vm`); or in Cloud Shell or any shell where az or Azure PowerShell is signed in to Azure
# (`cloudshell`). Every command of a finding or action starts with one of these programs; a
# documentation page is not a command: it goes in `learnMore`.
RUN_ON_SERVER = "server"
RUN_ON_VM = "vm"
RUN_ON_CLOUD_SHELL = "cloudshell"
RUN_ON_VALUES = (RUN_ON_SERVER, RUN_ON_VM, RUN_ON_CLOUD_SHELL)

_RUN_ON_BY_PROGRAM = {
    "sync-azurestackhci": RUN_ON_SERVER,
    "enable-azstackhciattestation": RUN_ON_SERVER,
    "enable-vmintegrationservice": RUN_ON_SERVER,
    "add-azstackhcivmattestation": RUN_ON_SERVER,
    "stop-vm": RUN_ON_SERVER,
    "invoke-command": RUN_ON_SERVER,
    "new-netipsecrule": RUN_ON_SERVER,
    "invoke-azstackhciarcinitialization": RUN_ON_SERVER,
    "set-itemproperty": RUN_ON_VM,
    "install-windowsfeature": RUN_ON_SERVER,
    "disable-azstackhciattestation": RUN_ON_SERVER,
    "invoke-webrequest": RUN_ON_VM,
    "sudo": RUN_ON_VM,
    "azcmagent": RUN_ON_VM,
    "install-azconnectedmachinepatch": RUN_ON_CLOUD_SHELL,
    "new-azconnectedlicenseprofile": RUN_ON_CLOUD_SHELL,
    "az": RUN_ON_CLOUD_SHELL,
}
_GUEST_PROBE = COMMAND_PROBE + " --guest"


def is_documentation(text):
    return str(text or "").startswith(("https://", "http://"))


def run_on(command):
    """Where `command` runs: RUN_ON_SERVER, RUN_ON_VM or RUN_ON_CLOUD_SHELL, by the program it starts
    with (`probe` runs on a server, `probe --guest` in the VM); None for no command, a documentation
    page or a program this table does not know."""
    if not command or is_documentation(command):
        return None
    text = str(command)
    if text.startswith(_GUEST_PROBE):
        return RUN_ON_VM
    if text.startswith(COMMAND_PROBE):
        return RUN_ON_SERVER
    return _RUN_ON_BY_PROGRAM.get(text.split(maxsplit=1)[0].lower())


def fix_fields(command):
    """The fields of a fix as every view shows them: `command` (only something to run), `runOn` (where
    it runs) and `learnMore` (the documentation page to follow, when that is the fix). The one place
    that splits a fix into them, so that `--query "findings[].command" -o tsv` is a script."""
    if is_documentation(command):
        return {"command": None, "runOn": None, "learnMore": command}
    return {"command": command or None, "runOn": run_on(command), "learnMore": None}


# (action, command) pairs for the fixes that verdicts at several levels share.

def sync_fix():
    return v.ACTION_SYNC, sync_with_azure()


def collect_fix(server=None, servers=()):
    return v.ACTION_COLLECT_HOST_FACTS, probe_command(server, servers)


def update_fix():
    return v.ACTION_UPDATE_EXTENSION, update_extension()


# Benefits beyond the VM verdict (core.benefits).

def _machine_parts(machine_id):
    """(subscription, resource group, machine name) of an Arc machine's resource ID, or Nones."""
    parts = (machine_id or "").split("/")
    if len(parts) >= 9:
        return parts[2], parts[4], parts[8]
    return None, None, None


def attest_software_assurance(machine_id=None, location=None):
    """The Windows Server Azure benefits attestation of an Arc-enabled server: a license profile with
    Software Assurance (Az.ConnectedMachine New-AzConnectedLicenseProfile -SoftwareAssuranceCustomer)."""
    subscription, group, name = _machine_parts(machine_id)
    return (f"New-AzConnectedLicenseProfile -ResourceGroupName {powershell_literal(group or '<resource-group>')} "
            f"-MachineName {powershell_literal(name or '<machine>')} "
            f"-Location {powershell_literal(location or '<region>')} "
            f"-SubscriptionId {powershell_literal(subscription or '<subscription>')} -SoftwareAssuranceCustomer")


def connect_sql_server(machine_id=None, location=None):
    """The Azure extension for SQL Server on an Arc machine, which makes its SQL Server instances Arc-enabled
    (each with its version)."""
    subscription, group, name = _machine_parts(machine_id)
    return (f"az connectedmachine extension create --machine-name {powershell_literal(name or '<machine>')} "
            f"--resource-group {powershell_literal(group or '<resource-group>')} "
            f"--subscription {powershell_literal(subscription or '<subscription>')} "
            f"--location {powershell_literal(location or '<region>')} --name WindowsAgent.SqlServer "
            "--publisher Microsoft.AzureData --type WindowsAgent.SqlServer")


# The Connected Machine agent's own update, run in the guest: the Windows installer from its download
# address, or the package manager's azcmagent package on Linux (Azure Arc documentation, "Upgrade the agent").
COMMAND_UPDATE_AGENT_WINDOWS = ("Invoke-WebRequest -Uri https://aka.ms/AzureConnectedMachineAgent "
                                "-OutFile AzureConnectedMachineAgent.msi; msiexec.exe /i "
                                "AzureConnectedMachineAgent.msi /qn")
COMMAND_UPDATE_AGENT_LINUX = "sudo apt-get install --only-upgrade -y azcmagent || sudo yum update -y azcmagent"


def update_arc_agent(windows=True):
    return COMMAND_UPDATE_AGENT_WINDOWS if windows else COMMAND_UPDATE_AGENT_LINUX


def connect_arc_agent(vm_name=None):
    """Connecting a guest to Azure Arc, run in the guest (azcmagent connect)."""
    del vm_name         # the command runs inside the VM; its name is not an argument
    return ("azcmagent connect --resource-group <resource-group> --subscription-id <subscription> "
            "--location <region> --tenant-id <tenant>")


# Bulk fixes (seed 000): one command on a server fixes every VM of it that needs the same host-side fix.
BULK_COMMANDS = {
    v.ACTION_SET_UP_LEGACY_NETWORKING: "Add-AzStackHCIVMAttestation -AddAll",
    v.ACTION_TURN_ON_LEGACY_OS_SUPPORT: "Enable-AzStackHCIAttestation -AddVM",
}


def bulk_command(action, server=None):
    """The one command that fixes every VM of `server` needing `action`, or None."""
    command = BULK_COMMANDS.get(action)
    if command is None:
        return None
    if server:
        return f"Invoke-Command -ComputerName {powershell_literal(server)} -ScriptBlock {{ {command} }}"
    return command
