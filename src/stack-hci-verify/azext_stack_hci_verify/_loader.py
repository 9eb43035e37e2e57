# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""az's command loader of the extension (the package's COMMAND_LOADER_CLS): thin, as az imports it on
every call that names `az stack-hci`."""

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
        _guard_output(self.cli_ctx)
        return self.command_table

    def load_arguments(self, command):
        from azext_stack_hci_verify._params import load_arguments
        load_arguments(self, command)


_COMMANDS = "stack-hci vm-verification"
_GUARDED = "stack_hci_verify_output_guard"


def _guard_output(cli_ctx):
    """Once per az process: after the arguments are parsed, a command of this extension printed as
    tsv or table gets its result made safe (_format.terminal_safe) after --query has run."""
    if cli_ctx is None or getattr(cli_ctx, _GUARDED, False):
        return
    from knack.events import EVENT_INVOKER_POST_PARSE_ARGS
    cli_ctx.register_event(EVENT_INVOKER_POST_PARSE_ARGS, _on_parsed)
    setattr(cli_ctx, _GUARDED, True)


def _on_parsed(cli_ctx, **kwargs):
    """Registered after knack's own handlers, so the output format is known and --query's filter is
    already registered: the one registered here runs after it."""
    command = str(kwargs.get("command") or "")
    output = (getattr(cli_ctx, "invocation", None) and cli_ctx.invocation.data.get("output")) or ""
    if (command == _COMMANDS or command.startswith(_COMMANDS + " ")) and output in ("tsv", "table"):
        from knack.events import EVENT_INVOKER_FILTER_RESULT

        def make_safe(cli_ctx, **kwargs):
            from azext_stack_hci_verify._format import terminal_safe
            cli_ctx.unregister_event(EVENT_INVOKER_FILTER_RESULT, make_safe)
            event_data = kwargs.get("event_data")
            if isinstance(event_data, dict) and "result" in event_data:
                event_data["result"] = terminal_safe(event_data["result"], tsv=output == "tsv")

        cli_ctx.register_event(EVENT_INVOKER_FILTER_RESULT, make_safe)


# az's command index records a loader by its module, and loads that module as the extension's: it must
# name the package (whose COMMAND_LOADER_CLS is this class), not this module.
StackHciVerifyCommandsLoader.__module__ = "azext_stack_hci_verify"
