# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A cluster's VMs: which ARM machines are its Azure Local VMs, how they pair with the VMs the
hosts reported, and the verdict on each. Pure."""

import dataclasses
from typing import NamedTuple, Optional

from . import vocabulary as v
from .vms import (arm_vm_keys, evaluate_vm, find_host_vm, host_context_from_cluster, merge_vm_facts,
                  powershell_literal, summarize, vm_view)

AZURE_LOCAL_VM_KIND = "hci"


class ArmVm(NamedTuple):
    """An Arc machine of the cluster, its virtualMachineInstances/default (None when it could not be
    read) and, if so, why."""
    machine: dict
    instance: Optional[dict]
    error: Optional[str]


@dataclasses.dataclass(frozen=True)
class JudgedVm:
    facts: object               # vms.VmFacts
    verdict: object             # vms.VmVerdict
    machine_id: Optional[str]
    arm_error: Optional[str]

    def view(self, detail=False):
        view = vm_view(self.facts, self.verdict, detail=detail)
        if self.arm_error:
            view["reason"] = "{} The Azure Local VM instance could not be read: {}.".format(
                view["reason"], self.arm_error)
        if detail:
            view["armResourceId"] = self.machine_id
        return view


def _lower(value):
    return value.lower() if isinstance(value, str) else None


def is_cluster_vm(machine, cluster):
    """True for a Microsoft.HybridCompute/machines document that is one of `cluster`'s Azure Local
    VMs: kind HCI, parentClusterResourceId naming the cluster, and not one of its servers."""
    if not isinstance(machine, dict):
        return False
    properties = machine.get("properties") or {}
    node_ids = {_lower(node.arc_resource_id) for node in cluster.nodes if node.arc_resource_id}
    return (_lower(machine.get("kind")) == AZURE_LOCAL_VM_KIND
            and _lower(properties.get("parentClusterResourceId")) == _lower(cluster.id)
            and _lower(machine.get("id")) not in node_ids)


# Windows Update through its CIM provider (Windows Server 2019 / Windows 10 1809 and later, which
# every guest with a minimum build in the eligibility table is), run in the guest over PowerShell
# Direct from the host.
_WINDOWS_UPDATE_IN_GUEST = (
    "$u = (Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
    "-MethodName ScanForUpdates -Arguments @{SearchCriteria='IsInstalled=0'}).Updates; "
    "Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
    "-MethodName InstallUpdates -Arguments @{Updates=$u}")


def install_updates_command(machine_id, facts=None):
    """The command that installs updates in a VM: Azure Update Manager (free for Azure Local VMs)
    through its Arc machine when ARM knows it, else Windows Update over PowerShell Direct on the host."""
    parts = (machine_id or "").split("/")
    if len(parts) >= 9:
        # -SubscriptionId: a fleet spans subscriptions, and the cmdlet otherwise uses the current context's.
        return ("Install-AzConnectedMachinePatch -ResourceGroupName {} -Name {} -MaximumDuration PT4H "
                "-RebootSetting IfRequired -WindowParameterClassificationsToInclude Critical,Security "
                "-SubscriptionId {}"
                .format(powershell_literal(parts[4]), powershell_literal(parts[8]), powershell_literal(parts[2])))
    if facts is None or not (facts.vm_id or facts.name):
        return None
    target = ("-VMId {}".format(powershell_literal(facts.vm_id)) if facts.vm_id
              else "-VMName {}".format(powershell_literal(facts.name)))
    return "Invoke-Command {} -Credential (Get-Credential) -ScriptBlock {{ {} }}".format(
        target, _WINDOWS_UPDATE_IN_GUEST)


def judge_vms(cluster_verdict, arm_vms, host_facts):
    """Every VM the cluster has, in ARM or on a host, with its facts merged and its verdict.

    ARM VMs are paired with host-reported VMs by Hyper-V id, else by name; host VMs that ARM does
    not know (VMs not projected to Azure) are judged on the host's facts alone."""
    judged, used = [], set()
    for arm in arm_vms:
        vm_id, name = arm_vm_keys(arm.machine, arm.instance)
        host_vm, host_name = None, None
        for document in host_facts:
            candidates = [entry for entry in document.vms if id(entry) not in used]
            found = find_host_vm(candidates, vm_id=vm_id, name=name)
            if found is not None:
                host_vm, host_name = found, document.computer_name
                used.add(id(found))
                break
        facts = merge_vm_facts(arm.machine, arm.instance, host_vm, host_name=host_name)
        judged.append(_judge(cluster_verdict, facts, arm.machine.get("id"), arm.error))
    for document in host_facts:
        for entry in document.vms:
            if id(entry) not in used:
                used.add(id(entry))
                facts = merge_vm_facts(None, None, entry, host_name=document.computer_name)
                judged.append(_judge(cluster_verdict, facts, None, None))
    return sorted(judged, key=lambda item: ((item.facts.name or "").lower(), item.facts.server or ""))


def _judge(cluster_verdict, facts, machine_id, arm_error):
    verdict = evaluate_vm(facts, host_context_from_cluster(cluster_verdict, facts.server))
    if verdict.action == v.ACTION_INSTALL_UPDATES and not verdict.command:
        verdict = dataclasses.replace(verdict, command=install_updates_command(machine_id, facts))
    return JudgedVm(facts, verdict, machine_id, arm_error)


def vm_summary(judged):
    """The counts of Windows Admin Center's VMs dashboard."""
    return summarize([item.verdict for item in judged])
