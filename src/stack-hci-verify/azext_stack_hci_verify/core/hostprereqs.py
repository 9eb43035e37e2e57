# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The host prerequisites of Azure verification for VMs, per server, from host facts. Pure.

Source: seed 000, "Host prerequisites" and FAQ: Hyper-V and RSAT-Hyper-V-Tools installed on every
machine; where Windows Admin Center manages the system, its Cluster Manager extension 2.319.0 or later;
with legacy OS support on, the internal vSwitch AZSHCI_HOST-IMDS_DO_NOT_MODIFY on the machine (it stays
after a machine is removed, and legacy OS support must be enabled on a machine added later).

A fact the host did not report (null) is not judged: no finding says "probably missing".
"""

from . import vocabulary as v
from .fixes import fix_fields
from .values import bool_value, short_name, text_value

HOST_SWITCH = "AZSHCI_HOST-IMDS_DO_NOT_MODIFY"
MINIMUM_CLUSTER_MANAGER = (2, 319, 0)

REASON_HYPERV_MISSING = "hyper-v-not-installed"
REASON_RSAT_MISSING = "rsat-hyper-v-tools-not-installed"
REASON_CLUSTER_MANAGER_OLD = "cluster-manager-extension-outdated"
REASON_HOST_SWITCH_MISSING = "host-imds-switch-missing"

ACTION_INSTALL_HYPERV = "Install Hyper-V"
ACTION_INSTALL_RSAT = "Install RSAT-Hyper-V-Tools"
ACTION_UPDATE_CLUSTER_MANAGER = "Update the Cluster Manager extension"

COMMAND_INSTALL_HYPERV = "Install-WindowsFeature -Name Hyper-V -IncludeManagementTools -Restart"
COMMAND_INSTALL_RSAT = "Install-WindowsFeature -Name RSAT-Hyper-V-Tools -IncludeAllSubFeature"
# Turn legacy OS support off and reset it, then on again with every existing VM (seed 000): this makes the
# host vSwitch again.
COMMAND_RESET_LEGACY = "Disable-AzStackHCIAttestation -RemoveVM; Enable-AzStackHCIAttestation -AddVM"
DOC_WAC_EXTENSIONS = ("https://learn.microsoft.com/windows-server/manage/windows-admin-center/configure/"
                      "using-extensions")


def _version(text):
    parts = []
    for part in str(text or "").split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts) if parts else None


def prerequisites(document):
    """{hyperVInstalled, rsatHyperVToolsInstalled, clusterManagerExtensionVersion} of a host-facts document
    (hostfacts.HostFacts); None values where the host did not tell."""
    raw = document.document.get("hostPrerequisites") if isinstance(document.document, dict) else None
    raw = raw if isinstance(raw, dict) else {}
    return {"hyperVInstalled": bool_value(raw.get("hyperVInstalled")),
            "rsatHyperVToolsInstalled": bool_value(raw.get("rsatHyperVToolsInstalled")),
            "clusterManagerExtensionVersion": text_value(raw.get("clusterManagerExtensionVersion"))}


def switch_missing(evidence, server):
    """True when the newest host-facts file written on `server` says its host vSwitch is absent."""
    key = short_name(server) if server else None
    found = None
    for document in evidence.documents:         # oldest first: the newest wins
        if key and short_name(document.computer_name or "") == key and document.host_imds_switch_present is not None:
            found = document.host_imds_switch_present is False
    return bool(found)


def _finding(server, severity, code, reason, action, *, command):
    return {"scope": "server", "name": server, "severity": severity, "reasonCode": code, "reason": reason,
            "action": action, **fix_fields(command)}


def server_findings(evidence, servers):
    """The findings of the host prerequisites, for each server a fresh host-facts file was written on
    (its newest file). `servers`: the cluster's servers.ServerVerdicts (for legacy OS support)."""
    legacy = {short_name(server.name): server.legacy_os_support for server in servers}
    names = {short_name(server.name): server.name for server in servers}
    newest = {}
    for document in evidence.documents:          # oldest first
        if document.computer_name and not evidence.is_stale(document):
            newest[short_name(document.computer_name)] = document
    findings = []
    for key in sorted(newest):
        document = newest[key]
        name = names.get(key, document.computer_name)
        facts = prerequisites(document)
        if facts["hyperVInstalled"] is False:
            findings.append(_finding(name, v.SEVERITY_ERROR, REASON_HYPERV_MISSING,
                                     f"{name}: Hyper-V is not installed; Azure verification for VMs needs it on every "
                                     "machine.", ACTION_INSTALL_HYPERV, command=COMMAND_INSTALL_HYPERV))
        if facts["rsatHyperVToolsInstalled"] is False:
            findings.append(_finding(name, v.SEVERITY_WARNING, REASON_RSAT_MISSING,
                                     f"{name}: RSAT-Hyper-V-Tools is not installed; it is a host prerequisite of "
                                     "Azure verification for VMs.", ACTION_INSTALL_RSAT, command=COMMAND_INSTALL_RSAT))
        version = _version(facts["clusterManagerExtensionVersion"])
        if version is not None and version < MINIMUM_CLUSTER_MANAGER:
            findings.append(_finding(name, v.SEVERITY_WARNING, REASON_CLUSTER_MANAGER_OLD,
                                     f"{name}: Windows Admin Center's Cluster Manager extension is "
                                     f"{facts['clusterManagerExtensionVersion']}; Azure verification for VMs needs "
                                     "2.319.0 or later there.", ACTION_UPDATE_CLUSTER_MANAGER,
                                     command=DOC_WAC_EXTENSIONS))
        if document.host_imds_switch_present is False and legacy.get(key) == v.ON:
            findings.append(_finding(name, v.SEVERITY_ERROR, REASON_HOST_SWITCH_MISSING,
                                     f"{name}: legacy OS support is on, but the host vSwitch {HOST_SWITCH} is "
                                     "missing, so VMs that use v1 cannot reach Azure verification; reset legacy OS "
                                     "support on the machine.", v.ACTION_TURN_ON_LEGACY_OS_SUPPORT,
                                     command=COMMAND_RESET_LEGACY))
    return findings
