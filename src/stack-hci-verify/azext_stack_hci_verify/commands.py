# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------

from azext_stack_hci_verify._format import transform_trusted_launch_list, transform_trusted_launch_show
from azext_stack_hci_verify._format import (
    transform_attestation, transform_cluster_list, transform_cluster_show, transform_probe, transform_server_list,
    transform_vm_list, transform_vm_show)
from azext_stack_hci_verify._format import transform_check, transform_collect
from azext_stack_hci_verify._validators import validate_check_outputs, validate_collect, validate_scope
from azext_stack_hci_verify._validators import validate_guest_facts, validate_guest_probe
from azext_stack_hci_verify._validators import (
    validate_attest, validate_cluster_reference, validate_host_facts, validate_probe, validate_trusted_launch_vm,
    validate_vm_reference, validate_vm_status)


def load_command_table(self, _):
    with self.command_group('stack-hci vm-verification', is_preview=True) as g:
        g.custom_show_command('show', 'show_cluster_verification',
                              validator=_all(validate_cluster_reference, validate_host_facts, validate_collect),
                              table_transformer=transform_cluster_show)
        g.custom_command('list', 'list_cluster_verification', validator=_all(validate_scope, validate_host_facts),
                         table_transformer=transform_cluster_list)
        g.custom_command('attest', 'attest_document', validator=validate_attest,
                         table_transformer=transform_attestation)
        g.custom_command('probe', 'probe_host', validator=_all(validate_probe, validate_guest_probe),
                         table_transformer=transform_probe)
        g.custom_command('check', 'check_verification',
                         validator=_all(validate_scope, validate_check_outputs, validate_host_facts,
                                        validate_guest_facts, validate_collect),
                         table_transformer=transform_check)
        g.custom_command('collect', 'collect_host_facts', validator=_all(validate_scope, validate_collect),
                         table_transformer=transform_collect)

    with self.command_group('stack-hci vm-verification server', is_preview=True) as g:
        g.custom_command('list', 'list_server_verification',
                         validator=_all(validate_scope, validate_host_facts, validate_collect),
                         table_transformer=transform_server_list)

    with self.command_group('stack-hci vm-verification vm', is_preview=True) as g:
        g.custom_command('list', 'list_vm_verification',
                         validator=_all(validate_scope, validate_host_facts, validate_vm_status, validate_collect),
                         table_transformer=transform_vm_list)
        g.custom_show_command('show', 'show_vm_verification',
                              validator=_all(validate_vm_reference, validate_host_facts, validate_collect),
                              table_transformer=transform_vm_show)

    with self.command_group('stack-hci vm-verification trusted-launch', is_preview=True) as g:
        g.custom_command('list', 'list_trusted_launch',
                         validator=_all(validate_scope, validate_host_facts, validate_guest_facts, validate_collect),
                         table_transformer=transform_trusted_launch_list)
        g.custom_show_command('show', 'show_trusted_launch',
                              validator=_all(validate_trusted_launch_vm, validate_host_facts, validate_guest_facts,
                                             validate_collect),
                              table_transformer=transform_trusted_launch_show)


def _all(*validators):
    def validate(cmd, namespace):
        from azext_stack_hci_verify.errors import VerificationError, as_az_error
        try:
            for validator in validators:
                validator(cmd, namespace)
        except VerificationError as ex:
            raise as_az_error(ex) from ex
    return validate
