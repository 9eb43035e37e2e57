# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------


def cf_azurestackhci(cli_ctx, subscription_id=None):
    """The Microsoft.AzureStackHCI management client, built by the CLI's client factory."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.mgmt.azurestackhci import AzureStackHCIClient
    return get_mgmt_service_client(cli_ctx, AzureStackHCIClient, subscription_id=subscription_id)
