# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Judge: a Snapshot and the host and guest facts in, one JudgedModel out. Pure.

Host-facts files are bound to the clusters of the scope (by resource id, else by a name and server
that match exactly one cluster); each cluster is judged once with its own files; its VMs against that
verdict; its Trusted launch VMs with its own fresh host facts. Every command is a projection of this
model (pipeline.projections), so a resource has one status, reasonCode and fix whichever command or
scope shows it."""

from dataclasses import dataclass, field
from typing import Optional

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.clusters import ClusterVerdict, evaluate_cluster
from azext_stack_hci_verify.core.fixes import fix_fields
from azext_stack_hci_verify.core.guestfacts import unmatched_guests
from azext_stack_hci_verify.core.hostevidence import bind_host_facts
from azext_stack_hci_verify.core.inventory import judge_vms
from azext_stack_hci_verify.core.trusted_launch import vm_facts_from_arm
from azext_stack_hci_verify.core.trusted_launch.checks import judge_vms as judge_trusted_launch
from azext_stack_hci_verify.core.trusted_launch.hosts import evaluate_cluster as evaluate_trusted_launch_cluster

SCOPE_NOT_READABLE = "scope-not-readable"
CLUSTER_NOT_READABLE = "cluster-not-readable"
# What to do about a cluster that cannot be read, by the kind of error.
_UNREADABLE_ACTIONS = {"ForbiddenError": "Grant read access", "ResourceNotFoundError": "Check the cluster's name",
                       "UnauthorizedError": "Sign in again"}


@dataclass(frozen=True)
class JudgedCluster:  # pylint: disable=too-many-instance-attributes
    """One cluster judged: its verdict (core.clusters.ClusterVerdict), its VMs (core.inventory.JudgedVm),
    its Trusted launch context and VM verdicts, and the findings of the reads that failed."""
    verdict: ClusterVerdict
    vms: tuple
    vms_read: bool                      # False: the list of its VMs could not be read
    vms_source: str
    read_findings: tuple
    trusted_launch_context: object = None
    trusted_launch: tuple = ()
    from_graph: frozenset = frozenset()
    vms_failure: object = None          # adapters.arm.ReadFailure of the VM list, when it could not be read

    @property
    def facts(self):
        return self.verdict.facts

    @property
    def resource_id(self):
        return self.verdict.facts.id

    @property
    def name(self):
        return self.verdict.facts.name


@dataclass(frozen=True)
class Unreadable:
    """A cluster, subscription or management group that could not be read, with its one error finding."""
    scope: str                          # cluster, subscription or managementGroup
    resource_id: str
    name: str
    subscription_id: Optional[str]
    resource_group: Optional[str]
    finding: dict
    error: object = None                # the error, for when nothing else can be reported


@dataclass(frozen=True)
class JudgedModel:  # pylint: disable=too-many-instance-attributes
    """Every cluster of the scope judged at `evaluated_at`, what could not be read, and the facts files
    that applied to nothing here (ignored, each a finding)."""
    scope: object
    clusters: tuple
    unreadable: tuple
    ignored_files: tuple
    evaluated_at: object
    trusted_launch_read: bool
    graph_requests: int = 0
    notes: tuple = field(default_factory=tuple)
    collection: object = None           # pipeline.collect.Collection, when host facts were collected

    def cluster(self, resource_id):
        key = (resource_id or "").lower()
        return next((item for item in self.clusters if (item.resource_id or "").lower() == key), None)


def judge(snapshot, host_facts=(), guest_facts=(), now=None, collection=None):
    """The JudgedModel of a Snapshot at the reference time `now`. `collection`: the host facts collected
    through Run Command (pipeline.collect.Collection): each server's outcome is a finding of its cluster."""
    binding = bind_host_facts([read.facts for read in snapshot.clusters], host_facts or (), now)
    clusters = tuple(_judge_cluster(read, evidence, snapshot, guest_facts or (), now,
                                    collected=collection.findings(read.facts.id) if collection is not None else ())
                     for read, evidence in zip(snapshot.clusters, binding.evidence))
    unreadable = tuple(_unreadable_cluster(ref, failure) for ref, failure in snapshot.unreadable_clusters)
    unreadable += tuple(_unreadable_scope(failure) for failure in snapshot.unreadable_scopes)
    ignored = tuple(binding.ignored)
    if snapshot.trusted_launch_read and guest_facts:
        all_vms = [vm.vm for cluster in clusters for vm in cluster.trusted_launch]
        ignored += tuple(unmatched_guests(all_vms, guest_facts))
    return JudgedModel(snapshot.scope, clusters, unreadable, ignored, now, snapshot.trusted_launch_read,
                       snapshot.graph_requests, collection=collection)


def _judge_cluster(read, evidence, snapshot, guest_facts, now, *, collected=()):
    verdict = evaluate_cluster(read.facts, None, now, evidence=evidence)
    judged = tuple(judge_vms(verdict, list(read.vms), now))
    context, trusted = None, ()
    if snapshot.trusted_launch_read:
        context = evaluate_trusted_launch_cluster(read.facts, evidence.fresh())
        vms = [vm_facts_from_arm(vm.machine, vm.instance, vm.error) for vm in read.vms]
        trusted = tuple(judge_trusted_launch(vms, snapshot.attestations, snapshot.images, context, guest_facts))
    return JudgedCluster(verdict, judged, read.machines_failure is None, read.vms_source,
                         _read_findings(read) + tuple(collected), context, trusted, read.from_graph,
                         read.machines_failure)


def _read_findings(read):
    name = read.facts.name
    findings = []
    if read.machines_failure is not None:
        findings.append(_finding(name, v.SEVERITY_WARNING, "vms-not-readable",
                                 f"The VM summary is missing: {read.machines_failure.reason}",
                                 action=read.machines_failure.action, command=read.machines_failure.command))
    if read.instances_failure is not None:
        findings.append(_finding(name, v.SEVERITY_WARNING, "vm-instances-not-readable", read.instances_failure.reason,
                                 action=read.instances_failure.action, command=read.instances_failure.command))
    if read.fallback_reason:
        findings.append(_finding(name, v.SEVERITY_INFO, "resource-graph-fallback", read.fallback_reason))
    return tuple(findings)


def _finding(name, severity, code, reason, *, action=None, command=None, scope="cluster"):
    return {"scope": scope, "name": name, "severity": severity, "reasonCode": code, "reason": reason,
            "action": action, **fix_fields(command)}


def _backquoted(text):
    """The first `command` quoted in a recommendation, if any."""
    parts = (text or "").split("`")
    return parts[1] if len(parts) >= 3 and parts[1].strip() else None


def _unreadable_cluster(ref, failure):
    subscription, group, name = ref
    from .scope import cluster_resource_id
    error = failure.error
    kind = getattr(error, "az_kind", type(error).__name__)
    finding = _finding(name, v.SEVERITY_ERROR, CLUSTER_NOT_READABLE, failure.reason,
                       action=failure.action or _UNREADABLE_ACTIONS.get(kind, "Run it again"),
                       command=failure.command or _backquoted(failure.recommendation))
    return Unreadable("cluster", cluster_resource_id(subscription, group, name), name, subscription, group, finding,
                      error)


def _unreadable_scope(failure):
    name = failure.scope.rstrip("/").rsplit("/", 1)[-1]
    subscription = name if failure.scope.lower().startswith("/subscriptions/") else None
    read = failure.failure
    finding = _finding(name, v.SEVERITY_ERROR, SCOPE_NOT_READABLE, read.reason, action=read.action,
                       command=read.command,
                       scope="subscription" if subscription else "managementGroup")
    return Unreadable(finding["scope"], failure.scope, name, subscription, None, finding, read.error)
