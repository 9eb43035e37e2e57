# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A cluster's VMs: which ARM machines are its Azure Local VMs, how they pair with the VMs the
hosts reported, and the verdict on each. Pure."""

import dataclasses
from typing import NamedTuple, Optional

from . import vocabulary as v
from .fixes import display_name, fix_fields
from .vmfacts import find_host_vm, merge_vm_facts, read_arm_vm
from .vmverdict import evaluate_vm, host_context
from .vmviews import summarize, vm_view

AZURE_LOCAL_VM_KIND = "hci"


class ArmVm(NamedTuple):
    """An Arc machine of the cluster, its virtualMachineInstances/default (None when it could not be
    read) and, if so, why."""
    machine: dict
    instance: Optional[dict]
    error: Optional[str]


@dataclasses.dataclass(frozen=True)
class JudgedVm:
    facts: object               # vmfacts.VmFacts
    verdict: object             # vmverdict.VmVerdict
    machine_id: Optional[str]
    arm_error: Optional[str]

    def view(self, detail=False):
        errors = [f"The Azure Local VM instance could not be read: {self.arm_error}."] if self.arm_error \
            else []
        return vm_view(self.facts, self.verdict, detail=detail, machine_id=self.machine_id, read_errors=errors)


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


def judge_vms(cluster_verdict, arm_vms):
    """Every VM the cluster has, in ARM or on a host, with its facts merged and its verdict.

    The host facts are the ones the cluster verdict was made with. ARM VMs are paired with
    host-reported VMs by Hyper-V id, else by name; host VMs that ARM does not know (VMs not projected
    to Azure) are judged on the host's facts alone. Files are taken newest first, so the newest
    report of a VM is the one used."""
    documents = sorted(cluster_verdict.evidence.documents,
                       key=lambda doc: (doc.collected_at is None, -(doc.collected_at.timestamp())
                                        if doc.collected_at else 0, doc.source or ""))
    judged, used = [], set()
    for arm in arm_vms:
        arm_facts = read_arm_vm(arm.machine, arm.instance)
        vm_id, name = arm_facts.keys
        host_vm, document = None, None
        for candidate in documents:
            found = find_host_vm([entry for entry in candidate.vms if id(entry) not in used], vm_id=vm_id, name=name)
            if found is not None:
                host_vm, document = found, candidate
                used.add(id(found))
                break
        judged.append(_judge(cluster_verdict, arm, arm_facts, host_vm, document))
    for document in documents:
        for entry in document.vms:
            if id(entry) not in used:
                used.add(id(entry))
                judged.append(_judge(cluster_verdict, ArmVm(None, None, None), None, entry, document))
    return sorted(judged, key=lambda item: ((item.facts.name or "").lower(), item.facts.server or ""))


def _judge(cluster_verdict, arm, arm_facts, host_vm, document):
    machine, instance = arm.machine, arm.instance
    stale = document is not None and cluster_verdict.evidence.is_stale(document)
    facts = merge_vm_facts(arm_machine=machine, arm_instance=instance, host_vm=host_vm,
                           host_name=document.computer_name if document else None,
                           host_stale=stale, arm_facts=arm_facts)
    machine_id = machine.get("id") if isinstance(machine, dict) else None
    verdict = evaluate_vm(facts, host_context(cluster_verdict, facts.server), machine_id)
    return JudgedVm(facts, verdict, machine_id, arm.error)


def vm_summary(judged):
    """The counts of Windows Admin Center's VMs dashboard."""
    return summarize([item.verdict for item in judged])


def vm_findings(judged):
    """A finding for each VM whose verdict is not green (Inactive benefits is an error, Unknown a
    warning), with the VM's action and command. (Trusted launch findings are the Trusted launch
    verdicts', core.report.)"""
    severities = {v.BENEFITS_INACTIVE: v.SEVERITY_ERROR, v.BENEFITS_UNKNOWN: v.SEVERITY_WARNING}
    findings = []
    for item in judged:
        severity = severities.get(item.verdict.benefit_status)
        if severity:
            findings.append({"scope": "vm", "name": item.facts.name, "severity": severity,
                             "reasonCode": item.verdict.reason_code,
                             "reason": f"{display_name(item.facts.name)}: {item.verdict.benefit_status}. "
                                       f"{item.verdict.reason}",
                             "action": item.verdict.action, **fix_fields(item.verdict.command)})
    return findings
