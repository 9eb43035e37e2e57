# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The fleet: every cluster of some subscriptions (or management groups) and every Azure Local VM
of those clusters, read with Resource Graph in O(pages) requests and judged by the core.

For commands that report on a whole estate (`list --all-subscriptions`, `vm list --subscriptions`,
`check`):

    scan = evaluate_fleet(cmd, subscriptions=None, all_subscriptions=False, management_groups=None,
                          host_facts=None, now=now, with_vms=True)
    scan.clusters        # [FleetCluster(verdict, vms, vm_findings)], in resource group / name order
    scan.unreadable      # [ScopeFailure]: subscriptions or management groups that could not be read
    scan.cluster_views() # the `list` rows (cluster_view with vmSummary), then one row per unreadable scope
    scan.vm_views()      # every VM's `vm list` row, each with its cluster, judged against that cluster
    scan.findings()      # every finding: {scope, resourceId, name, severity, reasonCode, reason, action, command}

A subscription the caller cannot read is in `unreadable` (never silently dropped); a result that
Resource Graph truncates is an error; a malformed cluster row is a finding on that cluster.
"""

from datetime import datetime, timezone
from typing import List, NamedTuple

from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm, cluster_view, evaluate_cluster

SCOPE_NOT_READABLE = "scope-not-readable"
FIELD_READ_FROM = "readFrom"


class FleetCluster(NamedTuple):
    """One cluster of the fleet: its verdict (core.clusters.ClusterVerdict) and its judged VMs
    (core.inventory.JudgedVm), each judged against this verdict."""
    verdict: object
    vms: list


class FleetScan(NamedTuple):
    clusters: List[FleetCluster]
    unreadable: list            # adapters.resourcegraph.ScopeFailure
    with_vms: bool
    requests: int               # Resource Graph requests made
    evaluated_at: object

    def cluster_views(self):
        """The `list` rows: each cluster's view (with vmSummary when VMs were read), then a row for
        each scope that could not be read."""
        from azext_stack_hci_verify.core.inventory import vm_findings, vm_summary
        views = []
        for cluster in self.clusters:
            if self.with_vms:
                view = cluster_view(cluster.verdict, vm_summary=vm_summary(cluster.vms),
                                    extra_findings=vm_findings(cluster.vms))
                view["vmsReadFrom"] = "resourceGraph"
            else:
                view = cluster_view(cluster.verdict)
            views.append(view)
        return views + [unreadable_view(failure, self.evaluated_at) for failure in self.unreadable]

    def vm_views(self):
        """Every VM's `vm list` row with its cluster, cluster by cluster."""
        rows = []
        for cluster in self.clusters:
            facts = cluster.verdict.facts
            for item in cluster.vms:
                view = item.view()
                view.update({"cluster": facts.name, "resourceGroup": facts.resource_group,
                             "subscriptionId": facts.subscription_id, FIELD_READ_FROM: "resourceGraph"})
                rows.append((item, view))
        return rows

    def findings(self):
        """Every finding of the fleet, each with the resource it is about (resourceId)."""
        from azext_stack_hci_verify.core.inventory import vm_findings
        found = []
        for cluster in self.clusters:
            cluster_id = cluster.verdict.facts.id
            found.extend(dict(item, resourceId=cluster_id) for item in cluster.verdict.findings)
            for judged, item in zip([vm for vm in cluster.vms if _is_flagged(vm)], vm_findings(cluster.vms)):
                found.append(dict(item, resourceId=judged.machine_id or cluster_id))
        for failure in self.unreadable:
            found.extend(dict(item, resourceId=failure.scope)
                         for item in unreadable_view(failure, self.evaluated_at)["findings"])
        return found


def _is_flagged(judged):
    from azext_stack_hci_verify.core import vocabulary as v
    return judged.verdict.benefit_status in (v.BENEFITS_INACTIVE, v.BENEFITS_UNKNOWN)


def unreadable_view(failure, now):
    """A `list` row for a subscription or management group that could not be read."""
    from azext_stack_hci_verify.core import vocabulary as v
    from azext_stack_hci_verify.core.timeutil import format_timestamp
    name = failure.scope.rstrip("/").rsplit("/", 1)[-1]
    subscription = name if failure.scope.lower().startswith("/subscriptions/") else None
    read = failure.failure
    finding = {"scope": "subscription" if subscription else "managementGroup", "name": name,
               "severity": v.SEVERITY_ERROR, "reasonCode": SCOPE_NOT_READABLE, "reason": read.reason,
               "action": read.action, "command": read.command}
    return {"name": name, "id": failure.scope, "resourceGroup": None, "subscriptionId": subscription,
            "hostStatus": v.UNKNOWN, "reasonCode": SCOPE_NOT_READABLE, "reason": read.reason, "servers": [],
            "vmSummary": None, "findings": [finding], "evaluatedAt": format_timestamp(now)}


# ----------------------------------------------------------------------------------- scopes

def resolve_subscriptions(cli_ctx, subscriptions=None, all_subscriptions=False):
    """Subscription ids: the ones named (ids, or names of signed-in subscriptions), or with
    all_subscriptions every enabled subscription of the signed-in account's tenant."""
    from azure.cli.core._profile import Profile
    cached = Profile(cli_ctx=cli_ctx).load_cached_subscriptions()
    if subscriptions:
        by_name = {str(sub.get("name", "")).lower(): sub["id"] for sub in cached}
        resolved = [by_name.get(str(value).lower(), value) for value in subscriptions]
        return list(dict.fromkeys(value.strip() for value in resolved))
    if not all_subscriptions:
        return []
    current = next((sub for sub in cached if sub.get("isDefault")), None)
    tenant = current.get("tenantId") if current else None
    return [sub["id"] for sub in cached if str(sub.get("state", "Enabled")).lower() == "enabled"
            and (tenant is None or sub.get("tenantId") == tenant)]


class _Progress:
    """Progress on stderr through az's progress support, only when stderr is a terminal and
    --only-show-errors is not set."""

    def __init__(self, cli_ctx):
        import sys
        self.controller = None
        if cli_ctx is not None and not getattr(cli_ctx, "only_show_errors", False) and sys.stderr.isatty():
            self.controller = cli_ctx.get_progress_controller(det=True)

    def reporter(self, what):
        if self.controller is None:
            return None

        def report(done, total):
            self.controller.add(message="Reading {} from Resource Graph: {}".format(what, done), value=done,
                                total_val=max(total or done, done, 1))
        return report

    def end(self):
        if self.controller is not None:
            self.controller.end()


# ----------------------------------------------------------------------------------- the scan

def evaluate_fleet(cmd, subscriptions=None, all_subscriptions=False, management_groups=None, host_facts=None,
                   now=None, with_vms=True, client=None):
    """Read and judge the fleet: clusters (one Resource Graph query, paged), and with_vms their Azure
    Local VMs (one more, paged). `host_facts`: HostFacts documents, bound to the clusters they belong
    to. `client`: a Resource Graph client (default: one from az's client factory with one credential
    for the command). FleetScan."""
    cli_ctx = cmd.cli_ctx if cmd is not None else None
    now = now or datetime.now(timezone.utc)
    subscription_ids = resolve_subscriptions(cli_ctx, subscriptions, all_subscriptions) if cli_ctx else \
        list(subscriptions or [])
    progress = _Progress(cli_ctx)
    try:
        clusters, machines, requests = _read_fleet(client or _graph_client(cli_ctx, subscription_ids),
                                                   subscription_ids, management_groups or [], with_vms, progress)
    finally:
        progress.end()
    return FleetScan(judge_fleet(clusters.rows, machines if with_vms else None, host_facts, now),
                     list(clusters.unreadable), with_vms, requests, now)


def _graph_client(cli_ctx, subscription_ids):
    from azext_stack_hci_verify.adapters.credential import CommandCredential
    from azext_stack_hci_verify._client_factory import cf_resourcegraph
    return cf_resourcegraph(cli_ctx, CommandCredential(cli_ctx, subscription_ids[0] if subscription_ids else None))


def _read_fleet(client, subscription_ids, management_groups, with_vms, progress):
    """(cluster GraphRows, VM rows, requests): the VM query skips the scopes the cluster query could not read."""
    from azext_stack_hci_verify.adapters import resourcegraph as rg
    clusters = rg.query_scoped(client, rg.clusters_query(), subscription_ids, management_groups,
                               progress.reporter("clusters"), what="the clusters")
    if not with_vms:
        return clusters, [], clusters.requests
    refused = {failure.scope.lower() for failure in clusters.unreadable}
    vms = rg.query_scoped(
        client, rg.vms_query(),
        [s for s in subscription_ids if "/subscriptions/{}".format(s).lower() not in refused],
        [g for g in management_groups
         if "/providers/microsoft.management/managementgroups/{}".format(g).lower() not in refused],
        progress.reporter("VMs"), what="the Azure Local VMs")
    return clusters, vms.rows, clusters.requests + vms.requests


def judge_fleet(cluster_rows, vm_rows, host_facts, now):
    """Resource Graph rows in, FleetClusters out (in resource group, name order). `vm_rows` None: the VMs
    were not read. The VM rows are used up (each is let go once read, each cluster's VMs once judged), so
    that a fleet's rows and its verdicts are not all held at once."""
    from azext_stack_hci_verify.core.hostevidence import bind_host_facts
    facts = [cluster_facts_from_arm(row) for row in cluster_rows]
    facts.sort(key=lambda item: ((item.resource_group or "").lower(), (item.name or "").lower(),
                                 (item.subscription_id or "").lower()))
    bound = bind_host_facts(facts, host_facts or [], now)
    by_cluster = _vms_by_cluster(vm_rows or [])
    return [_judge_cluster(cluster, evidence, by_cluster if vm_rows is not None else None, now)
            for cluster, evidence in zip(facts, bound)]


def _judge_cluster(cluster, evidence, by_cluster, now):
    from azext_stack_hci_verify.core.inventory import is_cluster_vm, judge_vms
    verdict = evaluate_cluster(cluster, None, now, evidence=evidence)
    if by_cluster is None:
        return FleetCluster(verdict, [])
    arm_vms = [vm for vm in by_cluster.pop(cluster.id.lower(), []) if is_cluster_vm(vm.machine, cluster)] \
        if cluster.id else []
    return FleetCluster(verdict, judge_vms(verdict, arm_vms))


def _vms_by_cluster(vm_rows):
    """{lower-case parent cluster id: [ArmVm]}; a VM whose instance Resource Graph lacks says so."""
    from azext_stack_hci_verify.adapters.resourcegraph import parent_cluster_key, vm_from_row
    from azext_stack_hci_verify.core.inventory import ArmVm
    by_cluster = {}
    for index, row in enumerate(vm_rows):
        vm_rows[index] = None           # let the row go once read (judge_fleet)
        vm = vm_from_row(row)
        if vm is not None:
            if vm.instance is None:
                vm = ArmVm(vm.machine, None, "Resource Graph has no virtualMachineInstances/default for it")
            by_cluster.setdefault(parent_cluster_key(vm.machine), []).append(vm)
    return by_cluster
