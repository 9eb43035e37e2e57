# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Argument checks that run before a command does; each error says what is wrong and the fix."""

CLUSTER_NAMESPACE = "microsoft.azurestackhci"
CLUSTER_TYPE = "clusters"


def parse_cluster_ids(ids):
    """(subscription, resource group, name) for each --ids value; raises on anything else."""
    from azure.cli.core.azclierror import InvalidArgumentValueError
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id
    refs = []
    for value in ids:
        for resource_id in str(value).split():
            if not is_valid_resource_id(resource_id):
                raise InvalidArgumentValueError(
                    "'{}' is not a resource ID. Use the cluster's full ID, e.g. /subscriptions/<sub>/resourceGroups/"
                    "<rg>/providers/Microsoft.AzureStackHCI/clusters/<name>, or use -n and -g.".format(resource_id))
            parts = parse_resource_id(resource_id)
            namespace = (parts.get("namespace") or "").lower()
            kind = (parts.get("type") or "").lower()
            if namespace != CLUSTER_NAMESPACE or kind != CLUSTER_TYPE or parts.get("child_name_1"):
                raise InvalidArgumentValueError(
                    "'{}' is not an Azure Local cluster ID (Microsoft.AzureStackHCI/clusters). Give a cluster's ID, "
                    "or use -n and -g.".format(resource_id))
            refs.append((parts["subscription"], parts["resource_group"], parts["name"]))
    return refs


def validate_cluster_reference(cmd, namespace):
    """Either --ids, or --cluster-name with --resource-group."""
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError, RequiredArgumentMissingError
    del cmd
    ids = getattr(namespace, "ids", None)
    name = getattr(namespace, "cluster_name", None)
    group = getattr(namespace, "resource_group_name", None)
    group_given = bool(group) and not getattr(group, "is_default", False)
    if ids:
        if name or group_given:
            raise MutuallyExclusiveArgumentError(
                "Use either --ids or --cluster-name/--resource-group, not both.")
        parse_cluster_ids(ids)
        return
    if name and not group:
        raise RequiredArgumentMissingError(
            "--resource-group/-g is required with --cluster-name/-n: give both, or give the cluster's ID with --ids.")
    if not name:
        raise RequiredArgumentMissingError(
            "Name the cluster with --cluster-name/-n and --resource-group/-g, or give its ID with --ids.")


def validate_host_facts(cmd, namespace):
    """Read and check every --host-facts file now, so a bad file fails before any ARM call."""
    del cmd
    paths = getattr(namespace, "host_facts", None)
    if not paths:
        return
    flat = []
    for item in paths:
        flat.extend(item if isinstance(item, list) else [item])
    from azext_stack_hci_verify.adapters.files import load_host_facts
    namespace.host_facts = load_host_facts(flat)
