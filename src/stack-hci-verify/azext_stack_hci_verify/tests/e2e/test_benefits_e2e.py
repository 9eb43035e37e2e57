# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Every row of the benefits table and the host prerequisites through the real az, on the sample fleet:
Arc-enabled SQL Server instances (2012, 2014, 2016, 2022), agents below and at 1.39, Arc-enabled servers
with and without Software Assurance, a host without RSAT-Hyper-V-Tools, a host without its vSwitch."""

import json
import os
from datetime import datetime, timezone

import pytest

from .conftest import REPO_ROOT, emulated_az, rebased

pytestmark = pytest.mark.e2e
SAMPLE_FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
HOST_FACTS = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts")
PROD = ("-n", "hci-prod-01", "-g", "rg-hci-prod-eastus")
STORE = ("-n", "hci-store-0017", "-g", "rg-branch-retail", "--subscription", "8c9e4d27-1a3b-4f6c-b2d8-5e7f9a0c1d42")
VM = ("stack-hci", "vm-verification", "vm")
# Microsoft lifecycle: the end of extended support and of the Extended Security Updates.
SQL_2014 = (datetime(2024, 7, 9, tzinfo=timezone.utc), datetime(2027, 7, 13, tzinfo=timezone.utc))
SQL_2016 = (datetime(2026, 7, 14, tzinfo=timezone.utc), datetime(2029, 7, 10, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with emulated_az(tmp_path_factory, "benefits", SAMPLE_FLEET, login="profile", rebase_to="now") as runner:
        yield runner


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("benefit-host-facts")
    return {name: rebased(os.path.join(HOST_FACTS, name + ".json"), directory)
            for name in ("AZL-PROD-01-N1", "AZL-STORE-0017-N1")}


@pytest.fixture(scope="module")
def prod(fleet, files):
    rows = fleet.json(*VM, "list", *PROD, "--host-facts", files["AZL-PROD-01-N1"])
    return {row["name"]: row for row in rows}


def benefit(row, offer):
    return next((item for item in row["benefits"] if item["offer"] == offer), None)


def status(row, offer):
    item = benefit(row, offer)
    return None if item is None else (item["status"], item["eligible"], item["reasonCode"], item["action"])


def esu_expected(lifecycle, active_code="sql-esu-active"):
    today = datetime.now(timezone.utc)
    if today < lifecycle[0]:
        return ("Not applicable", False, "sql-server-in-support", None)
    if today >= lifecycle[1]:
        return ("Inactive", False, "sql-esu-ended", "Upgrade SQL Server")
    return ("Active", True, active_code, None)


def test_the_wac_benefit_and_its_row_agree(prod):
    for row in prod.values():
        wac = [item for item in row["benefits"] if item["benefit"] == row["eligibleBenefit"]]
        assert len(wac) == (1 if row["eligibleBenefit"] else 0), row["name"]
        if wac:
            assert (wac[0]["reasonCode"], wac[0]["action"], wac[0]["command"]) == (
                row["reasonCode"], row["action"], row["command"])


def test_sql_server_esu_by_release(fleet, prod):
    # SQL Server 2014 on Windows Server 2012 R2: through legacy OS networking (v1), set up on this host.
    assert status(prod["esu-sql-2012r2"], "sql-server-esu") == esu_expected(SQL_2014)
    assert benefit(prod["esu-sql-2012r2"], "sql-server-esu")["accessMethod"] == "v1"
    # SQL Server 2016 and 2022 on Windows Server 2019: the older decides; v2, Guest Service Interface is on.
    assert status(prod["app-2019-01"], "sql-server-esu") == esu_expected(SQL_2016)
    assert benefit(prod["app-2019-01"], "sql-server-esu")["accessMethod"] == "v2"
    facts = benefit(prod["app-2019-01"], "sql-server-esu")["facts"]
    assert {item["version"] for item in facts[0]["value"]} == {"SQL Server 2016", "SQL Server 2022"}
    # SQL Server 2022: in support.
    assert status(prod["ae-web-02"], "sql-server-esu") == ("Not applicable", False, "sql-server-in-support", None)
    # No SQL Server: no row.
    assert benefit(prod["ae-web-01"], "sql-server-esu") is None
    # SQL Server 2012 on the store's Windows Server 2008 R2: its Extended Security Updates are over.
    store = {row["name"]: row for row in fleet.json(*VM, "list", *STORE)}
    item = benefit(store["esu-2008r2-01"], "sql-server-esu")
    assert (item["status"], item["eligible"], item["reasonCode"], item["action"]) == (
        "Inactive", False, "sql-esu-ended", "Upgrade SQL Server")
    assert item["command"] is None and item["learnMore"].startswith("https://learn.microsoft.com/")


def test_a_windows_server_2016_arc_enabled_server_with_sql_server_2014(prod):
    row = prod["arc-ws2016-sql"]
    assert row["readFrom"] == "resourceGraph"
    item = benefit(row, "sql-server-esu")
    assert item["eligible"] is True and item["accessMethod"] == "v2"
    # Not an Azure Local VM: its server is not known and Guest Service Interface only a probe can see.
    assert item["status"] in ("Unknown", "Inactive") and item["action"] and (item["command"] or item["learnMore"])
    update = benefit(row, "update-manager")
    assert (update["status"], update["reasonCode"], update["action"]) == (
        "Inactive", "software-assurance-not-attested", "Activate Azure benefits")
    assert update["command"].startswith("New-AzConnectedLicenseProfile -ResourceGroupName 'rg-hci-prod-eastus' "
                                        "-MachineName 'arc-ws2016-sql'")
    assert status(row, "machine-configuration") == ("Inactive", True, "agent-version-below-minimum",
                                                    "Install updates")


def test_agents_below_and_at_1_39(prod):
    assert status(prod["app-2019-01"], "machine-configuration") == (
        "Inactive", True, "agent-version-below-minimum", "Install updates")
    assert "AzureConnectedMachineAgent.msi" in benefit(prod["app-2019-01"], "machine-configuration")["command"]
    assert status(prod["arc-ws2019-sa"], "machine-configuration") == (
        "Active", True, "agent-version-supported", None)
    # Both have no WAC benefit: before, nothing at all was said of them.
    assert prod["app-2019-01"]["benefitStatus"] == prod["arc-ws2019-sa"]["benefitStatus"] == \
        "No applicable benefits"


def test_update_manager_says_which_way(prod):
    assert status(prod["ae-web-01"], "update-manager") == ("Active", True, "azure-local-vm", None)
    assert benefit(prod["ae-web-01"], "update-manager")["through"] == "Azure Local VM"
    assert status(prod["arc-ws2019-sa"], "update-manager") == ("Active", True, "software-assurance-attested", None)
    assert benefit(prod["arc-ws2019-sa"], "update-manager")["through"] == "Software Assurance"


def test_machine_configuration_through_imds(prod):
    assert status(prod["avd-w10-01"], "machine-configuration-imds") == ("Active", True, "imds-reachable", None)
    assert status(prod["ae-web-01"], "machine-configuration-imds")[:3] == (
        "Inactive", True, "legacy-networking-missing")


def test_show_summary_check_and_the_table_tell_the_same(fleet, files, prod):
    view = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--host-facts", files["AZL-PROD-01-N1"])
    summary = {row["offer"]: row for row in view["vmSummary"]["benefits"]}
    for offer, counts in summary.items():
        statuses = [item["status"] for row in prod.values() for item in row["benefits"] if item["offer"] == offer]
        assert counts["total"] == len(statuses) and counts["active"] == statuses.count("Active"), offer
        assert counts["inactive"] == statuses.count("Inactive") and counts["unknown"] == statuses.count("Unknown")
    shown = [f for f in view["findings"] if f["scope"] == "benefit"]
    assert {(f["name"], f["offer"]) for f in shown} == {
        (row["name"], item["offer"]) for row in prod.values() for item in row["benefits"]
        if item["status"] in ("Inactive", "Unknown") and item["benefit"] != row["eligibleBenefit"]}
    result = fleet.run("stack-hci", "vm-verification", "check", *PROD, "--host-facts", files["AZL-PROD-01-N1"],
                       "--fail-on", "benefit-inactive", "-o", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    matched = [f for f in report["findings"] if f["matched"]]
    assert matched and all(f["scope"] == "benefit" and f["status"] == "Inactive" for f in matched)
    assert {(f["name"], f["offer"], f["reasonCode"]) for f in report["findings"] if f["scope"] == "benefit"} == {
        (f["name"], f["offer"], f["reasonCode"]) for f in shown}
    table = fleet.run(*VM, "list", *PROD, "--host-facts", files["AZL-PROD-01-N1"], "-o", "table")
    assert table.returncode == 0 and "Benefits" in table.stdout.splitlines()[0]
    assert max(len(line) for line in table.stdout.splitlines()) and "active" in table.stdout


def test_fail_on_benefit_levels_leave_the_old_gates_alone(fleet):
    trusted = ("-n", "hci-tl-01", "-g", "rg-hci-trusted")
    gate = fleet.run("stack-hci", "vm-verification", "check", *trusted, "--fail-on", "benefit-inactive", "-o", "none")
    assert gate.returncode == 0, gate.stderr
    gate = fleet.run("stack-hci", "vm-verification", "check", *trusted, "--fail-on", "benefit-unknown", "-o", "none")
    assert gate.returncode == 1       # Machine Configuration through IMDS: legacy OS networking unknown from ARM


def test_host_prerequisites(fleet, files, tmp_path):
    view = fleet.json("stack-hci", "vm-verification", "show", *STORE, "--host-facts", files["AZL-STORE-0017-N1"])
    found = {f["reasonCode"]: f for f in view["findings"] if f["scope"] == "server"}
    assert found["rsat-hyper-v-tools-not-installed"]["command"] == \
        "Install-WindowsFeature -Name RSAT-Hyper-V-Tools -IncludeAllSubFeature"
    assert found["cluster-manager-extension-outdated"]["name"] == "AZL-STORE-0017-N1"
    assert "hyper-v-not-installed" not in found
    # Legacy OS support on, the host vSwitch gone: v1 VMs of that server are not green.
    with open(files["AZL-PROD-01-N1"], encoding="utf-8") as handle:
        document = json.load(handle)
    document["hostImdsSwitchPresent"] = False
    path = tmp_path / "no-switch.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    view = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--host-facts", str(path))
    switch = [f for f in view["findings"] if f["reasonCode"] == "host-imds-switch-missing"]
    assert {f["scope"] for f in switch} >= {"server", "vm"}
    rows = {row["name"]: row for row in fleet.json(*VM, "list", *PROD, "--host-facts", str(path))}
    for name in ("avd-w10-01", "esu-sql-2012r2"):
        assert (rows[name]["benefitStatus"], rows[name]["reasonCode"]) == (
            "Inactive benefits", "host-imds-switch-missing"), name
        assert rows[name]["command"] == "Disable-AzStackHCIAttestation -RemoveVM; Enable-AzStackHCIAttestation -AddVM"


def test_one_command_fixes_every_vm_of_a_server(fleet, files):
    view = fleet.json("stack-hci", "vm-verification", "show", *PROD, "--host-facts", files["AZL-PROD-01-N1"])
    networking = [f for f in view["findings"] if f["action"] == "Set up legacy OS networking"]
    assert len({f["name"] for f in networking}) > 1
    assert {f.get("bulkCommand") for f in networking} == {
        "Invoke-Command -ComputerName 'AZL-PROD-01-N1' -ScriptBlock { Add-AzStackHCIVMAttestation -AddAll }"}
