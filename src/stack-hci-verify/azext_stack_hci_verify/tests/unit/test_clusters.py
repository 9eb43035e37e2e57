# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The cluster verdict: hostStatus, legacyOsSupport, every server, the findings, and ARM documents
as real systems write them (wrong types included)."""

import copy
import json
from datetime import timedelta

import pytest

from azext_stack_hci_verify._format import transform_cluster_show
from azext_stack_hci_verify.core import clusters, vocabulary as v

from .core_fixtures import CLUSTER_ID, NOW, arm_cluster, evaluate, finding_codes, has_control, host, host_document


def view_of(document, hosts=(), now=NOW):
    return clusters.cluster_view(evaluate(document, hosts, now))


def findings_about(view, code):
    return [item for item in view["findings"] if item["reasonCode"] == code]


# ----------------------------------------------------------------------------- host status, legacy OS support

@pytest.mark.parametrize("raw, expected", [
    ("Enabled", v.ON), ("enabled", v.ON), ("Disabled", v.OFF), ("DISABLED", v.OFF),
    (None, v.UNKNOWN), ("PartiallyEnabled", v.UNKNOWN), ("Pending", v.UNKNOWN), ("", v.UNKNOWN),
])
def test_host_status(raw, expected):
    verdict = clusters.host_status(raw)
    assert verdict.value == expected
    if expected != v.ON:
        assert verdict.action and verdict.command and verdict.reason_code


def test_unrecognized_host_status_names_the_value():
    verdict = clusters.host_status("PartiallyEnabled")
    assert verdict.reason_code == v.REASON_UNRECOGNIZED_VALUE and "PartiallyEnabled" in verdict.reason
    assert "no imdsAttestation was reported" not in verdict.reason.replace("No ", "no ")


def test_disabled_host_status_does_not_promise_that_a_sync_turns_it_on():
    # issue 7: the seed does not say that a sync turns it back on.
    reason = clusters.host_status("Disabled").reason.lower()
    assert "turns it back on" not in reason and "turn it back on" not in reason


def test_disabled_host_status_cites_the_public_document_by_its_title():
    reason = clusters.host_status("Disabled").reason
    assert "seed" not in reason.lower()
    assert "Azure verification for VMs on Azure Local" in reason


@pytest.mark.parametrize("capabilities", [["LegacyOsSupport"], ["ImdsAttestation", "legacy-os-support"],
                                          ["LEGACYOS"]])
def test_legacy_os_support_on_for_a_known_token(capabilities):
    assert clusters.legacy_os_support_from_capabilities(capabilities).value == v.ON


@pytest.mark.parametrize("capabilities", [["ArcVmManagement"], [], None, ["ImdsAttestation"]])
def test_legacy_os_support_is_never_off_from_arm(capabilities):
    # issue 7: undocumented values prove nothing; absence is Unknown, not Off.
    assert clusters.legacy_os_support_from_capabilities(capabilities).value == v.UNKNOWN


def test_unknown_capabilities_make_the_cluster_legacy_os_support_unknown():
    view = view_of(arm_cluster(capabilities=["ArcVmManagement"]))
    assert view["legacyOsSupport"] == v.UNKNOWN
    assert view["supportedCapabilities"] == ["ArcVmManagement"]
    assert v.ACTION_TURN_ON_LEGACY_OS_SUPPORT not in [item["action"] for item in view["findings"]]


# ----------------------------------------------------------------------------- the view

def test_active_cluster_view():
    view = view_of(arm_cluster())
    for key in ("name", "id", "resourceGroup", "subscriptionId", "hostStatus", "imdsAttestation", "legacyOsSupport",
                "supportedCapabilities", "registrationStatus", "connectivityStatus", "lastSync",
                "attestationExpiresOn", "daysUntilExpiry", "servers", "findings", "conflicts", "evaluatedAt"):
        assert key in view, key
    assert (view["hostStatus"], view["legacyOsSupport"]) == (v.ON, v.ON)
    assert view["resourceGroup"] == "local-rg" and view["subscriptionId"] == "11111111-1111-1111-1111-111111111111"
    assert view["daysUntilExpiry"] == 28
    assert [(s["name"], s["status"], s["statusSource"]) for s in view["servers"]] == [
        ("NODE1", v.SERVER_ACTIVE, v.SOURCE_ARM), ("NODE2", v.SERVER_ACTIVE, v.SOURCE_ARM)]
    assert view["findings"] == [] and view["conflicts"] == []
    assert view["evaluatedAt"] == "2026-11-22T12:00:00Z"
    assert isinstance(view["servers"], list) and isinstance(view["findings"], list)
    json.dumps(view)


def test_seven_digit_fractions_are_read():
    view = view_of(arm_cluster(last_sync="2026-11-20T08:15:42.1234567Z"))
    assert (view["lastSync"], view["attestationExpiresOn"]) == ("2026-11-20T08:15:42Z", "2026-12-20T08:15:42Z")


def test_lower_case_type_and_key_case_are_read():
    document = arm_cluster()
    document["type"] = "microsoft.azurestackhci/clusters"
    document["properties"]["LastSyncTimestamp"] = document["properties"].pop("lastSyncTimestamp")
    assert {s.status for s in evaluate(document).servers} == {v.SERVER_ACTIVE}


def test_rules_do_not_mutate_their_input():
    document, hosts = arm_cluster(), [host_document("NODE1")]
    before = copy.deepcopy((document, hosts))
    evaluate(document, hosts)
    assert (document, hosts) == before


# ----------------------------------------------------------------------------- 30 days

@pytest.mark.parametrize("age, expected", [
    (timedelta(0), v.SERVER_ACTIVE),
    (timedelta(days=30) - timedelta(seconds=1), v.SERVER_ACTIVE),
    (timedelta(days=30), v.SERVER_ACTIVE),                          # exactly 30 days: not "more than 30"
    (timedelta(days=30, seconds=1), v.SERVER_EXPIRED),
    (timedelta(days=400), v.SERVER_EXPIRED),
])
def test_thirty_day_boundary(age, expected):
    servers = evaluate(arm_cluster(last_sync=NOW - age)).servers
    assert {s.status for s in servers} == {expected}
    if expected == v.SERVER_EXPIRED:
        assert {(s.action, s.command) for s in servers} == {(v.ACTION_SYNC, v.COMMAND_SYNC)}


def test_thirty_days_and_a_minute_is_not_thirty_days_ago():
    servers = evaluate(arm_cluster(last_sync=NOW - timedelta(days=30, minutes=1))).servers
    assert {s.status for s in servers} == {v.SERVER_EXPIRED}
    assert all("30 days ago" not in s.reason for s in servers)


def test_expired_servers_have_a_finding_each():
    view = view_of(arm_cluster(last_sync=NOW - timedelta(days=40)))
    servers = [item for item in view["findings"] if item["scope"] == "server"]
    assert sorted(item["name"] for item in servers) == ["NODE1", "NODE2"]
    assert {(item["severity"], item["action"], item["command"]) for item in servers} == {
        ("error", v.ACTION_SYNC, v.COMMAND_SYNC)}


def test_expiring_soon_warns_once_per_server():
    view = view_of(arm_cluster(last_sync=NOW - timedelta(days=25)))
    expiring = [item for item in view["findings"] if item["command"] == v.COMMAND_SYNC]
    assert len(expiring) == 2 and {item["severity"] for item in expiring} == {"warning"}
    assert all("-" not in item["reason"].split("(in ")[-1][:3] for item in expiring)


# ----------------------------------------------------------------------------- cluster-level causes

def test_disabled_attestation_makes_every_server_inactive():
    verdict = evaluate(arm_cluster(imds="Disabled"))
    assert verdict.host.value == v.OFF
    assert {s.status for s in verdict.servers} == {v.SERVER_INACTIVE}
    host_findings = [item for item in verdict.findings if item["scope"] == "cluster" and item["command"]]
    assert any(item["severity"] == "error" and item["command"] == v.COMMAND_SYNC for item in host_findings)


def test_unregistered_cluster_is_unknown_with_registration():
    view = view_of(arm_cluster(reported=False, status="NotYetRegistered", last_sync=None))
    assert (view["hostStatus"], view["legacyOsSupport"], view["servers"]) == (v.UNKNOWN, v.UNKNOWN, [])
    assert view["lastSync"] is None and view["daysUntilExpiry"] is None
    registration = findings_about(view, v.REASON_CLUSTER_NOT_REGISTERED)
    assert registration and registration[0]["action"] == v.ACTION_REGISTER and registration[0]["command"]


def test_connected_recently_is_registered():
    # issue 7: "not registered with Azure (status 'ConnectedRecently')".
    for status in ("ConnectedRecently", "Connected", "Disconnected", "NotConnectedRecently"):
        for document in (arm_cluster(status=status), arm_cluster(status=status, reported=False),
                         arm_cluster(status=status, imds="PartiallyEnabled")):
            text = json.dumps(view_of(document)).lower()
            assert "not registered" not in text, status


def test_registered_cluster_without_reported_properties():
    view = view_of(arm_cluster(reported=False))
    assert view["hostStatus"] == v.UNKNOWN
    assert view["reasonCode"] != v.REASON_UNRECOGNIZED_VALUE
    cluster_findings = [item for item in view["findings"] if item["scope"] == "cluster"]
    assert cluster_findings and all(item["action"] and item["command"] for item in cluster_findings)
    assert any(item["command"] == v.COMMAND_SYNC for item in cluster_findings)


def test_unrecognized_imds_attestation_is_unknown_naming_the_value():
    view = view_of(arm_cluster(imds="PartiallyEnabled"))
    assert (view["hostStatus"], view["imdsAttestation"], view["reasonCode"]) == (
        v.UNKNOWN, "PartiallyEnabled", v.REASON_UNRECOGNIZED_VALUE)
    assert "PartiallyEnabled" in view["reason"]
    assert {s["status"] for s in view["servers"]} == {v.UNKNOWN}
    found = findings_about(view, v.REASON_UNRECOGNIZED_VALUE)
    assert found and found[0]["severity"] in ("warning", "error") and found[0]["command"]


def test_not_connected_warns():
    assert "not-connected" in finding_codes(view_of(arm_cluster(connectivity="Disconnected"))["findings"])


# ----------------------------------------------------------------------------- unknowns are findings, at warning

def _unknown_servers_raise_warnings(view):
    assert {s["status"] for s in view["servers"]} == {v.UNKNOWN}
    warned = [item for item in view["findings"] if item["severity"] in ("warning", "error")]
    assert warned, view["findings"]
    assert transform_cluster_show(view)["Action"] == next(item["action"] for item in warned if item["action"])
    for server in view["servers"]:
        assert server["action"] and server["command"] and server["reasonCode"]


def test_unreadable_last_sync_is_unknown_with_a_warning():
    # issue 7: an unreadable lastSync was only info, so the table's Findings column said "none".
    _unknown_servers_raise_warnings(view_of(arm_cluster(last_sync="sometime last week")))


def test_last_sync_years_in_the_future_is_clock_skew():
    view = view_of(arm_cluster(last_sync=NOW + timedelta(days=365 * 70)))
    _unknown_servers_raise_warnings(view)
    skew = findings_about(view, v.REASON_CLOCK_SKEW)
    assert skew and {item["severity"] for item in skew} <= {"warning", "error"}


def test_last_sync_in_the_future_shows_no_expiry_beyond_the_certificate_lifetime():
    view = view_of(arm_cluster(last_sync=NOW + timedelta(days=365 * 70)))
    assert view["daysUntilExpiry"] is None or view["daysUntilExpiry"] <= 30


def test_host_row_with_a_status_this_version_does_not_know_raises_a_warning():
    view = view_of(arm_cluster(last_sync="garbage"), [host_document("NODE1", status="Pending")])
    node1 = next(s for s in view["servers"] if s["name"] == "NODE1")
    assert node1["status"] == v.UNKNOWN and node1["action"] and node1["command"]
    assert [item for item in view["findings"] if item["name"] == "NODE1" and item["severity"] == "warning"]


# ----------------------------------------------------------------------------- host facts: age, system, order

def test_host_row_active_but_expired_with_arm_40_days_old():
    # issue 7: Active with an expiration 10 days past beside ARM's last sync 40 days ago.
    view = view_of(arm_cluster(last_sync=NOW - timedelta(days=40)),
                   [host_document("NODE1", status="Active", expiration=NOW - timedelta(days=10))])
    node1 = next(s for s in view["servers"] if s["name"] == "NODE1")
    assert (node1["status"], node1["action"], node1["command"]) == (v.SERVER_EXPIRED, v.ACTION_SYNC, v.COMMAND_SYNC)
    assert "(in -" not in json.dumps(view)
    assert "attestation-expiring" not in finding_codes(view["findings"])


def test_host_row_active_but_expired_wins_even_when_the_file_is_newest():
    view = view_of(arm_cluster(), [host_document("NODE1", status="Active", expiration=NOW - timedelta(days=10))])
    node1 = next(s for s in view["servers"] if s["name"] == "NODE1")
    assert node1["status"] == v.SERVER_EXPIRED


@pytest.mark.parametrize("collected, code", [(NOW - timedelta(days=60), v.REASON_HOST_FACTS_STALE),
                                             (None, v.REASON_HOST_FACTS_STALE),
                                             (NOW + timedelta(days=2), v.REASON_CLOCK_SKEW)])
@pytest.mark.parametrize("arm", [dict(last_sync="unreadable"), dict(last_sync=None), dict(reported=False)])
def test_a_stale_file_cannot_make_a_server_active(arm, collected, code):
    stale = host_document("NODE1", status="Active", expiration=NOW + timedelta(days=5), collected=collected)
    view = view_of(arm_cluster(**arm), [stale])
    node1 = next(s for s in view["servers"] if s["name"] == "NODE1")
    assert node1["status"] != v.SERVER_ACTIVE
    assert view["hostStatus"] != v.ON
    assert code in finding_codes(view["findings"])


def test_a_host_file_with_an_imds_attestation_this_version_does_not_know_raises_a_warning():
    view = view_of(arm_cluster(), [host_document("NODE1", imds="Pending"), host_document("NODE2")])
    assert view["hostStatus"] == v.UNKNOWN
    assert [item for item in view["findings"] if item["scope"] == "cluster" and item["severity"] == "warning"
            and "Pending" in item["reason"] and item["command"]]


def test_a_last_sync_in_the_future_is_not_a_newer_observation_than_a_fresh_host_file():
    verdict = evaluate(arm_cluster(last_sync=NOW + timedelta(days=365)),
                       [host_document("NODE1", imds="Disabled", status="Active")])
    assert verdict.host.value == v.OFF
    node1 = next(s for s in verdict.servers if s.name == "NODE1")
    assert (node1.status, node1.status_source) == (v.SERVER_ACTIVE, v.SOURCE_HOST)


def test_a_stale_file_can_still_show_what_is_off():
    view = view_of(arm_cluster(last_sync="unreadable"),
                   [host_document("NODE1", status="Error", collected=NOW - timedelta(days=60))])
    assert next(s for s in view["servers"] if s["name"] == "NODE1")["status"] == v.SERVER_ERROR


def test_the_newer_observation_wins_and_the_disagreement_is_listed():
    # A file collected an hour ago beats ARM's sync of 2 days ago ...
    verdict = evaluate(arm_cluster(), [host_document("NODE1", status="Inactive")])
    node1 = next(s for s in verdict.servers if s.name == "NODE1")
    assert (node1.status, node1.status_source) == (v.SERVER_INACTIVE, v.SOURCE_HOST)
    assert node1.conflicts and node1.conflicts[0]["arm"] == v.SERVER_ACTIVE
    # ... and ARM's sync of 2 days ago beats a file collected 10 days ago.
    verdict = evaluate(arm_cluster(), [host_document("NODE1", status="Expired", collected=NOW - timedelta(days=10))])
    node1 = next(s for s in verdict.servers if s.name == "NODE1")
    assert (node1.status, node1.status_source) == (v.SERVER_ACTIVE, v.SOURCE_ARM)
    assert node1.conflicts and node1.conflicts[0]["host"] == v.SERVER_EXPIRED


def test_a_host_file_newer_than_arm_overrides_imds_attestation():
    verdict = evaluate(arm_cluster(imds="Disabled", capabilities=[]),
                       [host_document("NODE1"), host_document("NODE2")])
    assert (verdict.host.value, verdict.legacy.value) == (v.ON, v.ON)
    assert verdict.conflicts


def test_another_systems_file_is_ignored_with_a_finding():
    # issue 7: its servers joined the cluster and its imdsAttestation overrode ARM's.
    other = host(host_document("OTHER1", imds="Disabled", status="Error", legacy="Disabled", cluster="OtherCluster"),
                 "other.json")
    view = clusters.cluster_view(evaluate(arm_cluster(), [other]))
    assert view["hostStatus"] == v.ON and view["legacyOsSupport"] == v.ON
    assert [s["name"] for s in view["servers"]] == ["NODE1", "NODE2"]
    assert view["hostFacts"] == [] and view["conflicts"] == []
    ignored = [item for item in view["findings"] if item["name"] == "other.json"]
    assert len(ignored) == 1 and ignored[0]["severity"] == "warning" and "OtherCluster" in ignored[0]["reason"]


def test_a_file_of_this_cluster_name_from_a_machine_that_is_not_its_server_is_ignored():
    view = view_of(arm_cluster(), [host_document("NODE9", imds="Disabled", status="Error")])
    assert [s["name"] for s in view["servers"]] == ["NODE1", "NODE2"] and view["hostStatus"] == v.ON
    assert [item for item in view["findings"] if item["name"] == "host-facts-NODE9.json"]


def test_host_rows_match_servers_with_or_without_domain():
    verdict = evaluate(arm_cluster(nodes=("NODE1.contoso.local", "NODE2")), [host_document("node1", status="Error")])
    assert [(s.status, s.status_source) for s in verdict.servers] == [
        (v.SERVER_ERROR, v.SOURCE_HOST), (v.SERVER_ACTIVE, v.SOURCE_ARM)]


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_two_files_that_disagree_give_the_same_host_status_in_both_orders(order):
    # issue 7: NODE1 Disabled, NODE2 Enabled gave Off or On depending on the order of --host-facts.
    files = [host_document("NODE1", imds="Disabled"), host_document("NODE2", imds="Enabled")]
    view = view_of(arm_cluster(), [files[index] for index in order])
    assert view["hostStatus"] == v.OFF
    assert any(item.get("fact") == "imdsAttestation" for item in view["conflicts"])


def test_two_files_give_the_same_answer_with_the_same_collection_time():
    when = NOW - timedelta(hours=2)
    files = [host_document("NODE1", imds="Enabled", status="Error", collected=when),
             host_document("NODE2", imds="Disabled", status="Active", collected=when)]
    first = view_of(arm_cluster(), files)
    assert view_of(arm_cluster(), files[::-1]) == first
    assert first["hostStatus"] == v.OFF


def test_two_reports_of_one_server_take_the_newer():
    older = host(host_document("NODE1", status="Error", collected=NOW - timedelta(hours=5)), "a.json")
    newer = host(host_document("NODE1", status="Active", collected=NOW - timedelta(hours=1)), "b.json")
    for files in ([older, newer], [newer, older]):
        node1 = next(s for s in evaluate(arm_cluster(), files).servers if s.name == "NODE1")
        assert node1.status == v.SERVER_ACTIVE


# ----------------------------------------------------------------------------- legacy OS support from the hosts

def test_legacy_os_support_off_on_one_server_is_fixed_on_that_server():
    verdict = evaluate(arm_cluster(capabilities=[]),
                       [host_document("NODE1", legacy="Enabled"), host_document("NODE2", legacy="Disabled")])
    assert verdict.legacy.value == v.OFF
    assert verdict.legacy.command == "Enable-AzStackHCIAttestation -ComputerName 'NODE2'"
    assert {s.name: s.legacy_os_support for s in verdict.servers} == {"NODE1": v.ON, "NODE2": v.OFF}


def test_legacy_os_support_off_everywhere_is_fixed_for_the_system():
    verdict = evaluate(arm_cluster(), [host_document("NODE1", legacy="Disabled"),
                                       host_document("NODE2", legacy="Disabled")])
    assert (verdict.legacy.value, verdict.legacy.action, verdict.legacy.command) == (
        v.OFF, v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, "Enable-AzStackHCIAttestation")


def test_legacy_os_support_on_from_a_stale_file_is_not_on():
    stale = [host_document(name, legacy="Enabled", collected=NOW - timedelta(days=60)) for name in ("NODE1", "NODE2")]
    assert evaluate(arm_cluster(capabilities=[]), stale).legacy.value != v.ON


# ----------------------------------------------------------------------------- malformed ARM documents

def _malformed(path, value):
    def build():
        document = arm_cluster()
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return document
    return build


MALFORMED = {
    "status is a number": _malformed(("properties", "status"), 5),
    "status is an object": _malformed(("properties", "status"), {"value": "Connected"}),
    "connectivityStatus is a list": _malformed(("properties", "connectivityStatus"), ["Connected"]),
    "name is a number": _malformed(("name",), 42),
    "nodes with junk": _malformed(("properties", "reportedProperties", "nodes"), ["NODE1", 7, None, {"name": 5}]),
    "nodes is an object": _malformed(("properties", "reportedProperties", "nodes"), {"name": "NODE1"}),
    "reportedProperties is a string": _malformed(("properties", "reportedProperties"), "Enabled"),
    "reportedProperties is a list": _malformed(("properties", "reportedProperties"), [{"imdsAttestation": "Enabled"}]),
    "supportedCapabilities is a string": _malformed(("properties", "reportedProperties", "supportedCapabilities"),
                                                    "LegacyOsSupport"),
    "imdsAttestation is a boolean": _malformed(("properties", "reportedProperties", "imdsAttestation"), True),
    "properties is a string": _malformed(("properties",), "x"),
    "lastSyncTimestamp is an object": _malformed(("properties", "lastSyncTimestamp"), {"when": "now"}),
    "lastSyncTimestamp is a number": _malformed(("properties", "lastSyncTimestamp"), 1763000000),
    "lastSyncTimestamp is a boolean": _malformed(("properties", "lastSyncTimestamp"), True),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_cluster_is_a_finding_never_an_exception(case):
    document = MALFORMED[case]()
    view = view_of(document, [host_document("NODE1")])
    assert view["hostStatus"] == v.UNKNOWN
    malformed = findings_about(view, v.REASON_MALFORMED_RESOURCE)
    assert malformed and malformed[0]["scope"] == "cluster" and malformed[0]["severity"] in ("warning", "error")
    assert isinstance(view["name"], str) and view["name"]
    json.dumps(view)


@pytest.mark.parametrize("raw", [1700000000, 1700000000.5, 0, 1763000000000])
def test_a_last_sync_that_is_a_number_is_malformed_never_read_as_epoch_seconds(raw):
    facts = clusters.cluster_facts_from_arm(arm_cluster(last_sync=raw))
    assert facts.last_sync is None
    assert facts.problems == ("properties.lastSyncTimestamp is a number, not a timestamp",)
    view = view_of(arm_cluster(last_sync=raw))
    assert (view["hostStatus"], view["lastSync"], view["attestationExpiresOn"]) == (v.UNKNOWN, None, None)
    assert {server["status"] for server in view["servers"]} == {v.UNKNOWN}
    malformed = findings_about(view, v.REASON_MALFORMED_RESOURCE)
    assert len(malformed) == 1 and "lastSyncTimestamp is a number" in malformed[0]["reason"]
    assert malformed[0]["action"] and malformed[0]["command"]
    assert not findings_about(view, "not-synced-30-days")


@pytest.mark.parametrize("document", [None, [], "cluster", 5])
def test_a_document_that_is_not_an_object_is_a_finding(document):
    view = view_of(document)
    assert view["hostStatus"] == v.UNKNOWN
    assert findings_about(view, v.REASON_MALFORMED_RESOURCE)


def test_nodes_as_plain_server_names_are_not_junk():
    document = arm_cluster()
    document["properties"]["reportedProperties"]["nodes"] = ["NODE1", "NODE2"]
    view = view_of(document)
    assert [s["name"] for s in view["servers"]] == ["NODE1", "NODE2"]
    assert view["hostStatus"] == v.ON and not findings_about(view, v.REASON_MALFORMED_RESOURCE)


def test_junk_nodes_keep_the_server_names_that_are_there():
    view = view_of(MALFORMED["nodes with junk"]())
    assert "NODE1" in [s["name"] for s in view["servers"]]


# ----------------------------------------------------------------------------- where the probe must run

def _names_both(item):
    assert item["action"] == v.ACTION_COLLECT_HOST_FACTS, item
    assert "host-facts-host" not in item["command"] and "NODE1, NODE2" in item["command"], item["command"]


def test_legacy_os_support_unknown_from_arm_collects_on_each_server():
    view = view_of(arm_cluster(capabilities=["ArcVmManagement"]))
    _names_both(findings_about(view, "legacy-os-support-unknown")[0])


def test_only_stale_files_collect_again_on_each_of_their_servers():
    stale = [host_document(name, collected=NOW - timedelta(days=45)) for name in ("NODE1", "NODE2")]
    verdict = evaluate(arm_cluster(last_sync=None), stale)
    assert (verdict.host.value, verdict.host.reason_code) == (v.UNKNOWN, v.REASON_HOST_FACTS_STALE)
    _names_both({"action": verdict.host.action, "command": verdict.host.command})


def test_a_file_without_a_computer_name_is_collected_again_on_each_server_of_its_cluster():
    document = host_document(None, collected=None, rows=[])
    document["cluster"]["azureResourceUri"] = CLUSTER_ID
    view = view_of(arm_cluster(), [document])
    stale = [item for item in findings_about(view, v.REASON_HOST_FACTS_STALE) if item["scope"] == "hostFacts"]
    _names_both(stale[0])
    assert "each of NODE1, NODE2" in stale[0]["reason"]


# ----------------------------------------------------------------------------- every non-green verdict can be acted on

_ARM = {"healthy": {}, "off": dict(imds="Disabled"), "unrecognized": dict(imds="PartiallyEnabled"),
        "no-reported": dict(reported=False), "unregistered": dict(status="NotYetRegistered", reported=False),
        "expired": dict(last_sync=NOW - timedelta(days=40)), "unreadable-sync": dict(last_sync="x"),
        "future-sync": dict(last_sync=NOW + timedelta(days=900)), "malformed": dict(connectivity=3),
        "disconnected": dict(connectivity="Disconnected"), "capabilities-unknown": dict(capabilities=None)}
_FILES = {"none": [], "pending": [host_document("NODE1", status="Pending", legacy=None)],
          "stale": [host_document("NODE1", collected=NOW - timedelta(days=45))],
          "future": [host_document("NODE1", collected=NOW + timedelta(days=3))],
          "undated": [host_document("NODE1", collected=None)],
          "expired-row": [host_document("NODE1", expiration=NOW - timedelta(days=1))],
          "legacy-off": [host_document("NODE2", legacy="Disabled")],
          "error": [host_document("NODE2", status="Error", imds="Disabled")]}


@pytest.mark.parametrize("files", sorted(_FILES))
@pytest.mark.parametrize("arm", sorted(_ARM))
def test_every_status_other_than_on_or_active_has_an_action_a_command_and_a_finding(arm, files):
    view = view_of(arm_cluster(**_ARM[arm]), _FILES[files])
    assert view["hostStatus"] in (v.ON, v.OFF, v.UNKNOWN)
    assert view["legacyOsSupport"] in (v.ON, v.OFF, v.UNKNOWN)
    if view["hostStatus"] != v.ON:
        assert [item for item in view["findings"] if item["scope"] == "cluster" and item["command"]]
    if _ARM[arm].get("reported", True):
        assert view["servers"], "the cluster reports NODE1 and NODE2"
    for server in view["servers"]:
        assert server["status"] in v.SERVER_STATUSES
        if server["status"] != v.SERVER_ACTIVE:
            assert server["action"] and server["command"] and server["reasonCode"], server
            named = [item for item in view["findings"] if item["name"] == server["name"]]
            assert named or view["hostStatus"] != v.ON, server
    all_green = view["hostStatus"] == v.ON and all(s["status"] == v.SERVER_ACTIVE for s in view["servers"])
    assert view["findings"] or all_green, "a status that is not green has its finding"
    for item in view["findings"]:
        assert item["severity"] in ("error", "warning", "info") and item["reasonCode"] and item["reason"]
        assert not has_control(item["command"]) and "(in -" not in item["reason"]
        if item["severity"] in ("error", "warning"):
            assert item["action"] and item["command"], item


def test_names_with_control_characters_stay_one_line_in_cluster_commands():
    document = arm_cluster(status="NotYetRegistered", reported=False, name="bad\nname")
    document["id"] = ("/subscriptions/s'1/resourceGroups/rg\nRemove-Item x/providers/Microsoft.AzureStackHCI/clusters/"
                      "bad\nname")
    view = view_of(document)
    commands = [item["command"] for item in view["findings"] if item["command"]]
    assert commands and all(not has_control(command) for command in commands)
    registration = findings_about(view, v.REASON_CLUSTER_NOT_REGISTERED)[0]["command"]
    assert "-ResourceGroup ('rg' + [char]0x000A + 'Remove-Item x')" in registration
    assert "-SubscriptionID 's''1'" in registration
