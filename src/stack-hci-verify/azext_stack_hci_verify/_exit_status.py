# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""A verification command prints its whole result and still exits non-zero when the verdict is
not a pass, the way signature verifiers do.

az prints a command's result after the command returns, and raising an error from the command
would replace the result with the error. So the command asks for its exit status here: a handler
of knack's ``Cli.SuccessfulExecute`` event, which is raised once the output is written (``-o``,
``--query`` and ``-o none`` included), ends the process with that status.
"""


def exit_after_output(cli_ctx, code):
    """Once the result is printed, exit with ``code`` (nothing to do for 0)."""
    if not code:
        return
    from knack.events import EVENT_CLI_SUCCESSFUL_EXECUTE

    def _exit(cli_ctx, **kwargs):  # pylint: disable=unused-argument
        cli_ctx.unregister_event(EVENT_CLI_SUCCESSFUL_EXECUTE, _exit)
        raise SystemExit(code)

    cli_ctx.register_event(EVENT_CLI_SUCCESSFUL_EXECUTE, _exit)
