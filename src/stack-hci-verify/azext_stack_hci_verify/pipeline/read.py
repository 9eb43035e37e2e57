# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Read: a Scope in, a Snapshot out. The same fact records whichever service served them.

Every scope reads its clusters and their Azure Local VMs with one query each, paged at 1,000 rows
(Resource Graph), the two started together; named clusters are ARM GETs (concurrent, bounded) beside
one VM query for all of them. Where Resource Graph cannot serve (it refuses, does not know the query,
or cannot be reached) ARM is asked instead, and the Snapshot says so. VMs whose instance Resource
Graph lacks have it read from ARM, the same in every scope; with `trusted_launch`, each isolated VM's
attestation status and image are read too (concurrent, bounded). Knows nothing of az: `conn` is any
connection with `resourcegraph()`, `client(kind, subscription)` and `timeout`."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Optional

from azext_stack_hci_verify.core.clusterfacts import cluster_facts_from_arm
from azext_stack_hci_verify.core.inventory import ArmVm, is_arc_server, is_cluster_vm

from .scope import CLUSTERS, RESOURCE_GROUP, cluster_resource_id

MAX_CONCURRENT_READS = 8
SOURCE_GRAPH, SOURCE_ARM = "resourceGraph", "arm"


@dataclass(frozen=True)
class ClusterRead:
    """One cluster as read: its facts, its Azure Local VMs (adapters ArmVm) and how they were read."""
    facts: object                               # core.clusterfacts.ClusterFacts
    vms: tuple = ()
    vms_source: str = SOURCE_GRAPH              # resourceGraph, arm, resourceGraph+arm
    machines_failure: object = None             # adapters.arm.ReadFailure: the VM list could not be read
    instances_failure: object = None            # adapters.arm.ReadFailure: some instances could not be read
    fallback_reason: Optional[str] = None
    from_graph: frozenset = frozenset()         # lower-case machine ids whose instance Resource Graph gave


@dataclass(frozen=True)
class Snapshot:  # pylint: disable=too-many-instance-attributes
    """Everything a scope's reads returned, before any judging."""
    scope: object
    clusters: tuple
    unreadable_clusters: tuple = ()             # ((subscription, group, name), ReadFailure)
    unreadable_scopes: tuple = ()               # adapters.resourcegraph.ScopeFailure
    attestations: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    trusted_launch_read: bool = False
    graph_requests: int = 0
    clusters_source: str = SOURCE_GRAPH
    clusters_fallback: Optional[str] = None


def read_scope(conn, scope, trusted_launch=False, progress=None):
    """The Snapshot of a Scope. `progress`: None, or an object whose reporter(what) gives an
    on_page(done, total) callback (or None) and whose end() ends it."""
    try:
        if scope.kind == CLUSTERS:
            snapshot = _read_named(conn, scope)
        else:
            snapshot = _read_listed(conn, scope, progress)
    finally:
        if progress is not None:
            progress.end()
    if not trusted_launch:
        return snapshot
    from azext_stack_hci_verify.adapters.arm_trusted_launch import read_trusted_launch
    from azext_stack_hci_verify.core.trusted_launch import vm_facts_from_arm
    wanted = trusted_launch if callable(trusted_launch) else (lambda machine: True)
    vms = [vm_facts_from_arm(vm.machine, vm.instance, vm.error) for cluster in snapshot.clusters for vm in cluster.vms
           if wanted(vm.machine)]
    attestations, images = read_trusted_launch(conn, vms)
    return replace(snapshot, attestations=attestations, images=images, trusted_launch_read=True)


# ----------------------------------------------------------------------------------- named clusters

def _read_named(conn, scope):
    """ARM GET of each cluster, beside one Resource Graph query for all their VMs. One cluster that
    cannot be read is reported while the others come back; when none can be read, its error is raised."""
    from azext_stack_hci_verify.adapters import arm
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    refs, ids = list(scope.clusters), scope.cluster_ids()
    what = f"the VMs of cluster '{refs[0][2]}'" if len(refs) == 1 else f"the VMs of {len(refs)} clusters"
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_READS, len(refs) + 1)) as pool:
        vm_job = pool.submit(rg.query_pages, conn.resourcegraph(),
                             rg.vms_query(ids[0]) if len(ids) == 1 else rg.vms_query(cluster_ids=ids),
                             subscriptions=list(scope.subscriptions), what=what)
        results = [(ref,) + job.result() for ref, job in
                   zip(refs, [pool.submit(arm.read_cluster, conn, *ref) for ref in refs])]
        facts = [cluster_facts_from_arm(document) for _, document, failure in results if failure is None]
        unreadable = [(ref, failure) for ref, _, failure in results if failure is not None]
        if not facts:
            raise unreadable[0][1].error
        rows, requests, fallback, _ = _vm_rows(conn, vm_job, what)
    return Snapshot(scope, _with_vms(conn, facts, rows, fallback), tuple(unreadable), graph_requests=requests,
                    clusters_source=SOURCE_ARM)


def _vm_rows(conn, job, what, fleet=False):
    """(rows or None, requests, fallback reason, scopes that refused): None rows when ARM must be asked
    instead."""
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    try:
        answer = job.result()
    except rg.GRAPH_ERRORS as ex:
        if fleet or not rg.should_fall_back(ex):
            raise rg.graph_error(ex, what, conn.timeout) from ex
        return None, 1, rg.fallback_reason(ex), ()
    if isinstance(answer, rg.GraphRows):
        return answer.rows, answer.requests, None, tuple(answer.unreadable)
    rows, requests = answer
    return rows, requests, None, ()


# ----------------------------------------------------------------------------------- listed clusters

def _read_listed(conn, scope, progress):
    """A resource group, subscriptions or management groups: the clusters query and the VMs query, paged,
    started together. One subscription or group falls back to ARM where Resource Graph cannot serve; a
    fleet cannot, and reports each subscription or management group that refuses."""
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    prefix = cluster_resource_id(scope.subscriptions[0], scope.resource_group, "") \
        if scope.kind == RESOURCE_GROUP else None
    with ThreadPoolExecutor(max_workers=2) as pool:
        cluster_job = pool.submit(_query, conn.resourcegraph(), scope, progress,
                                  rg.clusters_query(scope.resource_group), "clusters")
        vm_job = pool.submit(_query, conn.resourcegraph(), scope, progress, rg.vms_query(cluster_prefix=prefix),
                             "Azure Local VMs")
        documents, requests, unreadable, clusters_fallback = _cluster_documents(conn, scope, cluster_job)
        vms = _vm_rows(conn, vm_job, "Azure Local VMs", scope.is_fleet)     # rows, requests, fallback, refused
    seen = {failure.scope.lower() for failure in unreadable}
    unreadable.extend(failure for failure in vms[3] if failure.scope.lower() not in seen)
    facts = sorted((cluster_facts_from_arm(document) for document in documents), key=_order)
    return Snapshot(scope, _with_vms(conn, facts, vms[0], vms[2]), (), tuple(unreadable),
                    graph_requests=requests + vms[1],
                    clusters_source=SOURCE_ARM if clusters_fallback else SOURCE_GRAPH,
                    clusters_fallback=clusters_fallback)


def _query(client, scope, progress, text, what):
    """One query over the scope, every page: a fleet reports each subscription or group that refuses."""
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    reporter = progress.reporter(what) if progress is not None else None
    if scope.is_fleet:
        return rg.query_scoped(client, text, subscriptions=list(scope.subscriptions),
                               management_groups=list(scope.management_groups), on_page=reporter,
                               what="the " + what)
    return rg.query_pages(client, text, subscriptions=list(scope.subscriptions), management_groups=None,
                          on_page=reporter, what="the " + what)


def _cluster_documents(conn, scope, job):
    """(documents, requests, scopes that refused, fallback reason) of the clusters query; ARM lists the
    clusters of one subscription or group where Resource Graph cannot serve."""
    from azext_stack_hci_verify.adapters import arm
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    try:
        answer = job.result()
    except rg.GRAPH_ERRORS as ex:
        if scope.is_fleet or not rg.should_fall_back(ex):
            raise rg.graph_error(ex, "clusters", conn.timeout) from ex
        documents = arm.list_clusters(conn, scope.subscriptions[0], scope.resource_group)
        return documents, 1, [], rg.fallback_reason(ex, "the clusters")
    if isinstance(answer, rg.GraphRows):
        return answer.rows, answer.requests, list(answer.unreadable), None
    return answer[0], answer[1], [], None


def _order(facts):
    return ((facts.resource_group or "").lower(), (facts.name or "").lower(), (facts.subscription_id or "").lower())


# ----------------------------------------------------------------------------------- VMs per cluster

def _with_vms(conn, facts, rows, fallback):
    """ClusterReads: each cluster with its VMs from the query's rows, or (rows None) from ARM."""
    from azext_stack_hci_verify.adapters import arm
    if rows is None:
        machines = {}
        reads = []
        for cluster in facts:
            key = (cluster.subscription_id or "").lower()
            if key not in machines:
                machines[key] = arm.list_machines(conn, cluster.subscription_id)
            read = arm.read_cluster_vms(conn, cluster, machines[key])
            reads.append(ClusterRead(cluster, tuple(read.vms), SOURCE_ARM, read.machines_failure,
                                     read.instances_failure, fallback))
        return tuple(reads)
    by_cluster = _rows_by_cluster(rows)
    reads = []
    for cluster in facts:
        vms = list(by_cluster.pop((cluster.id or "").lower(), {}).values())
        reads.append(_cluster_read(conn, cluster, [vm for vm in vms if is_cluster_vm(vm.machine, cluster)],
                                   [vm for vm in vms if is_arc_server(vm.machine, cluster)]))
    return tuple(reads)


def _rows_by_cluster(rows):
    """{lower parent cluster id: {lower machine id: ArmVm}}. The rows are used up (each let go once read), so
    that a fleet's rows and its VMs are not all held at once; a machine's rows (one per SQL Server instance
    on it) are made one ArmVm."""
    from azext_stack_hci_verify.adapters.resourcegraph import parent_cluster_key, vm_from_row
    by_cluster = {}
    for index, row in enumerate(rows):
        rows[index] = None
        vm = vm_from_row(row)
        if vm is not None:
            machines = by_cluster.setdefault(parent_cluster_key(vm.machine), {})
            key = vm.machine["id"].lower()
            seen = machines.get(key)
            machines[key] = vm if seen is None else seen._replace(sql=seen.sql + vm.sql)
    return by_cluster


def _cluster_read(conn, cluster, vms, arc_servers=()):
    """The cluster's VMs as Resource Graph gave them; instances it lacks are read from ARM. Arc-enabled
    servers on the cluster (not Azure Local VMs) have no instance to read."""
    from azext_stack_hci_verify.adapters import arm
    known = {vm.machine["id"].lower(): vm.instance for vm in vms if vm.instance is not None}
    servers = {vm.machine["id"].lower() for vm in arc_servers}
    if len(known) == len(vms):
        return ClusterRead(cluster, tuple(vms) + tuple(arc_servers), SOURCE_GRAPH,
                           from_graph=frozenset(known) | servers)
    sql = {vm.machine["id"].lower(): vm.sql for vm in vms}
    read = arm.read_instances(conn, cluster.subscription_id, [vm.machine for vm in vms], known)
    reason = (f"Resource Graph has no virtualMachineInstances for {len(vms) - len(known)} of {len(vms)} VMs; those "
              "were read from ARM.")
    read_vms = tuple(ArmVm(*vm[:3], sql.get(vm[0]["id"].lower(), ())) for vm in read.vms)
    return ClusterRead(cluster, read_vms + tuple(arc_servers), SOURCE_GRAPH + "+" + SOURCE_ARM, None,
                       read.instances_failure, reason, frozenset(known) | servers)
