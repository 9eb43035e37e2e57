# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Verdicts a governance script can trust, through the real az: host facts bound to time and system,
one meaning per status, an action for every non-green verdict, malformed documents contained.
Every expected answer comes from the product rules (DESIGN: "What the statuses mean", "Facts from
several sources"), not from what the code happens to do."""

import json
from datetime import timedelta

import pytest

from .conftest import azure_local_vm, cluster_document, emulated_az, host_file, write_documents

pytestmark = pytest.mark.e2e
GROUP = "rg-verdicts"
BAD_GROUP = "rg-malformed"
VM = ("stack-hci", "vm-verification", "vm")
SHOW = ("stack-hci", "vm-verification", "show")
AE_2022 = ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2402")
W10_MS = ("Windows 10 Enterprise multi-session", "10.0.19045.4291")
HOSTILE = "evil\nRemove-Item -Recurse C:\\ #'\u2028x"


def machine(cluster, name, os_name, os_version, server="NODE1"):
    return azure_local_vm(GROUP, cluster, name, os_name, os_version, server)


def _fleet_documents(now):
    clusters = [
        cluster_document(GROUP, "stale", now, sync_age=timedelta(days=40), nodes=("NODE1",)),
        cluster_document(GROUP, "c", now, nodes=("NODE1", "NODE2")),
        cluster_document(GROUP, "nocap", now, capabilities=("ArcVmManagement",)),
        cluster_document(GROUP, "partial", now, imds="PartiallyEnabled"),
        cluster_document(GROUP, "unreadable", now),
        cluster_document(GROUP, "future", now, sync_age=timedelta(days=-3650)),
    ]
    noreport = cluster_document(GROUP, "noreport", now)
    del noreport["properties"]["reportedProperties"]
    clusters.append(noreport)
    clusters[4]["properties"]["lastSyncTimestamp"] = "last Tuesday"
    vms = (machine("stale", "ae-stale", *AE_2022)
           + machine("c", "ae-2025", "Windows Server 2025 Datacenter: Azure Edition", "10.0.26100.1742")
           + machine("c", "w10-20h2", "Windows 10 Enterprise multi-session", "10.0.19042.1706")
           + machine("c", "w10-ms", *W10_MS, server="NODE2")
           + machine("nocap", "w10-nocap", *W10_MS)
           + machine("nocap", "esu-nocap", "Windows Server 2012 R2 Datacenter", "6.3.9600")
           + machine("partial", "ae-old", "Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.1000")
           + machine("noreport", "ae-noreport", "Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.1000")
           + machine("c", "ae-nohost", *AE_2022, server="NODE1"))
    bad = []
    for name, path, value in (("bad-status", ("properties", "status"), 123),
                              ("bad-connectivity", ("properties", "connectivityStatus"), ["Connected"]),
                              ("bad-name", ("name",), {"value": "x"}),
                              ("bad-reported", ("properties", "reportedProperties"), "Enabled"),
                              ("bad-capabilities", ("properties", "reportedProperties", "supportedCapabilities"),
                               "LegacyOsSupport"),
                              ("bad-nodes", ("properties", "reportedProperties", "nodes"), ["NODE1", 7, {"x": 1}])):
        document = cluster_document(BAD_GROUP, name, now)
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        bad.append(document)
    bad.append(cluster_document(BAD_GROUP, "good", now))
    return clusters + vms + bad


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory, now):
    fixtures = tmp_path_factory.mktemp("verdicts-fleet")
    write_documents(fixtures, _fleet_documents(now))
    with emulated_az(tmp_path_factory, "verdicts", fixtures, page_size=3) as runner:
        yield runner


def by_name(rows):
    return {row["name"]: row for row in rows}


def codes(view):
    return {finding["reasonCode"] for finding in view["findings"]}


# ----------------------------------------------------------------------------- facts bound to time


def test_expired_host_row_beside_old_sync_is_expired_and_vm_inactive(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, cluster="stale",
                      rows=[("NODE1", "Active", now - timedelta(days=10), "Enabled")],
                      vms=[{"name": "ae-stale", "guestOs": {"name": AE_2022[0], "version": AE_2022[1]}}])
    servers = verdicts.json("stack-hci", "vm-verification", "server", "list", "-n", "stale", "-g", GROUP,
                            "--host-facts", facts)
    assert [(s["name"], s["status"], s["action"]) for s in servers] == [("NODE1", "Expired", "Sync with Azure")]
    assert "in -" not in json.dumps(servers)
    vm = verdicts.json(*VM, "show", "-n", "ae-stale", "--cluster-name", "stale", "-g", GROUP, "--host-facts", facts)
    assert (vm["benefitStatus"], vm["action"], vm["command"]) == (
        "Inactive benefits", "Sync with Azure", "Sync-AzureStackHCI")


def test_a_file_collected_60_days_ago_makes_nothing_green(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "old.json", now, cluster="stale", age=timedelta(days=60),
                      rows=[("NODE1", "Active", now + timedelta(days=20), "Enabled")],
                      vms=[{"name": "ae-stale", "guestOs": {"name": AE_2022[0], "version": AE_2022[1]}}])
    view = verdicts.json(*SHOW, "-n", "stale", "-g", GROUP, "--host-facts", facts)
    assert "host-facts-stale" in codes(view)
    assert all(server["status"] != "Active" for server in view["servers"])
    vm = verdicts.json(*VM, "show", "-n", "ae-stale", "--cluster-name", "stale", "-g", GROUP, "--host-facts", facts)
    assert vm["benefitStatus"] != "Active benefits" and vm["action"] and vm["command"]


# ----------------------------------------------------------------------------- facts bound to a system


def test_a_file_of_another_system_is_ignored(verdicts, now, tmp_path):
    foreign = host_file(str(tmp_path), "other.json", now, cluster="OtherCluster", computer="OTHER1", imds="Disabled")
    result = verdicts.run(*SHOW, "-n", "c", "-g", GROUP, "--host-facts", foreign, "-o", "json")
    view = json.loads(result.stdout)
    assert view["hostStatus"] == "On"
    assert [server["name"] for server in view["servers"]] == ["NODE1", "NODE2"]
    assert view["hostFacts"] == [] and "Host facts file" in result.stderr and "other.json" in result.stderr


def test_host_status_does_not_depend_on_file_order(verdicts, now, tmp_path):
    first = host_file(str(tmp_path), "n1.json", now, computer="NODE1", imds="Disabled")
    second = host_file(str(tmp_path), "n2.json", now, computer="NODE2", imds="Enabled")
    one = verdicts.json(*SHOW, "-n", "c", "-g", GROUP, "--host-facts", first, second)
    other = verdicts.json(*SHOW, "-n", "c", "-g", GROUP, "--host-facts", second, first)
    assert one["hostStatus"] == other["hostStatus"] == "Off"
    assert one["conflicts"] == other["conflicts"] and one["conflicts"]
    assert one["findings"] == other["findings"]


# ----------------------------------------------------------------------------- one meaning per status


def test_undocumented_capabilities_are_not_off(verdicts):
    view = verdicts.json(*SHOW, "-n", "nocap", "-g", GROUP)
    assert view["legacyOsSupport"] == "Unknown"
    rows = by_name(verdicts.json(*VM, "list", "-n", "nocap", "-g", GROUP))
    for name in ("w10-nocap", "esu-nocap"):
        assert rows[name]["action"] != "Turn on legacy OS support", rows[name]
        assert rows[name]["benefitStatus"] == "Unknown" and rows[name]["action"] == "Collect host facts"


def test_unrecognized_host_value_is_unknown_first(verdicts):
    row = by_name(verdicts.json(*VM, "list", "-n", "partial", "-g", GROUP))["ae-old"]
    assert (row["benefitStatus"], row["reasonCode"], row["action"]) == (
        "Unknown", "unrecognized-value", "Update the extension")
    assert "PartiallyEnabled" in row["reason"] and "no imdsAttestation was reported" not in row["reason"]


def test_registered_cluster_without_reported_properties_is_inactive_with_the_host_fix(verdicts):
    row = by_name(verdicts.json(*VM, "list", "-n", "noreport", "-g", GROUP))["ae-noreport"]
    assert (row["benefitStatus"], row["action"], row["command"]) == (
        "Inactive benefits", "Sync with Azure", "Sync-AzureStackHCI")
    view = verdicts.json(*SHOW, "-n", "noreport", "-g", GROUP)
    assert "not registered" not in json.dumps(view)


def test_every_non_green_verdict_has_an_action_and_a_command(verdicts):
    non_green_vms, non_active_servers = [], []
    for cluster in ("c", "nocap", "partial", "noreport", "stale"):
        rows = verdicts.json(*VM, "list", "-n", cluster, "-g", GROUP)
        assert rows, "cluster {} has VMs".format(cluster)
        non_green_vms += [row for row in rows
                          if row["benefitStatus"] not in ("Active benefits", "No applicable benefits")]
        view = verdicts.json(*SHOW, "-n", cluster, "-g", GROUP)
        assert view["servers"] or cluster == "noreport", "cluster {} reports its servers".format(cluster)
        non_active_servers += [server for server in view["servers"] if server["status"] != "Active"]
    assert non_green_vms and non_active_servers  # the fleet has something to act on
    for row in non_green_vms:      # the fix: a command with where it runs, or the page to follow
        assert row["action"] and row["reasonCode"], row
        assert (row["command"] and row["runOn"]) or (row["learnMore"] and not row["command"]), row
    for server in non_active_servers:
        assert server["action"] and server["command"] and server["runOn"] in ("server", "cloudshell"), server


def test_without_host_files_unknown_vms_are_told_to_collect_host_facts(verdicts):
    row = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP))["ae-nohost"]
    assert (row["benefitStatus"], row["reasonCode"], row["action"]) == (
        "Unknown", "host-facts-needed", "Collect host facts")
    assert row["command"].startswith("az stack-hci vm-verification probe") and "NODE1" in row["command"]


def test_unreadable_and_future_last_sync_raise_warnings(verdicts):
    unreadable = verdicts.json(*SHOW, "-n", "unreadable", "-g", GROUP)
    assert any(f["severity"] == "warning" and f["reasonCode"] == "last-sync-unknown" for f in unreadable["findings"])
    table = verdicts.run(*SHOW, "-n", "unreadable", "-g", GROUP, "-o", "table")
    first_action = next(f["action"] for f in unreadable["findings"] if f["action"])
    assert first_action in table.stdout
    future = verdicts.json(*SHOW, "-n", "future", "-g", GROUP)
    assert {server["status"] for server in future["servers"]} == {"Unknown"}
    assert any(f["severity"] == "warning" and f["reasonCode"] == "clock-skew" for f in future["findings"])


def test_releases_the_table_did_not_list(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, vms=[
        {"name": "ae-2025", "guestOs": {"name": "Windows Server 2025 Datacenter: Azure Edition",
                                        "version": "10.0.26100.1742"}},
        {"name": "w10-20h2", "guestOs": {"name": "Windows 10 Enterprise multi-session", "version": "10.0.19042.1706"}},
    ])
    rows = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts))
    assert rows["ae-2025"]["eligibleBenefit"] == "Windows Server Datacenter: Azure Edition"
    assert rows["ae-2025"]["benefitStatus"] == "Active benefits"
    old = rows["w10-20h2"]
    assert (old["benefitStatus"], old["action"], old["reasonCode"]) == (
        "Inactive benefits", "Install updates", "feature-update-needed")
    assert "feature update" in old["reason"]


def test_data_exchange_os_wins_over_arm_sku(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, vms=[
        {"name": "ae-nohost", "guestOs": {"name": "Windows Server 2022 Datacenter", "version": "10.0.20348.2402"}}])
    row = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts))["ae-nohost"]
    assert (row["guestOs"], row["benefitStatus"]) == ("Windows Server 2022 Datacenter", "No applicable benefits")


def test_access_method_is_the_path_the_benefit_uses(verdicts, now, tmp_path):
    rows = [("NODE1", "Active", now + timedelta(days=25), "Enabled"),
            ("NODE2", "Active", now + timedelta(days=25), "Enabled")]
    facts = host_file(str(tmp_path), "n2.json", now, computer="NODE2", rows=rows, vms=[
        {"name": "w10-ms", "guestOs": {"name": W10_MS[0], "version": W10_MS[1]}}])
    row = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts))["w10-ms"]
    assert (row["benefitStatus"], row["accessMethod"], row["accessPaths"]) == ("Active benefits", "v1", ["v2", "v1"])


def test_legacy_os_support_off_on_one_server_names_it(verdicts, now, tmp_path):
    rows = [("NODE1", "Active", now + timedelta(days=25), "Enabled"),
            ("NODE2", "Active", now + timedelta(days=25), "Disabled")]
    facts = host_file(str(tmp_path), "n2.json", now, computer="NODE2", rows=rows, vms=[
        {"name": "w10-ms", "guestOs": {"name": W10_MS[0], "version": W10_MS[1]}}])
    row = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts))["w10-ms"]
    assert (row["action"], row["command"]) == (
        "Turn on legacy OS support", "Enable-AzStackHCIAttestation -ComputerName 'NODE2'")


def test_generation_1_vm_that_is_off_is_not_stopped(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, vms=[
        {"name": "gen1-off", "generation": 1, "state": "Off", "legacyNetworking": False,
         "guestOs": {"name": W10_MS[0], "version": W10_MS[1]}},
        {"name": "gen1-on", "generation": 1, "state": "Running", "legacyNetworking": False,
         "guestOs": {"name": W10_MS[0], "version": W10_MS[1]}}])
    rows = by_name(verdicts.json(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts))
    assert rows["gen1-off"]["command"] == "Add-AzStackHCIVMAttestation -VMName 'gen1-off'"
    assert "Stop-VM" not in rows["gen1-off"]["reason"]
    assert rows["gen1-on"]["command"].startswith("Stop-VM -Name 'gen1-on'; Add-AzStackHCIVMAttestation")


# ----------------------------------------------------------------------------- robustness


def test_one_malformed_cluster_never_sinks_the_list(verdicts):
    rows = by_name(verdicts.json("stack-hci", "vm-verification", "list", "-g", BAD_GROUP))
    assert len(rows) == 7 and rows["good"]["hostStatus"] == "On"
    malformed = sorted(name for name in rows if name.startswith("bad-") and name != "bad-name")
    assert malformed == ["bad-capabilities", "bad-connectivity", "bad-nodes", "bad-reported", "bad-status"]
    for name in malformed:
        assert rows[name]["hostStatus"] == "Unknown", rows[name]
        assert "malformed-resource" in codes(rows[name]), rows[name]
    table = verdicts.run("stack-hci", "vm-verification", "list", "-g", BAD_GROUP, "-o", "table")
    assert table.returncode == 0 and "Traceback" not in table.stderr


def test_a_plain_string_node_is_a_server_name(verdicts):
    view = verdicts.json(*SHOW, "-n", "bad-nodes", "-g", BAD_GROUP)
    assert [server["name"] for server in view["servers"]] == ["NODE1"]


def test_hostile_vm_name_stays_one_line_and_one_literal(verdicts, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, vms=[
        {"name": HOSTILE, "guestServiceInterface": False,
         "guestOs": {"name": AE_2022[0], "version": AE_2022[1]}}])
    result = verdicts.run(*VM, "list", "-n", "c", "-g", GROUP, "--host-facts", facts,
                          "--query", "[?benefitStatus=='Inactive benefits'].command", "-o", "tsv")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line]
    hostile = [line for line in lines if "evil" in line]
    assert len(hostile) == 1 and "Remove-Item" in hostile[0]
    assert hostile[0] == ("Enable-VMIntegrationService -VMName ('evil' + [char]0x000A + 'Remove-Item -Recurse "
                          "C:\\ #''' + [char]0x2028 + 'x') -Name \"Guest Service Interface\"")
