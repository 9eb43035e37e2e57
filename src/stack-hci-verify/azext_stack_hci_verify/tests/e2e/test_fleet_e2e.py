# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Resource Graph through the real az: what a cluster view and a fleet cost in requests and tokens,
the fallback to ARM, a subscription that refuses, a truncated answer and management groups, on a
generated fleet (1,500 clusters in 3 subscriptions; the first cluster has 500 VMs, 20 Arc-enabled servers, a
SQL Server on every fifth VM and agents below 1.39 on every seventh)."""

import json
import math
import os

import pytest

from .conftest import AzRunner, REPO_ROOT

pytestmark = pytest.mark.e2e
CLUSTERS, SUBSCRIPTIONS, AZURE_LOCAL_VMS, ARC_SERVERS = 1500, 3, 500, 20
VMS = AZURE_LOCAL_VMS + ARC_SERVERS
BIG = ("-n", "hci-fleet-0000", "-g", "rg-fleet-s01-g01")
GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
TOKEN_PATH = "/msi/token"
INSTANCES = "microsoft.azurestackhci/virtualmachineinstances"


@pytest.fixture(scope="module", name="fleet")
def fixture_fleet(tmp_path_factory):
    from emulator import azenv
    from emulator.client import start_emulator
    from emulator.generate_fleet import generate_fleet
    fixtures = str(tmp_path_factory.mktemp("graph-fleet"))
    manifest = generate_fleet(fixtures, CLUSTERS, 3, SUBSCRIPTIONS, vms=AZURE_LOCAL_VMS, vm_clusters=1,
                              arc_servers=ARC_SERVERS, reference_time="now")
    handle = start_emulator(fixtures, str(tmp_path_factory.mktemp("graph-emulator")))
    az_path = azenv.find_az(REPO_ROOT)
    env = azenv.prepare_az_home(handle, str(tmp_path_factory.mktemp("graph-home")), az_path, login="profile")
    azenv.install_extension(az_path, env, os.path.join(REPO_ROOT, "src", "stack-hci-verify"),
                            os.path.join(REPO_ROOT, ".cache"))
    runner = AzRunner(az_path, env, handle)
    runner.manifest = manifest
    yield runner
    handle.stop()


@pytest.fixture(autouse=True, name="graph")
def fixture_graph(fleet):
    fleet.emulator.reset_graph()
    fleet.emulator.clear_faults()
    fleet.emulator.clear_requests()
    yield fleet.emulator
    fleet.emulator.reset_graph()


def counted(handle):
    """(token requests, Resource Graph requests, other ARM requests) since the log was cleared."""
    log = handle.requests()
    tokens = [entry for entry in log if entry["path"].lower().startswith(TOKEN_PATH)]
    graph = [entry for entry in log if entry["path"].lower() == GRAPH_PATH]
    return len(tokens), len(graph), len(log) - len(tokens) - len(graph)


def run_json(fleet, *args):
    result = fleet.run(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "Resource Graph:" not in result.stderr       # no progress when stderr is not a terminal
    return json.loads(result.stdout)


def test_show_of_a_500_vm_cluster_costs_two_requests_and_one_token(fleet, graph):
    view = run_json(fleet, "stack-hci", "vm-verification", "show", *BIG)
    assert view["vmSummary"]["total"] == VMS and view["vmsReadFrom"] == "resourceGraph"
    assert not [item for item in view["findings"] if item["reasonCode"] == "resource-graph-fallback"]
    assert counted(graph) == (1, 1, 1)          # one token, one query, the cluster's GET
    # The agent versions, license profiles and SQL Server instances came with that one query.
    from emulator.generate_fleet import AGENT_BELOW_MINIMUM, agent_version, sql_document
    benefits = {row["offer"]: row for row in view["vmSummary"]["benefits"]}
    below = sum(1 for count in (AZURE_LOCAL_VMS, ARC_SERVERS) for index in range(count)
                if agent_version(index) == AGENT_BELOW_MINIMUM)
    assert benefits["machine-configuration"]["inactive"] == below
    assert benefits["machine-configuration"]["active"] == VMS - below
    assert benefits["update-manager"]["active"] == AZURE_LOCAL_VMS + ARC_SERVERS // 2
    assert benefits["update-manager"]["inactive"] == ARC_SERVERS // 2
    with_sql = sum(1 for index in range(AZURE_LOCAL_VMS) if sql_document("x/providers/y/m", None, index))
    assert benefits["sql-server-esu"]["total"] == with_sql > 0


def test_vm_list_and_vm_show_cost_the_same(fleet, graph):
    rows = run_json(fleet, "stack-hci", "vm-verification", "vm", "list", *BIG)
    assert len(rows) == VMS and {row["readFrom"] for row in rows} == {"resourceGraph"}
    assert counted(graph) == (1, 1, 1)
    graph.clear_requests()
    view = run_json(fleet, "stack-hci", "vm-verification", "vm", "show", "-n", "hci-fleet-0000-vm0004",
                    "--cluster-name", BIG[1], *BIG[2:])
    assert view["name"] == "hci-fleet-0000-vm0004"
    assert view["eligibleBenefit"] == "Windows Server Datacenter: Azure Edition"
    # the cluster's GET, and the Trusted launch reads (attestation status, image) of this one VM only
    tokens, queries, others = counted(graph)
    assert (tokens, queries) == (1, 1) and 1 <= others <= 3


def test_list_all_subscriptions_pages_at_1000_rows(fleet, graph):
    views = run_json(fleet, "stack-hci", "vm-verification", "list", "--all-subscriptions")
    assert len(views) == CLUSTERS
    assert {view["subscriptionId"] for view in views} == {s["subscriptionId"] for s in fleet.manifest["subscriptions"]}
    big = next(view for view in views if view["name"] == "hci-fleet-0000")
    assert big["vmSummary"]["total"] == VMS
    assert sum(view["vmSummary"]["total"] for view in views) == VMS
    wanted = {entry["id"].lower(): entry["state"] for entry in fleet.manifest["clusters"]}
    off = {view["id"].lower() for view in views if view["hostStatus"] == "Off"}
    assert off == {key for key, state in wanted.items() if state == "attestation-disabled"}
    tokens, queries, others = counted(graph)
    assert (tokens, others) == (1, 0)
    assert queries == math.ceil(CLUSTERS / 1000) + math.ceil(VMS / 1000)


def test_vm_list_of_the_fleet_judges_each_vm_against_its_cluster(fleet, graph):
    rows = run_json(fleet, "stack-hci", "vm-verification", "vm", "list", "--all-subscriptions",
                    "--query", "[].{name: name, cluster: cluster, status: benefitStatus}")
    assert len(rows) == VMS and {row["cluster"] for row in rows} == {"hci-fleet-0000"}
    tokens, queries, others = counted(graph)
    assert (tokens, others, queries) == (1, 0, math.ceil(CLUSTERS / 1000) + math.ceil(VMS / 1000))


def test_a_subscription_that_refuses_is_in_the_result(fleet, graph):
    refused = fleet.manifest["subscriptions"][1]["subscriptionId"]
    graph.set_graph(forbiddenSubscriptions=[refused])
    views = run_json(fleet, "stack-hci", "vm-verification", "list", "--all-subscriptions")
    entry = [view for view in views if view["reasonCode"] == "scope-not-readable"]
    assert [view["subscriptionId"] for view in entry] == [refused]
    assert entry[0]["findings"][0]["command"].startswith("az role assignment create")
    assert "Microsoft.ResourceGraph/resources/read" in entry[0]["reason"]
    assert refused not in {view["subscriptionId"] for view in views if view["reasonCode"] != "scope-not-readable"}
    assert len(views) == CLUSTERS - CLUSTERS // SUBSCRIPTIONS + 1


def test_a_truncated_answer_is_an_error(fleet, graph):
    graph.set_graph(truncate=True)
    result = fleet.run("stack-hci", "vm-verification", "list", "--subscriptions",
                       fleet.manifest["subscriptions"][0]["subscriptionId"])
    assert result.returncode != 0 and not result.stdout.strip()
    assert "truncated" in result.stderr


def test_management_group_scope(fleet, graph):
    first = fleet.manifest["subscriptions"][0]["subscriptionId"]
    graph.set_graph(managementGroups={"mg-retail": [first]})
    views = run_json(fleet, "stack-hci", "vm-verification", "list", "--management-groups", "mg-retail",
                     "--query", "[].subscriptionId")
    assert set(views) == {first} and len(views) == CLUSTERS // SUBSCRIPTIONS


def test_vms_resource_graph_does_not_index_are_read_from_arm(fleet, graph):
    from datetime import datetime, timezone
    from random import Random
    from emulator.generate_fleet import vm_documents
    cluster = json.loads(json.dumps(next(iter(fleet_cluster(fleet, "hci-fleet-0003")))))
    documents = []
    for index in range(3):
        documents.extend(vm_documents(cluster, index, reference_time=datetime.now(timezone.utc), rng=Random(index)))
    graph.put_resources(*documents)
    graph.set_graph(unindexedTypes=[INSTANCES])
    graph.clear_requests()
    view = run_json(fleet, "stack-hci", "vm-verification", "show", "-n", "hci-fleet-0003", "-g", "rg-fleet-s01-g02")
    assert view["vmsReadFrom"] == "resourceGraph+arm" and view["vmSummary"]["total"] == 3
    fallback = [item for item in view["findings"] if item["reasonCode"] == "resource-graph-fallback"]
    assert len(fallback) == 1 and "3 of 3" in fallback[0]["reason"]
    assert counted(graph) == (1, 1, 1 + 3)      # the cluster, then each instance Resource Graph lacked
    for document in documents[::2]:
        graph.delete_resource(document["id"])


def test_a_cluster_view_falls_back_to_arm_when_resource_graph_refuses(fleet, graph):
    subscription = fleet.manifest["subscriptions"][0]["subscriptionId"]
    graph.set_graph(forbiddenSubscriptions=[subscription])
    rows = run_json(fleet, "stack-hci", "vm-verification", "vm", "list", *BIG)
    assert len(rows) == VMS and {row["readFrom"] for row in rows} == {"arm"}
    tokens, queries, others = counted(graph)
    assert (tokens, queries) == (1, 1) and others > AZURE_LOCAL_VMS     # one token however many threads read instances


def fleet_cluster(fleet, name):
    status, _, body = fleet.emulator.request(
        "POST", "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01",
        body={"query": "resources | where type =~ 'microsoft.azurestackhci/clusters' and name =~ '{}'".format(name)})
    assert status == 200, body
    return body["data"]
