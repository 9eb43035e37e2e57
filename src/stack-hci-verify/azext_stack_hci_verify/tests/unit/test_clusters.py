# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Cluster and server rules: every row and boundary."""

import copy
from datetime import datetime, timedelta, timezone

import pytest

from azext_stack_hci_verify.core import clusters, vocabulary as v
from azext_stack_hci_verify.core.hostfacts import host_facts_from_document

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
CLUSTER_ID = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/local-rg"
              "/providers/Microsoft.AzureStackHCI/clusters/LocalCluster")


def arm_cluster(last_sync=NOW - timedelta(days=2), imds="Enabled", capabilities=("ArcVmManagement", "LegacyOsSupport"),
                status="ConnectedRecently", connectivity="Connected", nodes=("NODE1", "NODE2"), reported=True):
    document = {
        "id": CLUSTER_ID, "name": "LocalCluster", "type": "Microsoft.AzureStackHCI/clusters", "location": "eastus",
        "properties": {
            "status": status, "connectivityStatus": connectivity,
            "lastSyncTimestamp": last_sync if isinstance(last_sync, str) or last_sync is None
            else last_sync.strftime("%Y-%m-%dT%H:%M:%S.%f") + "1Z",
        },
    }
    if reported:
        document["properties"]["reportedProperties"] = {
            "clusterName": "LocalCluster", "imdsAttestation": imds,
            "supportedCapabilities": list(capabilities) if capabilities is not None else None,
            "nodes": [{"name": name, "id": index + 1} for index, name in enumerate(nodes)],
        }
    return document


def evaluate(document, host_documents=(), now=NOW):
    facts = clusters.cluster_facts_from_arm(document)
    hosts = [host_facts_from_document(d, "node{}.json".format(i)) for i, d in enumerate(host_documents)]
    return clusters.evaluate_cluster(facts, hosts, now)


def host_document(name="NODE1", status="Active", legacy="Enabled", imds="Enabled", expiration="2026-12-15T10:00:00Z"):
    return {"schemaVersion": 1, "computerName": name, "collectedAt": "2026-11-20T10:00:00Z",
            "cluster": {"name": "LocalCluster", "imdsAttestation": imds},
            "attestation": [{"computerName": name, "status": status, "expiration": expiration,
                             "legacyOsSupport": legacy}]}


@pytest.mark.parametrize("raw, expected", [
    ("Enabled", v.ON), ("enabled", v.ON), ("Disabled", v.OFF), ("DISABLED", v.OFF),
    (None, v.UNKNOWN), ("Paused", v.UNKNOWN), ("", v.UNKNOWN), (1, v.UNKNOWN),
])
def test_host_status(raw, expected):
    assert clusters.host_status(raw).value == expected


@pytest.mark.parametrize("capabilities, expected", [
    (["LegacyOsSupport"], v.ON), (["ImdsAttestation", "legacy-os-support"], v.ON), (["LEGACYOS"], v.ON),
    (["ArcVmManagement"], v.OFF), ([], v.OFF), (None, v.UNKNOWN), ("LegacyOsSupport", v.UNKNOWN),
])
def test_legacy_os_support_from_capabilities(capabilities, expected):
    assert clusters.legacy_os_support_from_capabilities(capabilities).value == expected


def test_active_cluster_view_shape_and_order():
    view = clusters.cluster_view(evaluate(arm_cluster()))
    assert list(view) == ["name", "id", "resourceGroup", "subscriptionId", "hostStatus", "imdsAttestation",
                          "legacyOsSupport", "supportedCapabilities", "registrationStatus", "connectivityStatus",
                          "lastSync", "attestationExpiresOn", "daysUntilExpiry", "servers", "vmSummary", "findings",
                          "hostFacts", "evaluatedAt"]
    assert view["hostStatus"] == v.ON and view["legacyOsSupport"] == v.ON
    assert view["resourceGroup"] == "local-rg"
    assert view["subscriptionId"] == "11111111-1111-1111-1111-111111111111"
    assert view["daysUntilExpiry"] == 28
    assert [s["status"] for s in view["servers"]] == [v.SERVER_ACTIVE, v.SERVER_ACTIVE]
    assert all(s["statusSource"] == v.SOURCE_ARM for s in view["servers"])
    assert view["findings"] == []
    assert view["evaluatedAt"] == "2026-11-22T12:00:00Z"


def test_seven_digit_fractions_are_read():
    view = clusters.cluster_view(evaluate(arm_cluster(last_sync="2026-11-20T08:15:42.1234567Z")))
    assert view["lastSync"] == "2026-11-20T08:15:42Z"
    assert view["attestationExpiresOn"] == "2026-12-20T08:15:42Z"


@pytest.mark.parametrize("age, expected", [
    (timedelta(days=30) - timedelta(seconds=1), v.SERVER_ACTIVE),
    (timedelta(days=30), v.SERVER_ACTIVE),                          # exactly 30 days: not "more than 30"
    (timedelta(days=30, seconds=1), v.SERVER_EXPIRED),
    (timedelta(days=400), v.SERVER_EXPIRED),
    (timedelta(0), v.SERVER_ACTIVE),
])
def test_thirty_day_boundary(age, expected):
    document = arm_cluster(last_sync=(NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ"))
    servers = evaluate(document).servers
    assert {s.status for s in servers} == {expected}
    if expected == v.SERVER_EXPIRED:
        assert servers[0].action == v.ACTION_SYNC and servers[0].command == v.COMMAND_SYNC


def test_disabled_attestation_makes_servers_inactive():
    verdict = evaluate(arm_cluster(imds="Disabled"))
    assert verdict.host.value == v.OFF
    assert {s.status for s in verdict.servers} == {v.SERVER_INACTIVE}
    codes = [f["reasonCode"] for f in verdict.findings]
    assert "host-attestation-off" in codes


def test_unregistered_cluster_is_unknown_with_reason():
    verdict = evaluate(arm_cluster(reported=False, status="NotYetRegistered", last_sync=None))
    view = clusters.cluster_view(verdict)
    assert view["hostStatus"] == v.UNKNOWN and view["legacyOsSupport"] == v.UNKNOWN
    assert view["servers"] == [] and view["lastSync"] is None and view["daysUntilExpiry"] is None
    assert view["findings"][0]["reasonCode"] == "cluster-not-registered"


def test_registered_but_no_reported_properties_nodes_unknown():
    document = arm_cluster(reported=False)
    assert evaluate(document).host.value == v.UNKNOWN
    document["properties"]["reportedProperties"] = {"nodes": [{"name": "N1"}]}
    servers = evaluate(document).servers
    assert servers[0].status == v.UNKNOWN and servers[0].reason_code == "host-attestation-not-reported"


def test_unknown_future_imds_value_never_crashes():
    verdict = evaluate(arm_cluster(imds="PartiallyEnabled"))
    view = clusters.cluster_view(verdict)
    assert view["hostStatus"] == v.UNKNOWN and view["imdsAttestation"] == "PartiallyEnabled"
    assert {s["status"] for s in view["servers"]} == {v.UNKNOWN}


def test_unreadable_last_sync_is_unknown():
    servers = evaluate(arm_cluster(last_sync="sometime last week")).servers
    assert {s.status for s in servers} == {v.UNKNOWN}
    assert servers[0].reason_code == "last-sync-unknown"


def test_expiring_soon_warns():
    verdict = evaluate(arm_cluster(last_sync=(NOW - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    codes = [f["reasonCode"] for f in verdict.findings]
    assert codes.count("attestation-expiring") == 2


def test_not_connected_warns():
    codes = [f["reasonCode"] for f in evaluate(arm_cluster(connectivity="Disconnected")).findings]
    assert "not-connected" in codes


def test_lower_case_keys_and_type_are_read():
    document = arm_cluster()
    document["type"] = "microsoft.azurestackhci/clusters"
    document["properties"]["LastSyncTimestamp"] = document["properties"].pop("lastSyncTimestamp")
    assert evaluate(document).servers[0].status == v.SERVER_ACTIVE


def test_host_facts_override_arm_for_covered_nodes_only():
    verdict = evaluate(arm_cluster(), [host_document("NODE1", status="Expired", legacy="Disabled")])
    by_name = {s.name: s for s in verdict.servers}
    assert by_name["NODE1"].status == v.SERVER_EXPIRED and by_name["NODE1"].status_source == v.SOURCE_HOST
    assert by_name["NODE1"].action == v.ACTION_SYNC
    assert by_name["NODE2"].status == v.SERVER_ACTIVE and by_name["NODE2"].status_source == v.SOURCE_ARM
    assert verdict.legacy.value == v.OFF


@pytest.mark.parametrize("status, expected", [
    (0, v.SERVER_INACTIVE), (1, v.SERVER_ACTIVE), (2, v.SERVER_EXPIRED), (3, v.SERVER_ERROR), (9, v.UNKNOWN),
    ("Error", v.SERVER_ERROR), ("active", v.SERVER_ACTIVE), ("Frozen", v.UNKNOWN), (None, v.UNKNOWN),
])
def test_host_status_values(status, expected):
    verdict = evaluate(arm_cluster(), [host_document("NODE1", status=status)])
    assert verdict.servers[0].status == expected


def test_host_facts_node_not_in_arm_is_added():
    verdict = evaluate(arm_cluster(nodes=("NODE1",)), [host_document("NODE9")])
    assert [s.name for s in verdict.servers] == ["NODE1", "NODE9"]


def test_host_facts_legacy_on_everywhere_and_host_imds_wins():
    verdict = evaluate(arm_cluster(capabilities=[], imds="Disabled"),
                       [host_document("NODE1", imds="Enabled"), host_document("NODE2")])
    assert verdict.legacy.value == v.ON
    assert verdict.host.value == v.ON


def test_rules_do_not_mutate_input():
    document = arm_cluster()
    before = copy.deepcopy(document)
    evaluate(document)
    assert document == before


def test_host_facts_for_cluster_matches_by_server_name():
    facts = clusters.cluster_facts_from_arm(arm_cluster(nodes=("NODE1", "NODE2")))
    mine = host_facts_from_document(host_document("node1.contoso.local"), "a.json")
    other = host_facts_from_document(host_document("OTHER1"), "b.json")
    assert clusters.host_facts_for_cluster(facts, [mine, other]) == [mine]


def test_host_rows_match_servers_with_or_without_domain():
    verdict = evaluate(arm_cluster(nodes=("NODE1.contoso.local", "NODE2")), [host_document("node1", status="Error")])
    assert [(s.name, s.status, s.status_source) for s in verdict.servers] == [
        ("node1", v.SERVER_ERROR, v.SOURCE_HOST), ("NODE2", v.SERVER_ACTIVE, v.SOURCE_ARM)]
