# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What a user sees in a terminal, through the real az on the sample fleet: every command's default
table fits 120 columns and names the action while the JSON keeps the command, where it runs and the
page to read; and az's naming (-n is the VM in vm show and trusted-launch show, --cluster-ids in list
commands), with the old spellings still working for one release behind az's deprecation warning."""

import os

import pytest

from .conftest import REPO_ROOT, emulated_az, rebased

pytestmark = pytest.mark.e2e
SAMPLE_FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
HOST_FACTS = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts")
FAKE_POWERSHELL = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
SAMPLE_DOCUMENT = os.path.join(REPO_ROOT, "emulator", "fixtures", "azure-imds-sample",
                               "azure-attested-document-2025-11-19.json")
GROUP = "rg-hci-prod-eastus"
PROD = ("-n", "hci-prod-01", "-g", GROUP)
TRUSTED = ("-n", "hci-tl-01", "-g", "rg-hci-trusted")
DEV_ID = ("/subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/rg-hci-dev/providers/"
          "Microsoft.AzureStackHCI/clusters/hci-dev-01")
BASE = ("stack-hci", "vm-verification")
WIDTH = 120


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fake = {"STACK_HCI_VERIFY_POWERSHELL": os.path.join(FAKE_POWERSHELL, "fake-powershell"),
            "FAKE_POWERSHELL_DATA": os.path.join(FAKE_POWERSHELL, "recordings", "ps7")}
    with emulated_az(tmp_path_factory, "tables", SAMPLE_FLEET, login="profile", env=fake, rebase_to="now") as runner:
        yield runner


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("host-facts")
    return {name: rebased(os.path.join(HOST_FACTS, name + ".json"), directory)
            for name in ("AZL-PROD-01-N1", "AZL-TL-01-N1", "AZL-TL-01-N2-degraded")}


def commands(facts):
    """Every command of the extension, on the scopes and inputs of the sample fleet."""
    tl_facts = ("--host-facts", facts["AZL-TL-01-N1"], facts["AZL-TL-01-N2-degraded"])
    return [
        ("list",), ("list", "--all-subscriptions"), ("list", "-g", GROUP),
        ("show",) + PROD, ("show", "--ids", DEV_ID),
        ("server", "list") + PROD, ("server", "list", "--all-subscriptions"),
        ("vm", "list") + PROD, ("vm", "list") + PROD + ("--host-facts", facts["AZL-PROD-01-N1"]),
        ("vm", "list", "--all-subscriptions"),
        ("vm", "show", "-n", "avd-w10-02", "--cluster-name", "hci-prod-01", "-g", GROUP),
        ("check",), ("check", "--all-subscriptions", "--fail-on", "warning"), ("check",) + TRUSTED + tl_facts,
        ("trusted-launch", "list") + TRUSTED, ("trusted-launch", "list", "--all-subscriptions"),
        ("trusted-launch", "list") + TRUSTED + tl_facts,
        ("trusted-launch", "show", "-n", "tl-attest-bad", "--cluster-name", "hci-tl-01", "-g", "rg-hci-trusted")
        + tl_facts,
        ("attest", "--document", SAMPLE_DOCUMENT, "--at", "2025-11-19T13:46:40Z"),
        ("probe",),
    ]


def test_every_default_table_of_the_sample_fleet_fits_120_columns(fleet, facts):
    widths = {}
    for args in commands(facts):
        result = fleet.run(*BASE, *args, "-o", "table")
        assert result.returncode in (0, 1), (args, result.stderr)        # check --fail-on exits 1
        lines = result.stdout.splitlines()
        assert len(lines) >= 3 and set(lines[1]) == {"-", " "}, (args, result.stdout, result.stderr)
        widths[" ".join(args[:2])] = max(widths.get(" ".join(args[:2]), 0), *(len(line) for line in lines))
        too_wide = [line for line in lines if len(line) > WIDTH]
        assert not too_wide, (args, too_wide)
        assert "Sync-AzureStackHCI" not in result.stdout and "https://" not in result.stdout, args
    assert len(widths) >= 12


def test_the_table_names_the_action_and_the_json_keeps_the_command_where_it_runs_and_the_page(fleet, facts):
    rows = {row["Name"]: row for row in _table_rows(fleet.run(*BASE, "vm", "list", *PROD, "-o", "table"))}
    assert rows["ae-sql-01"]["Action"] == "Install updates"
    vms = {vm["name"]: vm for vm in fleet.json(*BASE, "vm", "list", *PROD)}
    assert vms["ae-sql-01"]["command"].startswith("Install-AzConnectedMachinePatch ")
    assert vms["ae-sql-01"]["runOn"] == "cloudshell" and vms["ae-sql-01"]["learnMore"] is None
    assert vms["avd-w10-20h2"]["command"] is None and vms["avd-w10-20h2"]["runOn"] is None
    assert vms["avd-w10-20h2"]["learnMore"].startswith("https://learn.microsoft.com/")
    script = fleet.run(*BASE, "check", "--query", "findings[?command].command", "-o", "tsv")
    assert script.returncode == 0, script.stderr
    lines = script.stdout.splitlines()
    assert lines and not [line for line in lines if line.startswith(("http://", "https://"))]
    places = fleet.json(*BASE, "check", "--query", "findings[?command].runOn")
    assert set(places) <= {"server", "vm", "cloudshell"} and "server" in places


def _table_rows(result):
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header, rule = lines[0], lines[1]
    spans, start = [], 0
    for part in rule.split("  "):
        if part:
            spans.append((start, start + len(part)))
        start += len(part) + 2
    names = [header[a:b].strip() for a, b in spans]
    return [{name: line[a:b].strip() for name, (a, b) in zip(names, spans)} for line in lines[2:]]


def test_vm_show_and_trusted_launch_show_name_the_vm_with_n(fleet):
    new = fleet.run(*BASE, "vm", "show", "-n", "ae-sql-01", "--cluster-name", "hci-prod-01", "-g", GROUP,
                    "-o", "json")
    assert new.returncode == 0 and "deprecated" not in new.stderr, new.stderr
    old = fleet.run(*BASE, "vm", "show", *PROD, "--vm-name", "ae-sql-01", "-o", "json")
    assert old.returncode == 0, old.stderr
    assert "Option '--vm-name' has been deprecated" in old.stderr and "Use '--name' instead" in old.stderr
    assert "-n now names the VM" in old.stderr
    assert old.stdout == new.stdout
    shown = fleet.json(*BASE, "trusted-launch", "show", "--name", "tl-sb-off", "--cluster-name", "hci-tl-01",
                       "-g", "rg-hci-trusted")
    assert shown["name"] == "tl-sb-off"
    legacy = fleet.run(*BASE, "trusted-launch", "show", *TRUSTED, "--vm-name", "tl-sb-off", "-o", "json")
    assert legacy.returncode == 0 and "deprecated" in legacy.stderr, legacy.stderr
    unnamed = fleet.run(*BASE, "trusted-launch", "show", "--cluster-name", "hci-tl-01", "-g", "rg-hci-trusted")
    assert unnamed.returncode == 1 and "No VM was named" in unnamed.stderr and "Traceback" not in unnamed.stderr
    shown_vm = fleet.json(*BASE, "vm", "show", "-n", "tl-sb-off", "--cluster-name", "hci-tl-01", "-g",
                          "rg-hci-trusted")
    assert shown_vm["trustedLaunch"]["name"] == "tl-sb-off"


def test_list_commands_take_cluster_ids_and_ids_is_deprecated(fleet):
    for group in (("server",), ("vm",), ("trusted-launch",)):
        new = fleet.run(*BASE, *group, "list", "--cluster-ids", DEV_ID, "-o", "json")
        assert new.returncode == 0 and "deprecated" not in new.stderr, new.stderr
        old = fleet.run(*BASE, *group, "list", "--ids", DEV_ID, "-o", "json")
        assert old.returncode == 0, old.stderr
        assert "Option '--ids' has been deprecated" in old.stderr and "'--cluster-ids'" in old.stderr
        assert old.stdout == new.stdout
    both = fleet.run(*BASE, "vm", "list", "--cluster-ids", DEV_ID, "-g", GROUP)
    assert both.returncode == 1 and "--cluster-ids" in both.stderr and "Traceback" not in both.stderr


def test_help_of_every_command_has_one_line_summaries_and_no_bare_endpoint_urls(fleet):
    for args in (("stack-hci",), BASE, (*BASE, "show"), (*BASE, "list"), (*BASE, "check"), (*BASE, "attest"),
                 (*BASE, "probe"), (*BASE, "server", "list"), (*BASE, "vm", "list"), (*BASE, "vm", "show"),
                 (*BASE, "trusted-launch", "list"), (*BASE, "trusted-launch", "show")):
        result = fleet.run(*args, "-h")
        assert result.returncode == 0, result.stderr
        assert "http://127.0.0.1" not in result.stdout and "http://169.254" not in result.stdout, args
        assert "Default: 60. " not in result.stdout and "Default: 10. " not in result.stdout, args
        assert " > " not in result.stdout and "||" not in result.stdout, args
    subscriptions = fleet.run(*BASE, "list", "-h").stdout
    assert "global --subscription" in " ".join(subscriptions.split())
