# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Help and arguments as the azure-cli-extensions linter reads them: every command and group has help with
a one-line summary; every example is one az command of its entry whose options the command has; no example
uses a shell redirection or operator; no help text has a bare endpoint URL; list commands take no --ids."""

import shlex
from types import SimpleNamespace

import pytest
import yaml
from azure.cli.core.mock import DummyCli

from azext_stack_hci_verify import _help  # noqa: F401  pylint: disable=unused-import
from azext_stack_hci_verify._loader import StackHciVerifyCommandsLoader

GLOBAL_OPTIONS = {"--query", "--output", "-o", "--subscription", "--only-show-errors", "--debug", "--verbose",
                  "--help", "-h"}
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"}


@pytest.fixture(name="commands", scope="module")
def fixture_commands():
    """{command name: (argument dests, option strings)} as az loads them."""
    cli = DummyCli()
    loader = StackHciVerifyCommandsLoader(cli_ctx=cli)
    table = loader.load_command_table(None)
    for name in table:
        cli.invocation = SimpleNamespace(data={"command_string": name}, commands_loader=loader)
        loader.command_name = name
        table[name].load_arguments()
        loader.load_arguments(name)
    loader._update_command_definitions()  # pylint: disable=protected-access
    found = {}
    for name, command in table.items():
        options = set()
        for argument in command.arguments.values():
            for option in argument.type.settings.get("options_list") or ():
                options.add(option if isinstance(option, str) else option.target)
        found[name] = (set(command.arguments), options)
    return found


def entries():
    from knack.help_files import helps
    return {name: yaml.safe_load(text) for name, text in helps.items()
            if name == "stack-hci" or name.startswith("stack-hci vm-verification")}


def test_every_command_and_group_has_help_of_its_type(commands):
    helped = entries()
    groups = {" ".join(name.split()[:depth]) for name in commands for depth in range(1, len(name.split()))}
    for name in commands:
        assert helped[name]["type"] == "command", name
    for name in groups:
        assert helped[name]["type"] == "group", name
    assert set(helped) == set(commands) | groups


def test_summaries_are_one_short_line_and_there_is_no_bare_endpoint_url():
    for name, entry in entries().items():
        summary = entry["short-summary"]
        assert "\n" not in summary.strip() and len(summary) <= 100, (name, summary)
        text = yaml.safe_dump(entry)
        assert "http://127." not in text and "http://169.254" not in text, name


def test_every_example_is_one_az_command_with_options_its_command_has(commands):
    for name, entry in entries().items():
        if entry["type"] != "command":
            continue
        examples = entry.get("examples") or []
        assert examples, name
        assert any("--query" in example["text"] for example in examples), name   # a --query example each
        _, options = commands[name]
        for example in examples:
            text = example["text"].strip()
            assert "\n" not in text, (name, text)
            words = shlex.split(text)
            assert words[:len(name.split()) + 1] == ["az", *name.split()], (name, text)
            assert not SHELL_OPERATORS & set(words), (name, text)
            assert "$(" not in text and "`" not in text, (name, text)
            unknown = {word for word in words if word.startswith("-") and word not in options | GLOBAL_OPTIONS}
            assert not unknown, (name, text, unknown)
            assert "--vm-name" not in words or name.endswith("probe"), (name, text)   # deprecated spelling


def test_list_commands_take_no_ids_and_one_vm_commands_name_the_vm_with_n(commands):
    for name, (dests, options) in commands.items():
        if name.split()[-1] == "list":
            assert "ids" not in dests, name          # azdev's no_ids_for_list_commands reads the dests
            assert "cluster_ids" in dests or name == "stack-hci vm-verification list", name
    for name in ("stack-hci vm-verification vm show", "stack-hci vm-verification trusted-launch show"):
        dests, options = commands[name]
        assert {"-n", "--name", "--cluster-name", "--vm-name"} <= options and "vm_name" in dests
