# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
# pylint: disable=line-too-long


def load_arguments(self, _):  # pylint: disable=too-many-statements
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
        # A list command takes clusters by ID with --cluster-ids (azdev: a list command has no --ids);
        # --ids keeps working for one release, with az's deprecation warning.
        c.argument('cluster_ids', options_list=[
            '--cluster-ids', c.deprecate(target='--ids', redirect='--cluster-ids', hide=True)],
            nargs='+', arg_group='Resource Id',
            help='One or more cluster resource IDs (space-delimited). Use instead of --cluster-name and '
                 '--resource-group.')

    # In a show command about one VM, -n/--name names the VM and --cluster-name its cluster (as
    # `az network vnet subnet show --vnet-name`). The spelling of 0.2 (-n CLUSTER --vm-name VM) keeps
    # working for one release: --vm-name is a deprecated option that _validators.resolve_vm_name reads.
    for command in ('vm show', 'trusted-launch show'):
        with self.argument_context('stack-hci vm-verification ' + command) as c:
            c.argument('vm_name', options_list=['--name', '-n'],
                       help='Name of the VM (its Azure Local VM name, or its Hyper-V name for a VM not in Azure).')
            c.argument('cluster_name', options_list=['--cluster-name'],
                       help='Name of the Azure Local cluster (Microsoft.AzureStackHCI/clusters) the VM runs on.',
                       completer=get_resource_name_completion_list('Microsoft.AzureStackHCI/clusters'))
            c.extra('deprecated_vm_name', options_list=['--vm-name'],
                    deprecate_info=c.deprecate(target='--vm-name', redirect='--name', hide=True),
                    help='Name of the VM. Deprecated: use --name.')

    fleet_args = (
        ('subscriptions', CLIArgumentType(
            options_list=['--subscriptions'], nargs='+', arg_group='Fleet (Resource Graph)',
            help='Read the clusters of these subscriptions (IDs or names, space-delimited) with one Resource Graph '
                 'query, 1,000 rows a request. A subscription you cannot read is reported in the result. Unlike '
                 'az\'s global --subscription, which picks the one subscription a command runs in (for -n, -g '
                 'and --ids), this takes several and reads them all in one scope.')),
        ('all_subscriptions', CLIArgumentType(
            options_list=['--all-subscriptions'], action='store_true', arg_group='Fleet (Resource Graph)',
            help='Read every enabled subscription of the signed-in account\'s tenant (`az account list`) with '
                 'Resource Graph.')),
        ('management_groups', CLIArgumentType(
            options_list=['--management-groups'], nargs='+', arg_group='Fleet (Resource Graph)',
            help='Read every subscription under these management groups (names, space-delimited) with Resource '
                 'Graph.')),
    )

    with self.argument_context('stack-hci vm-verification list') as c:
        c.argument('resource_group_name', resource_group_name_type, required=False,
                   help='Name of resource group. Omit it to list every cluster of the subscription.')
        for name, arg_type in fleet_args:
            c.argument(name, arg_type)

    with self.argument_context('stack-hci vm-verification attest') as c:
        from azure.cli.core.commands.parameters import get_enum_type
        c.argument('target', arg_type=get_enum_type(['host', 'vm']),
                   help='Which endpoint to ask: the host\'s (127.0.0.1 port 42542, run on an Azure Local server) or '
                        'the legacy-OS VM address (169.254.169.253 port 80, run inside a VM), both over plain HTTP. '
                        'Settings STACK_HCI_VERIFY_HOST_IMDS_URL and STACK_HCI_VERIFY_VM_IMDS_URL override them.')
        c.argument('endpoint', help='Base URL of the attested-document endpoint (`http://<address>:<port>`), instead '
                                    'of the --target default.')
        c.argument('nonce', help='Nonce to send and expect echoed back. Default: 10 random digits. With --document, '
                                 'the nonce the document must carry.')
        c.argument('document', help='Verify a saved response ({"encoding":"pkcs7","signature":...}) instead of '
                                    'fetching one.')
        c.argument('trust_bundle', help='PEM (or DER) file of trusted root certificates. Default: the setting '
                                        'STACK_HCI_VERIFY_TRUST_BUNDLE (one file, or several separated by the path '
                                        'separator), else the CA bundle of this environment.')
        c.argument('intermediates', help='PEM file of intermediate certificates used to build the chain. Not needed '
                                         'for Azure\'s documents: a missing issuer is fetched from the address its '
                                         'certificate names (AIA). Default: STACK_HCI_VERIFY_INTERMEDIATES.')
        c.argument('no_fetch', action='store_true',
                   help='Do not fetch a missing issuer certificate from its AIA address (the issuer cache is still '
                        'read). Also set by STACK_HCI_VERIFY_NO_FETCH=true.')
        c.argument('check_revocation', action='store_true',
                   help='Ask the signer\'s OCSP responder whether its certificate is revoked. Revoked is Failed; no '
                        'usable answer is Unknown. Without it, the notRevoked check is Skipped.')
        c.argument('allowed_signers', options_list=['--allowed-signer'], nargs='+',
                   help='DNS names the signer certificate may carry (it may also be a subdomain of one). '
                        'Default: metadata.azure.com.')
        c.argument('at', help='Judge validity and expiry at this time (ISO 8601) instead of now.')
        c.argument('timeout', type=float, help='Seconds the whole fetch may take, retries included.')

    for command in ('vm list', 'server list', 'trusted-launch list', 'check'):
        with self.argument_context('stack-hci vm-verification ' + command) as c:
            c.argument('resource_group_name', resource_group_name_type, required=False,
                       help='Name of resource group. With --cluster-name, that cluster; alone, every cluster of the '
                            'group. Omit every scope option for the clusters of the current subscription.')
            for name, arg_type in fleet_args:
                c.argument(name, arg_type)

    with self.argument_context('stack-hci vm-verification vm list') as c:
        from azext_stack_hci_verify._validators import STATUS_CHOICES
        c.argument('status', nargs='+',
                   help='Only VMs with these benefit statuses (space-delimited, any case): ' +
                        ', '.join(STATUS_CHOICES) + '. The output keeps Windows Admin Center\'s words '
                        '("Inactive benefits").')

    with self.argument_context('stack-hci vm-verification probe') as c:
        c.argument('vm_names', options_list=['--vm-name'], nargs='+',
                   help='Probe only these VMs (names are matched exactly). Default: every VM on the host.')
        c.argument('timeout', type=float, help='Seconds each probe may take; the probes run at once.')
        c.argument('guest', action='store_true',
                   help='Probe the VM this runs in instead of the host: secure boot, the vTPM, VBS (Windows) and the '
                        'Hyper-V VMBus devices (Linux). Prints a guest-facts document for --guest-facts. On Linux '
                        'the setting STACK_HCI_VERIFY_GUEST_ROOT reads sysfs under another root.')

    with self.argument_context('stack-hci vm-verification check') as c:
        c.argument('guest_facts', options_list=['--guest-facts'], nargs='+', action='append',
                   help='Guest-facts file written by `az stack-hci vm-verification probe --guest -o json` inside a '
                        'VM, for the Trusted launch checks. Repeatable, one file per VM.')
        c.argument('fail_on', options_list=['--fail-on'], nargs='+', arg_group='CI',
                   help='Exit 1 (after printing the report) when a finding matches one of these levels. By status: '
                        'off (a cluster whose host status is Off), expired (a server Expired), inactive (a server '
                        'Inactive or a VM with Inactive benefits), unknown (a cluster, server, VM or Trusted launch '
                        'status Unknown), benefit-inactive and benefit-unknown (a benefit row of a VM beyond its '
                        'Windows Admin Center benefit Inactive or Unknown). By severity: error (an error finding), '
                        'warning (a warning or error '
                        'finding), any (any finding, info included). Without it the exit status is 0.')
        c.argument('junit', options_list=['--junit'], arg_group='CI',
                   help='Write JUnit XML to this file: one test case per cluster, server, VM and Trusted launch VM. '
                        'A test case fails when one of its findings matches --fail-on (else: a warning or error '
                        'finding); the failure carries the reason, action and command.')
        c.argument('summary', options_list=['--summary'], arg_group='CI',
                   help='Append a Markdown summary (counts and the table of what to fix) to this file, e.g. '
                        '"$GITHUB_STEP_SUMMARY".')

    with self.argument_context('stack-hci vm-verification trusted-launch') as c:
        c.argument('guest_facts', options_list=['--guest-facts'], nargs='+', action='append',
                   help='Guest-facts file written by `az stack-hci vm-verification probe --guest -o json` inside a '
                        'VM. Repeatable, one file per VM; matched to VMs by SMBIOS UUID, else by computer name.')

    _load_collect_arguments(self, CLIArgumentType, resource_group_name_type)


def _load_collect_arguments(self, argument_type, resource_group_name_type):
    collect_timeout_type = argument_type(
        options_list=['--timeout'], type=float, arg_group='Collect (Run Command)',
        help='Seconds one server\'s run command may take, its polls included; then it is deleted (which stops it) '
             'and that server is reported as timed out. Default: 600.')
    for command in ('show', 'server list', 'vm list', 'vm show', 'trusted-launch list', 'trusted-launch show', 'check'):
        with self.argument_context('stack-hci vm-verification ' + command) as c:
            c.argument('collect', options_list=['--collect'], action='store_true', arg_group='Collect (Run Command)',
                       help='First collect the host facts of every server of the clusters through Arc Run Command '
                            '(as `collect` does, nothing left on the servers), then judge with them and any '
                            '--host-facts. Needs Microsoft.HybridCompute/machines/runCommands/write.')
            c.argument('timeout', collect_timeout_type)

    with self.argument_context('stack-hci vm-verification collect') as c:
        c.argument('resource_group_name', resource_group_name_type, required=False,
                   help='Name of resource group. With --cluster-name, that cluster; alone, every cluster of the group.')
        c.argument('timeout', collect_timeout_type)
        c.argument('output_dir', options_list=['--output-dir'],
                   help='Also write each server\'s host-facts document to this directory, as '
                        '`<cluster>-<server>.json`, for later --host-facts.')
        c.argument('parallel', options_list=['--parallel'], type=int,
                   help='Servers collected at once. Default: 16.')
