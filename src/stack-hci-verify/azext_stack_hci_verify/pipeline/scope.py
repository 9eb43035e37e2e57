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


def cluster_resource_id(subscription_id, resource_group, name):
    return "/subscriptions/{}/resourceGroups/{}/providers/{}/{}".format(
        subscription_id, resource_group, CLUSTER_TYPE, name)


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
