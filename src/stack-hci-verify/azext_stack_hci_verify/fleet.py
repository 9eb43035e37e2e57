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
