# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""ARM reads through azure-mgmt-azurestackhci. Returns raw ARM documents (dicts) so that values a
newer API version adds are kept as they came; the core reads them."""

from azext_stack_hci_verify._client_factory import cf_azurestackhci, cf_azurestackhcivm, cf_hybridcompute
from azext_stack_hci_verify.core.inventory import ArmVm, is_cluster_vm

CLUSTER_TYPE = "Microsoft.AzureStackHCI/clusters"
# Instance reads run concurrently, at most this many at once.
MAX_CONCURRENT_READS = 8


def _raw_body(pipeline_response, _deserialized, _headers):
    return pipeline_response.http_response.json()


def get_cluster(cli_ctx, subscription_id, resource_group, name):
    """The cluster's ARM document; 404 and 403 become one-line CLI errors that say what to do."""
    client = cf_azurestackhci(cli_ctx, subscription_id)
    scope = "/subscriptions/{}/resourceGroups/{}/providers/{}/{}".format(
        subscription_id, resource_group, CLUSTER_TYPE, name)
    try:
        return client.clusters.get(resource_group, name, cls=_raw_body)
    except Exception as ex:  # pylint: disable=broad-except
        raise translate_error(ex, scope, what="Cluster '{}' in resource group '{}'".format(name, resource_group),
                              hint="list the clusters you can see with "
                                   "`az stack-hci vm-verification list -g {}`".format(resource_group)) from ex


def list_clusters(cli_ctx, subscription_id, resource_group=None):
    """Every cluster of the subscription or resource group, following nextLink to the last page."""
    client = cf_azurestackhci(cli_ctx, subscription_id)
    if resource_group:
        pages = client.clusters.list_by_resource_group(resource_group)
        scope = "/subscriptions/{}/resourceGroups/{}".format(subscription_id, resource_group)
        what = "Resource group '{}'".format(resource_group)
    else:
        pages = client.clusters.list_by_subscription()
        scope = "/subscriptions/{}".format(subscription_id)
        what = "Subscription '{}'".format(subscription_id)
    try:
        return [_as_dict(item) for item in pages]
    except Exception as ex:  # pylint: disable=broad-except
        raise translate_error(ex, scope, what=what,
                              hint="check the name with `az group list` or `az account list`") from ex


def translate_error(ex, scope, what, hint):
    """An azure-core error as an azclierror with one line saying what is wrong and what to do.

    Anything that is not an HTTP error from ARM is returned unchanged, never swallowed."""
    from azure.core.exceptions import HttpResponseError
    from azure.cli.core import azclierror
    if not isinstance(ex, HttpResponseError):
        return ex
    status = getattr(ex, "status_code", None)
    code = getattr(getattr(ex, "error", None), "code", None)
    if status == 404:
        return azclierror.ResourceNotFoundError("{} was not found ({}); {}.".format(what, code or "404", hint))
    if status == 403:
        return azclierror.ForbiddenError(
            "Access denied to scope '{}' ({}): ask for a role with Microsoft.AzureStackHCI/clusters/read "
            "there (for example Reader), or choose another subscription with --subscription.".format(
                scope, code or "403"))
    if status == 401:
        return azclierror.UnauthorizedError(
            "ARM rejected the credentials ({}); run `az login` again.".format(code or "401"))
    message = getattr(getattr(ex, "error", None), "message", None) or str(ex).splitlines()[0]
    return azclierror.AzureResponseError(
        "ARM answered {} for scope '{}': {}".format(status, scope, message))


def list_cluster_vms(cli_ctx, cluster):
    """The cluster's Azure Local VMs: Arc machines of kind HCI whose parentClusterResourceId is the
    cluster, each with its virtualMachineInstances/default. One paged list of the subscription's
    machines, then the instances concurrently (bounded). An instance that cannot be read is
    reported on that VM (ArmVm.error); the others still come back."""
    from concurrent.futures import ThreadPoolExecutor
    machines_client = cf_hybridcompute(cli_ctx, cluster.subscription_id)
    scope = "/subscriptions/{}/providers/Microsoft.HybridCompute/machines".format(cluster.subscription_id)
    try:
        machines = [_as_dict(item) for item in machines_client.machines.list_by_subscription()]
    except Exception as ex:  # pylint: disable=broad-except
        raise translate_error(ex, scope, what="The Arc machines of subscription '{}'".format(
            cluster.subscription_id), hint="check the subscription with `az account show`") from ex
    machines = [machine for machine in machines if is_cluster_vm(machine, cluster)]
    if not machines:
        return []
    instances_client = cf_azurestackhcivm(cli_ctx, cluster.subscription_id)

    def read(machine):
        resource_uri = machine["id"].lstrip("/")
        try:
            return ArmVm(machine, instances_client.virtual_machine_instances.get(resource_uri, cls=_raw_body), None)
        except Exception as ex:  # pylint: disable=broad-except
            from azure.core.exceptions import HttpResponseError
            if not isinstance(ex, HttpResponseError):
                raise
            return ArmVm(machine, None, "ARM answered {} for its virtualMachineInstances/default".format(
                getattr(ex, "status_code", None) or "an error"))

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_READS, len(machines))) as pool:
        return list(pool.map(read, machines))


def _as_dict(item):
    return item.as_dict() if hasattr(item, "as_dict") else dict(item)
