# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
# pylint: disable=line-too-long


def load_arguments(self, _):
    from knack.arguments import CLIArgumentType
    from azure.cli.core.commands.parameters import get_resource_name_completion_list, resource_group_name_type

    cluster_name_type = CLIArgumentType(
        options_list=['--cluster-name', '-n'],
        help='Name of the Azure Local cluster (Microsoft.AzureStackHCI/clusters).',
        completer=get_resource_name_completion_list('Microsoft.AzureStackHCI/clusters'))
    ids_type = CLIArgumentType(
        options_list=['--ids'], nargs='+', arg_group='Resource Id',
        help='One or more cluster resource IDs (space-delimited). Use instead of --cluster-name and --resource-group.')
    host_facts_type = CLIArgumentType(
        options_list=['--host-facts'], nargs='+', action='append',
        help='Host-facts file written by `az stack-hci vm-verification probe -o json` on a server (schema 1). '
             'Repeatable, one file per server. Facts from a host win over ARM for the servers it covers.')

    with self.argument_context('stack-hci vm-verification') as c:
        c.argument('cluster_name', cluster_name_type, required=False)
        c.argument('resource_group_name', resource_group_name_type, required=False)
        c.argument('ids', ids_type)
        c.argument('host_facts', host_facts_type)

    with self.argument_context('stack-hci vm-verification list') as c:
        c.argument('resource_group_name', resource_group_name_type, required=False,
                   help='Name of resource group. Omit it to list every cluster of the subscription.')
