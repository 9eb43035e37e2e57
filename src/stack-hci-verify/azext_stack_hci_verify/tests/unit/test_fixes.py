# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The exact commands: names are data, quoted as one PowerShell literal on one line."""

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core import fixes

from .core_fixtures import SUB, has_control, literal_value, node_arc_id, read_literal

HOSTILE = "x'; Remove-VM *; '"
CONTROL = "vm\n'; Remove-VM *; '\r\x1b[2J\u2028\x85\u200b"


@pytest.mark.parametrize("name, expected", [
    ("vm01", "'vm01'"),
    ("o'brien", "'o''brien'"),
    ("o\u2019brien", "'o\u2019\u2019brien'"),
    ("\u2018q\u201b", "'\u2018\u2018q\u201b\u201b'"),
    ("web[1]", "'web`[1`]'"),
    ("a?b", "'a`?b'"),
    ("tick`only", "'tick`only'"),
    ("tick`*", "'tick```*'"),
    ("$(Stop-Computer)", "'$(Stop-Computer)'"),
    ('say "hi"', "'say \"hi\"'"),
    (HOSTILE, "'x''; Remove-VM `*; '''"),
])
def test_vm_name_argument(name, expected):
    assert fixes.vm_name_argument(name) == expected


def test_control_characters_become_char_codes_on_one_line():
    literal = fixes.powershell_literal("a\nb")
    assert literal == "('a' + [char]0x000A + 'b')"
    assert literal_value(literal) == "a\nb"
    assert fixes.powershell_literal("") == "''"


@pytest.mark.parametrize("name", ["\n", "\x1f", "\u200b"])
def test_a_name_of_one_control_character_is_still_one_literal(name):
    literal = fixes.powershell_literal(name)
    assert literal.startswith(("(", "'")) and literal_value(literal) == name


@given(st.text())
def test_powershell_literal_never_emits_a_control_character_and_round_trips(text):
    literal = fixes.powershell_literal(text)
    assert not has_control(literal)
    assert "\n" not in literal and "\r" not in literal
    assert literal_value(literal) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs"))))
def test_plain_text_is_a_single_quoted_literal(text):
    literal = fixes.powershell_literal(text)
    assert literal[0] in "'\u2018\u2019\u201a\u201b" and literal_value(literal) == text


@given(st.text())
def test_vm_name_argument_is_one_literal_without_wildcards(text):
    argument = fixes.vm_name_argument(text)
    assert not has_control(argument)
    value = literal_value(argument)
    # The value, read as a wildcard pattern, matches the name only: every wildcard character is escaped.
    unescaped, index = [], 0
    while index < len(value):
        if value[index] == "`" and any(char in "*?[]" for char in text):
            unescaped.append(value[index + 1])
            index += 2
            continue
        assert value[index] not in "*?[]"
        unescaped.append(value[index])
        index += 1
    assert "".join(unescaped) == text


def _commands(name):
    return [fixes.enable_guest_service_interface(name), fixes.enable_data_exchange(name),
            fixes.set_up_legacy_networking(name), fixes.set_up_legacy_networking(name, 1, "Running"),
            fixes.set_up_legacy_networking(name, 1, "Off"), fixes.enable_legacy_os_support(name),
            fixes.install_updates(None, None, name), fixes.probe_command(name)]


@pytest.mark.parametrize("name", [CONTROL, HOSTILE, "tab\there", "esc\x1b]0;title\x07"])
def test_every_command_stays_one_line_with_a_hostile_name(name):
    for command in _commands(name):
        assert command and not has_control(command), command


def test_guest_service_interface_command():
    assert fixes.enable_guest_service_interface("vm01") == \
        'Enable-VMIntegrationService -VMName \'vm01\' -Name "Guest Service Interface"'
    command = fixes.enable_guest_service_interface(CONTROL)
    argument = command.split("-VMName ", 1)[1]
    value, rest = read_literal(argument)
    assert value == CONTROL.replace("*", "`*").replace("[", "`[") and rest == ' -Name "Guest Service Interface"'


def test_data_exchange_command():
    assert fixes.enable_data_exchange("vm01") == \
        'Enable-VMIntegrationService -VMName \'vm01\' -Name "Key-Value Pair Exchange"'


@pytest.mark.parametrize("generation, state, expected", [
    (2, "Running", "Add-AzStackHCIVMAttestation -VMName 'vm01'"),
    (None, None, "Add-AzStackHCIVMAttestation -VMName 'vm01'"),
    (1, "Off", "Add-AzStackHCIVMAttestation -VMName 'vm01'"),
    (1, "off", "Add-AzStackHCIVMAttestation -VMName 'vm01'"),
    (1, "Running", "Stop-VM -Name 'vm01'; Add-AzStackHCIVMAttestation -VMName 'vm01'; Start-VM -Name 'vm01'"),
])
def test_set_up_legacy_networking(generation, state, expected):
    # seed 000: the NIC can be added to a Generation 1 VM only while it is powered off.
    assert fixes.set_up_legacy_networking("vm01", generation, state) == expected


def test_enable_legacy_os_support():
    assert fixes.enable_legacy_os_support() == "Enable-AzStackHCIAttestation"
    assert fixes.enable_legacy_os_support("NODE2") == "Enable-AzStackHCIAttestation -ComputerName 'NODE2'"
    command = fixes.enable_legacy_os_support("NODE\n2'")
    value, rest = read_literal(command.split("-ComputerName ", 1)[1])
    assert (value, rest) == ("NODE\n2'", "")


def test_probe_command_names_the_server():
    assert fixes.probe_command("NODE1") == "az stack-hci vm-verification probe -o json > host-facts-NODE1.json"
    assert "host-facts-NODE1.json" in fixes.probe_command("NODE1.contoso.local")
    assert fixes.probe_command(None).startswith("az stack-hci vm-verification probe")
    for hostile in ("NODE1; rm -rf /", "N\nODE", "a/../../b", "$(reboot)"):
        command = fixes.probe_command(hostile)
        target = command.split(" > ", 1)[1]
        assert not has_control(command) and all(char.isalnum() or char in "._-" for char in target), command


EACH = 'az stack-hci vm-verification probe -o json > "host-facts-$env:COMPUTERNAME.json"'


def test_probe_command_for_several_servers_names_each_of_them():
    # Run on each server, each writes a file named after itself; the line names the servers it is for.
    assert fixes.probe_command(servers=["NODE1", "NODE2"]) == EACH + "  # run on each of: NODE1, NODE2"
    assert fixes.probe_where(servers=["NODE1", "NODE2"]) == "each of NODE1, NODE2"
    assert fixes.probe_command(servers=["NODE1", "node1.contoso.local", None, ""]) == fixes.probe_command("NODE1")
    assert fixes.probe_where(servers=["NODE1"]) == fixes.probe_where("NODE1") == "NODE1"
    assert fixes.probe_command("NODE3", servers=["NODE1", "NODE2"]) == fixes.probe_command("NODE3")


def test_probe_command_with_no_server_known_says_each_server_of_the_cluster():
    for command in (fixes.probe_command(), fixes.probe_command(None, ())):
        assert command == EACH + "  # run on each server of the cluster"
        assert "host-facts-host" not in command
    assert fixes.probe_where() == "each server of the cluster"


@pytest.mark.parametrize("hostile", ["NODE1; rm -rf /", "N\nODE", "a/../../b", "$(reboot)", "x\u2028y"])
def test_probe_command_for_several_servers_stays_one_line_with_hostile_names(hostile):
    command = fixes.probe_command(servers=[hostile, "NODE2"])
    assert not has_control(command) and command.startswith(EACH + "  # ")
    assert not has_control(fixes.probe_where(servers=[hostile, "NODE2"]))


def test_sync_and_update_commands():
    assert fixes.sync_with_azure() == "Sync-AzureStackHCI"
    assert fixes.update_extension() == ("az extension update --name stack-hci-verify || "
                                        "az extension add --upgrade -y --source <newer stack_hci_verify wheel>")


def test_install_updates_through_the_arc_machine_names_the_subscription():
    command = fixes.install_updates(node_arc_id("old'vm"))
    assert command.startswith("Install-AzConnectedMachinePatch -ResourceGroupName 'local-rg' -Name 'old''vm' ")
    assert command.endswith("-SubscriptionId '{}'".format(SUB))


def test_install_updates_over_powershell_direct_without_an_arc_machine():
    assert fixes.install_updates(None, "6f1c0001", "vm01").startswith("Invoke-Command -VMId '6f1c0001' ")
    assert fixes.install_updates(None, None, "vm01").startswith("Invoke-Command -VMName 'vm01' ")


def test_register_with_azure_quotes_every_value():
    command = fixes.register_with_azure("s'1", "rg\nx", "east us")
    assert "-SubscriptionID 's''1'" in command and "-Region 'east us'" in command and not has_control(command)


@pytest.mark.parametrize("name, expected", [("vm01", "vm01"), ("o'brien", "o'brien"), (None, "(unnamed)"),
                                            ("a\nb", "('a' + [char]0x000A + 'b')")])
def test_display_name_keeps_prose_on_one_line(name, expected):
    assert fixes.display_name(name) == expected


@given(st.text())
def test_display_name_never_emits_a_control_character(text):
    assert not has_control(fixes.display_name(text))


# ----------------------------------------------------------------------------- where a fix runs

@pytest.mark.parametrize("command, run_on", [
    (fixes.sync_with_azure(), "server"),
    (fixes.enable_legacy_os_support("NODE1"), "server"),
    (fixes.enable_guest_service_interface("vm01"), "server"),
    (fixes.set_up_legacy_networking("vm01", generation=1, state="Running"), "server"),
    (fixes.install_updates(vm_name="vm01"), "server"),
    (fixes.register_with_azure("s", "g", "eastus"), "server"),
    (fixes.probe_command("NODE1"), "server"),
    (fixes.probe_command(servers=("NODE1", "NODE2")), "server"),
    (fixes.COMMAND_PROBE + " --guest -o json", "vm"),
    (fixes.install_updates(machine_id=node_arc_id("vm01")), "cloudshell"),
    (fixes.update_extension(), "cloudshell"),
    ("az role assignment create --assignee x --role Reader --scope /subscriptions/s", "cloudshell"),
])
def test_every_fix_names_where_it_runs(command, run_on):
    fields = fixes.fix_fields(command)
    assert fields == {"command": command, "runOn": run_on, "learnMore": None}
    assert run_on in fixes.RUN_ON_VALUES


def test_a_documentation_page_is_learn_more_never_a_command():
    page = fixes.feature_update_documentation()
    assert fixes.fix_fields(page) == {"command": None, "runOn": None, "learnMore": page}


def test_no_fix_and_an_unknown_program():
    assert fixes.fix_fields(None) == {"command": None, "runOn": None, "learnMore": None}
    assert fixes.fix_fields("Frobnicate-Thing -Now") == {"command": "Frobnicate-Thing -Now", "runOn": None,
                                                         "learnMore": None}
