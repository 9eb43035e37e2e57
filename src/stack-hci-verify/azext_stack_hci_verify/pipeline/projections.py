# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Projections of one JudgedModel: what each command returns. Pure.

`list` and `show` rows are one view (a cluster, its servers, its VM summary and findings), so a
cluster reads the same in both and in every scope; server, VM and Trusted launch rows come from the
same judged resources; the check report is built from the same model. Nothing is judged here."""

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.clusters import cluster_view, server_view
from azext_stack_hci_verify.core.inventory import vm_findings, vm_summary
from azext_stack_hci_verify.core.report import CheckedCluster, build_report
from azext_stack_hci_verify.core.timeutil import format_timestamp
from azext_stack_hci_verify.core.trusted_launch import vm_detail, vm_row

VMS_NOT_READ = "not read"


# ----------------------------------------------------------------------------------- clusters

def cluster_row(judged):
    """The view of one cluster (`show`, and each row of `list`)."""
    findings = vm_findings(judged.vms) + list(judged.read_findings)
    summary = vm_summary(judged.vms) if judged.vms_read else None
    view = cluster_view(judged.verdict, vm_summary=summary, extra_findings=findings)
    view["vms"] = _vms_cell(summary)
    view["vmsReadFrom"] = judged.vms_source
    return view


def _vms_cell(summary):
    if summary is None:
        return VMS_NOT_READ
    return f"{summary['activeBenefits']}/{summary['total'] - summary['noApplicableBenefits']} active"


def unreadable_row(item, now):
    """The row of a cluster, subscription or management group that could not be read: hostStatus
    Unknown, with its one error finding."""
    finding = dict(item.finding)
    return {"name": item.name, "id": item.resource_id, "resourceGroup": item.resource_group,
            "subscriptionId": item.subscription_id, "hostStatus": v.UNKNOWN, "imdsAttestation": None,
            "legacyOsSupport": v.UNKNOWN, "supportedCapabilities": None, "registrationStatus": None,
            "connectivityStatus": None, "lastSync": None, "attestationExpiresOn": None, "daysUntilExpiry": None,
            "reasonCode": finding["reasonCode"], "reason": finding["reason"], "servers": [], "vmSummary": None,
            "findings": [finding], "conflicts": [], "hostFacts": [], "evaluatedAt": format_timestamp(now),
            "vms": VMS_NOT_READ, "vmsReadFrom": None}


def cluster_rows(model):
    """Every cluster of the model, then each one that could not be read."""
    return [cluster_row(judged) for judged in model.clusters] + \
        [unreadable_row(item, model.evaluated_at) for item in model.unreadable]


# ----------------------------------------------------------------------------------- servers

def server_rows(model):
    rows = []
    for judged in model.clusters:
        for server in judged.verdict.servers:
            rows.append(dict(server_view(server), cluster=judged.name, resourceGroup=judged.facts.resource_group,
                             subscriptionId=judged.facts.subscription_id))
    return rows


# ----------------------------------------------------------------------------------- VMs

def _trusted_launch_by_machine(judged):
    return {(item.vm.machine_id or "").lower(): item for item in judged.trusted_launch if item.vm.machine_id}


def vm_rows(model, detail=False):
    """(JudgedVm, view) of every VM of every cluster, cluster by cluster. With `detail` (vm show), each
    view also holds the VM's Trusted launch row when the model read it."""
    rows = []
    for judged in model.clusters:
        trusted = _trusted_launch_by_machine(judged) if detail else {}
        for item in judged.vms:
            view = item.view(detail=detail)
            if not judged.vms_read and item.machine_id is None:
                view["readErrors"].append("ARM's Azure Local VMs could not be read, so this verdict rests on host "
                                          f"facts only: {judged.vms_failure.reason}")
            view.update({"cluster": judged.name, "resourceGroup": judged.facts.resource_group,
                         "subscriptionId": judged.facts.subscription_id,
                         "readFrom": _read_from(judged, item)})
            if detail:
                found = trusted.get((item.machine_id or "").lower())
                view["trustedLaunch"] = vm_row(found) if found is not None else None
                view["hostFacts"] = _host_facts_sources(judged)
            rows.append((item, view))
    return rows


def collection_rows(collection):
    """`collect`: one row per server, cluster by cluster, with its host-facts document (or null)."""
    rows = []
    for key, outcomes in collection.outcomes.items():
        facts = collection.clusters[key]
        for outcome in outcomes:
            row = {"cluster": facts.name, "resourceGroup": facts.resource_group,
                   "subscriptionId": facts.subscription_id, "clusterResourceId": facts.id}
            row.update(outcome.to_dict())
            row["source"] = "runCommand"
            row["hostFacts"] = outcome.document
            rows.append(row)
    return rows


def _host_facts_sources(judged):
    """Where the host facts a cluster was judged on came from: each document's source, how it was
    collected (`runCommand` or `probe`) and when."""
    return [{"source": document.source, "computerName": document.computer_name,
             "collectedBy": (document.document or {}).get("source") or "probe",
             "collectedAt": (document.document or {}).get("collectedAt")}
            for document in judged.verdict.evidence.documents] if judged.verdict.evidence is not None else []


def _read_from(judged, item):
    if item.machine_id is None:
        return "hostFacts"
    if item.machine_id.lower() in judged.from_graph:
        return "resourceGraph"
    return "arm"


# ----------------------------------------------------------------------------------- Trusted launch

def trusted_launch_rows(model):
    """(verdict, row) of every Azure Local VM's Trusted launch posture, cluster by cluster."""
    return [(item, dict(vm_row(item), subscriptionId=judged.facts.subscription_id))
            for judged in model.clusters for item in judged.trusted_launch]


def trusted_launch_detail(model, verdict):
    """`trusted-launch show` of one VM verdict of the model: its row, every check, and its cluster's
    checks with the facts files the model ignored."""
    judged = next(item for item in model.clusters if verdict in item.trusted_launch)
    context = dict(judged.trusted_launch_context.to_dict(), factsFindings=[dict(f) for f in model.ignored_files])
    return dict(vm_detail(verdict, context), subscriptionId=judged.facts.subscription_id)


# ----------------------------------------------------------------------------------- check

def checked_clusters(model):
    """The model as core.report's CheckedClusters: each cluster with its VMs, Trusted launch verdicts and
    read findings; what could not be read; the facts files that applied to nothing."""
    checked = [CheckedCluster(judged.resource_id, judged.name, judged.verdict, tuple(judged.vms),
                              tuple(judged.trusted_launch), tuple(judged.read_findings))
               for judged in model.clusters]
    for item in model.unreadable:
        checked.append(CheckedCluster(item.resource_id, item.name, findings=(dict(item.finding),),
                                      scope=item.scope))
    for finding in model.ignored_files:
        checked.append(CheckedCluster(None, finding.get("name"), findings=(dict(finding),),
                                      scope=finding.get("scope") or "hostFacts"))
    return checked


def check_report(model, fail_on):
    """core.report.CheckReport of the model for the --fail-on levels."""
    scope = dict(model.scope.to_dict(), trustedLaunch=model.trusted_launch_read,
                 resourceGraphRequests=model.graph_requests)
    return build_report(checked_clusters(model), fail_on, model.evaluated_at, scope=scope)
