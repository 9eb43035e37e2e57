# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A cluster's VMs: which ARM machines are its Azure Local VMs, how they pair with the VMs the
hosts reported, and the verdict on each. Pure."""

import dataclasses
from typing import NamedTuple, Optional

from . import vocabulary as v
from .benefits import INACTIVE, UNKNOWN, arc_facts, evaluate_benefits, summarize_benefits
from .fixes import bulk_command, display_name, fix_fields
from .hostprereqs import COMMAND_RESET_LEGACY
from .vmfacts import find_host_vm, merge_vm_facts, read_arm_vm
from .vmverdict import evaluate_vm, host_context
from .vmviews import summarize, vm_view

AZURE_LOCAL_VM_KIND = "hci"
SERVER_KIND = "azurestackhci"


class ArmVm(NamedTuple):
    """An Arc machine of the cluster, its virtualMachineInstances/default (None when it could not be
    read, or when it is an Arc-enabled server that is not an Azure Local VM) and, if so, why; and the
    Arc-enabled SQL Server instances on it (benefits.SqlInstance)."""
    machine: dict
    instance: Optional[dict]
    error: Optional[str]
    sql: tuple = ()


@dataclasses.dataclass(frozen=True)
class JudgedVm:
    facts: object               # vmfacts.VmFacts
    verdict: object             # vmverdict.VmVerdict
    machine_id: Optional[str]
    arm_error: Optional[str]
    benefits: tuple = ()        # benefits.evaluate_benefits items, in table order

    def view(self, detail=False):
        errors = [f"The Azure Local VM instance could not be read: {self.arm_error}."] if self.arm_error \
            else []
        view = vm_view(self.facts, self.verdict, detail=detail, machine_id=self.machine_id, read_errors=errors)
        view["benefits"] = [dict(item, facts=[dict(fact) for fact in item["facts"]]) for item in self.benefits]
        return view


def _lower(value):
    return value.lower() if isinstance(value, str) else None


def is_arc_server(machine, cluster):
    """True for an Arc-enabled server on the cluster that is not an Azure Local VM: an Arc machine whose
    parentClusterResourceId names the cluster, of a kind other than HCI (and not AzureStackHCI, the
    kind of the cluster's own servers), and not one of its servers."""
    if not isinstance(machine, dict):
        return False
    properties = machine.get("properties") or {}
    node_ids = {_lower(node.arc_resource_id) for node in cluster.nodes if node.arc_resource_id}
    return (_lower(machine.get("kind") or "") not in (AZURE_LOCAL_VM_KIND, SERVER_KIND)
            and _lower(properties.get("parentClusterResourceId")) == _lower(cluster.id)
            and _lower(machine.get("id")) not in node_ids)


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


def judge_vms(cluster_verdict, arm_vms, now=None):
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
        judged.append(_judge(cluster_verdict, arm, arm_facts, host_vm, document, now=now))
    for document in documents:
        for entry in document.vms:
            if id(entry) not in used:
                used.add(id(entry))
                judged.append(_judge(cluster_verdict, ArmVm(None, None, None), None, entry, document, now=now))
    return sorted(judged, key=lambda item: ((item.facts.name or "").lower(), item.facts.server or ""))


def _judge(cluster_verdict, arm, arm_facts, host_vm, document, *, now):
    machine, instance = arm.machine, arm.instance
    stale = document is not None and cluster_verdict.evidence.is_stale(document)
    facts = merge_vm_facts(arm_machine=machine, arm_instance=instance, host_vm=host_vm,
                           host_name=document.computer_name if document else None,
                           host_stale=stale, arm_facts=arm_facts)
    machine_id = machine.get("id") if isinstance(machine, dict) else None
    host = host_context(cluster_verdict, facts.server)
    verdict = evaluate_vm(facts, host, machine_id)
    benefits = evaluate_benefits(facts, verdict, host, arc_facts(machine, instance, arm.sql),
                                 now if now is not None else cluster_verdict.evaluated_at)
    return JudgedVm(facts, verdict, machine_id, arm.error, benefits)


def vm_summary(judged):
    """The counts of Windows Admin Center's VMs dashboard, and per benefit of the table by status."""
    summary = summarize([item.verdict for item in judged])
    summary["benefits"] = summarize_benefits(item.benefits for item in judged)
    return summary


# A benefit item that is not green, as a finding: its severity. The WAC benefit's own row is the VM's
# finding already (its verdict); the rows beyond it never make a finding an error, so that gates on
# errors keep their meaning.
_BENEFIT_SEVERITY = {INACTIVE: v.SEVERITY_WARNING, UNKNOWN: v.SEVERITY_INFO}
_WAC_OFFERS = ("azure-edition", "azure-virtual-desktop", "windows-server-esu")


def bulk_fixes(judged):
    """{(server, action): command} for host-side actions that several VMs of one server need (seed 000:
    `Add-AzStackHCIVMAttestation -AddAll`, `Enable-AzStackHCIAttestation -AddVM`)."""
    needs = {}
    for item in judged:
        fixes = {(item.verdict.action, item.verdict.command)} | {
            (benefit["action"], benefit["command"]) for benefit in item.benefits
            if benefit["status"] in (INACTIVE, UNKNOWN)}
        for action, command in fixes:
            if bulk_command(action) is not None and command != COMMAND_RESET_LEGACY:
                needs.setdefault((item.facts.server or "", action), set()).add(id(item))
    return {key: bulk_command(key[1], key[0] or None) for key, vms in needs.items() if len(vms) > 1}


def _with_bulk(finding, server, bulk):
    command = bulk.get((server or "", finding["action"]))
    if command and finding["command"] != COMMAND_RESET_LEGACY:
        finding["bulkCommand"] = command
        where = display_name(server) if server else "this cluster"
        finding["reason"] += f" Several VMs of {where} need this; `{command}` fixes them all at once."
    return finding


def benefit_findings(item, bulk=None):
    """A finding per benefit row beyond the VM's WAC benefit whose status is Inactive (warning) or
    Unknown (info); Azure Machine Configuration through IMDS, an optional path, only as info."""
    findings = []
    for benefit in item.benefits:
        severity = _BENEFIT_SEVERITY.get(benefit["status"])
        if severity is None or benefit["offer"] in _WAC_OFFERS:
            continue
        if benefit["offer"] == "machine-configuration-imds":
            severity = v.SEVERITY_INFO
        label = benefit["benefit"] + (" (through IMDS)" if benefit["offer"] == "machine-configuration-imds" else "")
        findings.append(_with_bulk({
            "scope": "benefit", "name": item.facts.name, "severity": severity, "reasonCode": benefit["reasonCode"],
            "reason": f"{display_name(item.facts.name)}: {label} is {benefit['status']}. {benefit['reason']}",
            "action": benefit["action"], **fix_fields(benefit["command"] or benefit["learnMore"]),
            "benefit": benefit["benefit"],
            "offer": benefit["offer"], "status": benefit["status"]}, item.facts.server, bulk or {}))
    return findings


def vm_findings(judged, bulk=None):
    """A finding for each VM whose verdict is not green (Inactive benefits is an error, Unknown a
    warning), with the VM's action and command. (Trusted launch findings are the Trusted launch
    verdicts', core.report.)"""
    severities = {v.BENEFITS_INACTIVE: v.SEVERITY_ERROR, v.BENEFITS_UNKNOWN: v.SEVERITY_WARNING}
    bulk = bulk_fixes(judged) if bulk is None else bulk
    findings = []
    for item in judged:
        severity = severities.get(item.verdict.benefit_status)
        if severity:
            findings.append(_with_bulk({"scope": "vm", "name": item.facts.name, "severity": severity,
                                        "reasonCode": item.verdict.reason_code,
                                        "reason": f"{display_name(item.facts.name)}: {item.verdict.benefit_status}. "
                                                  f"{item.verdict.reason}",
                                        "action": item.verdict.action, **fix_fields(item.verdict.command)},
                                       item.facts.server, bulk))
        findings.extend(benefit_findings(item, bulk))
    return findings
