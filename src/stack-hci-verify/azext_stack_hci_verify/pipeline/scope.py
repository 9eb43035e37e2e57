# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What a command asks about: named clusters, a resource group, subscriptions or management groups.
Made by the callers (az's command functions, the Python API) from their arguments; read by the
pipeline. Pure."""

from dataclasses import dataclass

CLUSTERS = "clusters"
RESOURCE_GROUP = "resourceGroup"
SUBSCRIPTIONS = "subscriptions"
MANAGEMENT_GROUPS = "managementGroups"
CLUSTER_TYPE = "Microsoft.AzureStackHCI/clusters"


CLUSTER_NAMESPACE, CLUSTER_KIND = "microsoft.azurestackhci", "clusters"


def parse_cluster_ids(ids):
    """(subscription, resource group, name) for each cluster resource ID (space-separated values too);
    raises errors.InvalidInputError for anything else."""
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id
    from azext_stack_hci_verify.errors import InvalidInputError
    refs = []
    for value in ids or ():
        for resource_id in str(value).split():
            if not is_valid_resource_id(resource_id):
                raise InvalidInputError(
                    f"'{resource_id}' is not a resource ID.",
                    recommendation="Use the cluster's full ID, e.g. /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                                   "Microsoft.AzureStackHCI/clusters/<name>, or use -n and -g.")
            parts = parse_resource_id(resource_id)
            namespace = (parts.get("namespace") or "").lower()
            kind = (parts.get("type") or "").lower()
            if namespace != CLUSTER_NAMESPACE or kind != CLUSTER_KIND or parts.get("child_name_1"):
                raise InvalidInputError(
                    f"'{resource_id}' is not an Azure Local cluster ID (Microsoft.AzureStackHCI/clusters).",
                    recommendation="Give a cluster's ID, or use -n and -g.")
            refs.append((parts["subscription"], parts["resource_group"], parts["name"]))
    if not refs:
        raise InvalidInputError(
            "--ids was given no resource ID (only empty or blank values).",
            recommendation="Give one or more cluster IDs, e.g. --ids /subscriptions/<sub>/resourceGroups/<rg>/"
                           "providers/Microsoft.AzureStackHCI/clusters/<name>, or use -n and -g.")
    return refs


def parse_vm_id(ids):
    """The Arc machine ID when the values name one Azure Local VM (Microsoft.HybridCompute/machines), else None."""
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id
    values = [part for value in ids or () for part in str(value).split()]
    if len(values) != 1 or not is_valid_resource_id(values[0]):
        return None
    parts = parse_resource_id(values[0])
    if (parts.get("namespace") or "").lower() == "microsoft.hybridcompute" and \
            (parts.get("type") or "").lower() == "machines" and not parts.get("child_name_1"):
        return values[0]
    return None


def cluster_resource_id(subscription_id, resource_group, name):
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{CLUSTER_TYPE}/{name}"


@dataclass(frozen=True)
class Scope:
    """One scope. `clusters`: ((subscription, group, name), ...) for CLUSTERS; `subscriptions`: the
    subscription ids read for RESOURCE_GROUP (one) and SUBSCRIPTIONS; `all_subscriptions` says that
    they are every subscription the caller can see (for the report)."""
    kind: str
    clusters: tuple = ()
    subscriptions: tuple = ()
    resource_group: str = None
    management_groups: tuple = ()
    all_subscriptions: bool = False

    @classmethod
    def of_clusters(cls, refs):
        return cls(CLUSTERS, clusters=tuple(tuple(ref) for ref in refs),
                   subscriptions=tuple(dict.fromkeys(ref[0] for ref in refs)))

    @classmethod
    def of_group(cls, subscription_id, resource_group):
        return cls(RESOURCE_GROUP, subscriptions=(subscription_id,), resource_group=resource_group)

    @classmethod
    def of_subscriptions(cls, subscription_ids, all_subscriptions=False):
        return cls(SUBSCRIPTIONS, subscriptions=tuple(dict.fromkeys(subscription_ids)),
                   all_subscriptions=all_subscriptions)

    @classmethod
    def of_management_groups(cls, groups):
        return cls(MANAGEMENT_GROUPS, management_groups=tuple(dict.fromkeys(groups)))

    @property
    def is_fleet(self):
        """More than one subscription, or management groups: what only Resource Graph can read."""
        return self.kind == MANAGEMENT_GROUPS or (self.kind == SUBSCRIPTIONS and len(self.subscriptions) != 1)

    def cluster_ids(self):
        return [cluster_resource_id(*ref) for ref in self.clusters]

    def to_dict(self):
        kind = "allSubscriptions" if self.all_subscriptions else self.kind
        view = {"kind": kind}
        if self.kind == CLUSTERS:
            view["clusters"] = len(self.clusters)
        if self.kind in (RESOURCE_GROUP, SUBSCRIPTIONS):
            view["subscriptions"] = list(self.subscriptions)
        if self.kind == RESOURCE_GROUP:
            view["subscriptionId"] = self.subscriptions[0] if self.subscriptions else None
            view["resourceGroup"] = self.resource_group
        if self.kind == MANAGEMENT_GROUPS:
            view["managementGroups"] = list(self.management_groups)
        return view
