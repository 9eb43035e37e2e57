"""The emulator's Resource Graph without HTTP: the KQL it interprets (extend, join, functions,
escapes), scopes (subscriptions, management groups, the tenant), 403 on a chosen scope, truncated
answers, types it does not index, and `$skipToken` paging."""

import pytest

from emulator import resourcegraph
from emulator.arm import ArmApi
from emulator.generate_fleet import generate_fleet
from emulator.store import ResourceStore

INSTANCES = "microsoft.azurestackhci/virtualmachineinstances"
JOIN = ("resources | where type =~ 'microsoft.hybridcompute/machines' and kind =~ 'hci' "
        "| extend key = tolower(strcat(id, '/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default')) "
        "| join kind=leftouter (resources | where type =~ '" + INSTANCES + "' "
        "| project key = tolower(id), instanceId = id, vmId = properties.vmId) on key "
        "| project id, name, key, key1, instanceId, vmId | order by id asc")


@pytest.fixture(scope="module", name="api")
def fixture_api(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("rg-fleet"))
    manifest = generate_fleet(directory, 12, 2, 3, vms=4, vm_clusters=2)
    api = ArmApi(ResourceStore.from_directory(directory), "https://127.0.0.1:1", page_size=5)
    api.manifest = manifest
    return api


@pytest.fixture(autouse=True)
def _reset(api):
    api.set_graph({"forbiddenSubscriptions": [], "forbiddenManagementGroups": [], "unindexedTypes": [],
                   "truncate": False, "managementGroups": {}})


def query(api, text, subscriptions=None, groups=None, **options):
    body = {"query": text, "options": options}
    if subscriptions is not None:
        body["subscriptions"] = subscriptions
    if groups is not None:
        body["managementGroups"] = groups
    return api.handle("POST", "/providers/Microsoft.ResourceGraph/resources", [], body)


def subscriptions(api):
    return [entry["subscriptionId"] for entry in api.manifest["subscriptions"]]


def test_join_pairs_each_machine_with_its_instance(api):
    reply = query(api, JOIN, subscriptions(api))
    assert reply.status == 200, reply.body
    rows = reply.body["data"]
    assert len(rows) == 8 and all(row["instanceId"] and row["key"] == row["key1"] for row in rows)
    assert all(row["instanceId"].lower() == row["key"] for row in rows) and all(row["vmId"] for row in rows)
    api.set_graph({"unindexedTypes": [INSTANCES]})
    rows = query(api, JOIN, subscriptions(api)).body["data"]
    assert len(rows) == 8 and not any(row["instanceId"] or row["key1"] for row in rows)


def test_inner_join_drops_unmatched_rows_and_functions_compute(api):
    text = JOIN.replace("kind=leftouter", "kind=inner")
    api.set_graph({"unindexedTypes": [INSTANCES]})
    assert query(api, text, subscriptions(api)).body["data"] == []
    reply = query(api, "resources | where type =~ 'microsoft.azurestackhci/clusters' "
                       "| extend upper = toupper(name), label = strcat(name, '/', tostring(location)) "
                       "| where isnotempty(tostring(properties.reportedProperties.imdsAttestation)) "
                       "| project name, upper, label | order by name desc", subscriptions(api))
    rows = reply.body["data"]
    assert rows and rows[0]["upper"] == rows[0]["name"].upper() and rows[0]["label"].startswith(rows[0]["name"] + "/")
    assert [row["name"] for row in rows] == sorted((row["name"] for row in rows), reverse=True)


def test_escaped_strings_and_unknown_columns(api):
    assert query(api, "resources | where name == 'it\\'s' | project id").body["data"] == []
    reply = query(api, "resources | project id | where name =~ 'x'")
    assert reply.status == 400 and "unknown column 'name'" in reply.body["error"]["message"]
    reply = query(api, JOIN.replace("kind=leftouter", "kind=fullouter"))
    assert reply.status == 400 and "join kind" in reply.body["error"]["message"]
    reply = query(api, "resources | extend x = coalesce(name)")
    assert reply.status == 400 and "coalesce" in reply.body["error"]["message"]


def test_scopes_403_and_management_groups(api):
    first, second, third = subscriptions(api)
    clusters = "resources | where type =~ 'microsoft.azurestackhci/clusters' | project id, subscriptionId"
    api.set_graph({"forbiddenSubscriptions": [second], "managementGroups": {"mg": [first, second]}})
    reply = query(api, clusters, [first, second])
    assert reply.status == 403 and "scope '/subscriptions/{}'".format(second) in reply.body["error"]["message"]
    assert {row["subscriptionId"] for row in query(api, clusters, [first]).body["data"]} == {first}
    assert {row["subscriptionId"] for row in query(api, clusters, groups=["mg"]).body["data"]} == {first}
    assert {row["subscriptionId"] for row in query(api, clusters).body["data"]} == {first, third}
    api.set_graph({"forbiddenManagementGroups": ["mg"]})
    assert query(api, clusters, groups=["mg"]).status == 403
    assert query(api, clusters, groups=["nope"]).status == 404


def test_truncated_answers_and_paging(api):
    clusters = "resources | where type =~ 'microsoft.azurestackhci/clusters' | project id | order by id asc"
    rows, token, pages = [], None, 0
    while True:
        options = {"$top": 5}
        if token:
            options["$skipToken"] = token
        body = query(api, clusters, subscriptions(api), **options).body
        rows += body["data"]
        pages += 1
        token = body.get("$skipToken")
        if not token:
            break
    assert len(rows) == 12 and pages == 3 and len({row["id"] for row in rows}) == 12
    api.set_graph({"truncate": True})
    body = query(api, clusters, subscriptions(api), **{"$top": 5}).body
    assert body["resultTruncated"] == "true" and "$skipToken" not in body


def test_the_parser_keeps_the_columns_each_stage_makes():
    stages = resourcegraph.parse_query(JOIN)
    assert [kind for kind, _ in stages] == ["where", "extend", "join", "project", "order"]


SQL_JOIN = ("resources | where type =~ 'microsoft.hybridcompute/machines' and kind !~ 'AzureStackHCI' "
            "| extend sqlKey = tolower(id) "
            "| join kind=leftouter (resources | where type =~ 'microsoft.azurearcdata/sqlserverinstances' "
            "| project sqlKey = tolower(tostring(properties.containerResourceId)), sqlVersion = properties.version) "
            "on sqlKey | project id, name, kind, sqlVersion | order by id asc")


def test_sql_server_instances_join_their_machines_and_can_be_unindexed(tmp_path):
    generate_fleet(str(tmp_path), 1, 2, 1, vms=12, vm_clusters=1, arc_servers=2)
    api = ArmApi(ResourceStore.from_directory(str(tmp_path)), "https://127.0.0.1:1", page_size=5)
    rows = query(api, SQL_JOIN).body["data"]
    # 12 VMs (every fifth runs SQL Server) and 2 Arc-enabled servers of no kind; the servers of kind
    # AzureStackHCI are left out.
    assert len(rows) == 14 and sum(1 for row in rows if not row["kind"]) == 2
    assert sorted(row["sqlVersion"] for row in rows if row["sqlVersion"]) == [
        "SQL Server 2012", "SQL Server 2014", "SQL Server 2016"]
    api.set_graph({"unindexedTypes": ["microsoft.azurearcdata/sqlserverinstances"]})
    assert not any(row["sqlVersion"] for row in query(api, SQL_JOIN).body["data"])
