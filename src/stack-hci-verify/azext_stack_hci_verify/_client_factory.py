# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------


def cf_azurestackhci(cli_ctx, subscription_id=None):
    """The Microsoft.AzureStackHCI management client, built by the CLI's client factory."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.mgmt.azurestackhci import AzureStackHCIClient
    return get_mgmt_service_client(cli_ctx, AzureStackHCIClient, subscription_id=subscription_id)


def cf_hybridcompute(cli_ctx, subscription_id=None):
    """Microsoft.HybridCompute (Arc machines: Azure Local VMs are machines of kind HCI)."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.mgmt.hybridcompute import HybridComputeManagementClient
    return get_mgmt_service_client(cli_ctx, HybridComputeManagementClient, subscription_id=subscription_id)


def cf_azurestackhcivm(cli_ctx, subscription_id=None):
    """Microsoft.AzureStackHCI virtualMachineInstances (the Azure Local VM behind an Arc machine)."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.mgmt.azurestackhcivm import AzureStackHCIVmClient
    return get_mgmt_service_client(cli_ctx, AzureStackHCIVmClient, subscription_id=subscription_id)
