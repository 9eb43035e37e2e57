# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------

from azure.cli.core import AzCommandsLoader

from azext_stack_hci_verify._help import helps  # noqa: F401  pylint: disable=unused-import


class StackHciVerifyCommandsLoader(AzCommandsLoader):

    def __init__(self, cli_ctx=None):
        from azure.cli.core.commands import CliCommandType
        custom_command_type = CliCommandType(operations_tmpl='azext_stack_hci_verify.custom#{}')
        super().__init__(cli_ctx=cli_ctx, custom_command_type=custom_command_type)

    def load_command_table(self, args):
        from azext_stack_hci_verify.commands import load_command_table
        load_command_table(self, args)
        return self.command_table

    def load_arguments(self, command):
        from azext_stack_hci_verify._params import load_arguments
        load_arguments(self, command)


COMMAND_LOADER_CLS = StackHciVerifyCommandsLoader  # pylint: disable=invalid-name
