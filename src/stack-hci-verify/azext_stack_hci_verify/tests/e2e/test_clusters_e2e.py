# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`show`, `list` and `server list` through the real az against the emulator."""

import json

import pytest

from .conftest import OTHER_SUBSCRIPTION, SUBSCRIPTION, cluster_id

pytestmark = pytest.mark.e2e
GROUP = "rg-e2e"


def test_show_healthy_cluster(az):
    view = az.json("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP)
    assert view["name"] == "healthy" and view["resourceGroup"] == GROUP and view["subscriptionId"] == SUBSCRIPTION
    assert view["hostStatus"] == "On" and view["imdsAttestation"] == "Enabled"
    assert view["legacyOsSupport"] == "On"
    assert view["supportedCapabilities"] == ["ArcVmManagement", "LegacyOsSupport"]
    assert view["daysUntilExpiry"] == 27
    assert [(s["name"], s["status"], s["statusSource"]) for s in view["servers"]] == [
        ("NODE1", "Active", "arm"), ("NODE2", "Active", "arm")]
    assert view["findings"] == []


def test_show_by_ids_and_query(az):
    result = az.run("stack-hci", "vm-verification", "show", "--ids", cluster_id(GROUP, "stale"),
                    "--query", "{host:hostStatus, servers:servers[].status, fix:findings[0].command}", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"host": "On", "servers": ["Expired", "Expired"],
                                         "fix": "Sync-AzureStackHCI"}


def test_show_table_has_fixed_columns(az):
    result = az.run("stack-hci", "vm-verification", "show", "-n", "disabled", "-g", GROUP, "-o", "table")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header == ["Name", "ResourceGroup", "Host", "LegacyOs", "Servers", "DaysLeft", "Action"]
    assert "Off" in result.stdout and "Sync with Azure" in result.stdout
    assert "Sync-AzureStackHCI" not in result.stdout           # the command is in the JSON


def test_unregistered_and_unknown_values(az):
    unregistered = az.json("stack-hci", "vm-verification", "show", "-n", "unregistered", "-g", GROUP)
    assert unregistered["hostStatus"] == "Unknown" and unregistered["servers"] == []
    assert unregistered["findings"][0]["reasonCode"] == "cluster-not-registered"
    future = az.json("stack-hci", "vm-verification", "show", "-n", "future", "-g", GROUP)
    assert future["hostStatus"] == "Unknown" and future["imdsAttestation"] == "SomethingNew"


def test_list_follows_every_page(az):
    az.emulator.clear_requests()
    views = az.json("stack-hci", "vm-verification", "list")
    names = [view["name"] for view in views]
    assert sorted(names) == ["disabled", "future", "healthy", "other-1", "stale", "unregistered"]
    graph = [r for r in az.emulator.requests() if "microsoft.resourcegraph/resources" in r["path"].lower()]
    assert len(graph) == 2   # the clusters query and the VMs query, one page each
    by_name = {view["name"]: view for view in views}
    # supportedCapabilities without a known legacy OS token proves nothing: Unknown, never Off.
    assert by_name["other-1"]["legacyOsSupport"] == "Unknown"
    assert by_name["stale"]["daysUntilExpiry"] < 0


def test_list_resource_group_and_other_subscription(az):
    views = az.json("stack-hci", "vm-verification", "list", "-g", "rg-other")
    assert [view["name"] for view in views] == ["other-1"]
    views = az.json("stack-hci", "vm-verification", "list", "--subscription", OTHER_SUBSCRIPTION)
    assert [view["name"] for view in views] == ["elsewhere"]


def test_list_tsv(az):
    result = az.run("stack-hci", "vm-verification", "list", "-g", GROUP, "--query", "[].[name, hostStatus]",
                    "-o", "tsv")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["disabled", "Off"] in rows and ["healthy", "On"] in rows and ["unregistered", "Unknown"] in rows


def test_server_list(az):
    rows = az.json("stack-hci", "vm-verification", "server", "list", "-n", "disabled", "-g", GROUP)
    assert [(r["name"], r["status"], r["action"], r["command"], r["runOn"]) for r in rows] == [
        ("NODE1", "Inactive", "Sync with Azure", "Sync-AzureStackHCI", "server"),
        ("NODE2", "Inactive", "Sync with Azure", "Sync-AzureStackHCI", "server")]
    table = az.run("stack-hci", "vm-verification", "server", "list", "-n", "healthy", "-g", GROUP, "-o", "table")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["Name", "Status", "Source", "LegacyOs", "ExpiresOn", "Action"]


def test_server_list_with_host_facts(az, tmp_path, now):
    # Collected after ARM's last sync (two days ago), so the host's own report is the newer one.
    facts = {"schemaVersion": 1, "computerName": "NODE2", "collectedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "attestation": {"computerName": "NODE2", "status": 3, "expiration": "\\/Date(1765792800000)\\/",
                             "legacyOsSupport": 0}}
    path = tmp_path / "node2.json"
    path.write_text(json.dumps(facts), encoding="utf-16")
    rows = az.json("stack-hci", "vm-verification", "server", "list", "-n", "healthy", "-g", GROUP,
                   "--host-facts", str(path))
    by_name = {r["name"]: r for r in rows}
    assert by_name["NODE1"]["statusSource"] == "arm" and by_name["NODE1"]["status"] == "Active"
    assert by_name["NODE2"]["statusSource"] == "host" and by_name["NODE2"]["status"] == "Error"
    assert by_name["NODE2"]["legacyOsSupport"] == "Off"


def test_not_found_exits_3(az):
    result = az.run("stack-hci", "vm-verification", "show", "-n", "nope", "-g", GROUP)
    assert result.returncode == 3
    assert "Cluster 'nope'" in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--ids", "not-an-id"], "is not a resource ID"),
    (["--ids", "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
      .format(SUBSCRIPTION)], "is not an Azure Local cluster ID"),
    (["-n", "healthy"], "--resource-group/-g is required"),
    ([], "--cluster-name/-n"),
])
def test_bad_cluster_reference(az, args, fragment):
    result = az.run("stack-hci", "vm-verification", "show", *args)
    assert result.returncode == 2 or result.returncode == 1
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_throttling_then_success(az):
    az.emulator.add_fault(r"/clusters/healthy$", status=429, retry_after=1, count=2)
    view = az.json("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP)
    assert view["hostStatus"] == "On"
    statuses = [r["status"] for r in az.emulator.requests() if r["path"].endswith("/clusters/healthy")]
    assert statuses[-3:] == [429, 429, 200]


def test_transient_server_error_then_success(az):
    az.emulator.add_fault(r"/clusters/healthy$", status=503, count=1)
    assert az.json("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP)["name"] == "healthy"


def test_forbidden_names_the_scope(az):
    az.emulator.add_fault(r"/resourceGroups/rg-e2e/providers/Microsoft.AzureStackHCI/clusters/healthy$", status=403)
    result = az.run("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP)
    assert result.returncode == 1
    assert "/resourceGroups/rg-e2e/providers/Microsoft.AzureStackHCI/clusters/healthy" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert "Traceback" not in result.stderr and len(errors) == 1
    assert "Microsoft.AzureStackHCI/clusters/read" in errors[0] and "Reader" not in errors[0]
    recommendation = result.stderr.split(errors[0], 1)[1]      # the fix: on its own line, after the error
    assert "Reader" in recommendation and "az role assignment create" in recommendation


@pytest.mark.parametrize("content, fragment", [
    (None, "does not exist"),
    ("{broken", "is not valid JSON"),
    ('{"schemaVersion": 2}', "schemaVersion 2"),
])
def test_bad_host_facts_file_is_named(az, tmp_path, content, fragment):
    path = tmp_path / "node1.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = az.run("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP, "--host-facts", str(path))
    assert result.returncode == 1
    assert str(path) in result.stderr and fragment in result.stderr and "Traceback" not in result.stderr


def test_deeply_nested_host_facts_file_is_named(az, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200000 + "]" * 200000, encoding="utf-8")
    result = az.run("stack-hci", "vm-verification", "show", "-n", "healthy", "-g", GROUP, "--host-facts", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and str(path) in errors[0] and "nested too deeply" in errors[0]
    assert "recursion" not in result.stderr
    assert "probe -o json" in result.stderr           # what to give instead, as the recommendation


def test_forbidden_list_names_the_clusters_permission(az):
    az.emulator.add_fault(r"/resourceGroups/rg-e2e/providers/Microsoft.AzureStackHCI/clusters$", status=403)
    az.emulator.add_fault(r"/providers/Microsoft.ResourceGraph/resources", status=403)   # so ARM is asked
    result = az.run("stack-hci", "vm-verification", "list", "-g", GROUP)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "Microsoft.AzureStackHCI/clusters/read" in errors[0]
    assert "/subscriptions/{}/resourceGroups/{}".format(SUBSCRIPTION, GROUP) in errors[0]


def test_list_through_a_gateway_error_page(az):
    for path in (r"/providers/Microsoft.AzureStackHCI/clusters$", r"/providers/Microsoft.ResourceGraph/resources"):
        az.emulator.add_fault(path, status=502, content_type="text/html",
                              body="<html><head><title>502 Bad Gateway</title></head><body>upstream</body></html>")
    result = az.run("stack-hci", "vm-verification", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "502 Bad Gateway" in errors[0] and "JSON" not in result.stderr


def test_one_unreadable_cluster_among_several_is_reported_and_the_rest_come_back(az):
    """DESIGN: one cluster failing (404, 403) is reported in the result for that item."""
    missing = cluster_id(GROUP, "nope")
    result = az.run("stack-hci", "vm-verification", "show", "--ids", cluster_id(GROUP, "healthy"), missing,
                    "-o", "json")
    assert result.returncode == 0, result.stderr
    views = {view["name"]: view for view in json.loads(result.stdout)}
    assert views["healthy"]["hostStatus"] == "On"
    gone = views["nope"]
    assert (gone["hostStatus"], gone["reasonCode"], gone["id"]) == ("Unknown", "cluster-not-readable", missing)
    assert [(f["severity"], f["reasonCode"]) for f in gone["findings"]] == [("error", "cluster-not-readable")]
    assert gone["findings"][0]["action"] and "not found" in result.stderr
    rows = az.json("stack-hci", "vm-verification", "server", "list", "--cluster-ids", cluster_id(GROUP, "healthy"),
                   missing)
    assert {row["cluster"] for row in rows} == {"healthy"}
    alone = az.run("stack-hci", "vm-verification", "show", "--ids", missing)
    assert alone.returncode == 3 and "Traceback" not in alone.stderr
