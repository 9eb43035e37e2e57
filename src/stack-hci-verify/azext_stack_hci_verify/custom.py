# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Command functions: gather facts through the adapters, judge them with the core, return views."""

from datetime import datetime, timezone

from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm, cluster_view, evaluate_cluster, server_view


def _now():
    return datetime.now(timezone.utc)


def _cluster_refs(cmd, cluster_name, resource_group_name, ids):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify._validators import parse_cluster_ids
    if ids:
        return parse_cluster_ids(ids)
    return [(get_subscription_id(cmd.cli_ctx), resource_group_name, cluster_name)]


def _evaluate(cmd, ref, host_facts, now):
    from azext_stack_hci_verify.adapters import arm
    subscription_id, resource_group, name = ref
    document = arm.get_cluster(cmd.cli_ctx, subscription_id, resource_group, name)
    return evaluate_cluster(cluster_facts_from_arm(document), host_facts or [], now)


def show_cluster_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    views = [cluster_view(_evaluate(cmd, ref, host_facts, now))
             for ref in _cluster_refs(cmd, cluster_name, resource_group_name, ids)]
    return views[0] if len(views) == 1 else views


def list_cluster_verification(cmd, resource_group_name=None):
    from azure.cli.core.commands.client_factory import get_subscription_id
    from azext_stack_hci_verify.adapters import arm
    now = _now()
    documents = arm.list_clusters(cmd.cli_ctx, get_subscription_id(cmd.cli_ctx), resource_group_name)
    views = [cluster_view(evaluate_cluster(cluster_facts_from_arm(document), [], now)) for document in documents]
    return sorted(views, key=lambda view: ((view["resourceGroup"] or "").lower(), (view["name"] or "").lower()))


def list_server_verification(cmd, cluster_name=None, resource_group_name=None, ids=None, host_facts=None):
    now = _now()
    rows = []
    for ref in _cluster_refs(cmd, cluster_name, resource_group_name, ids):
        verdict = _evaluate(cmd, ref, host_facts, now)
        for server in verdict.servers:
            row = server_view(server)
            row["cluster"] = verdict.facts.name
            rows.append(row)
    return rows
