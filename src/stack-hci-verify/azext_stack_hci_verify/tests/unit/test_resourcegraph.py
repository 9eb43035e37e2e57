# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Resource Graph reads against fake clients: the queries, reading rows as ARM documents, paging,
truncation, a refusing scope, the decision to fall back to ARM, the fleet's verdicts, and one token
per command."""

import json
import os
import threading
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from azext_stack_hci_verify import custom, errors
from azext_stack_hci_verify.adapters import resourcegraph as rg
from azext_stack_hci_verify.adapters.credential import CommandCredential
from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm

from .arm_fakes import arm_body, http_error

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet", "rg-hci-prod-eastus")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
SUB, OTHER = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31", "0b7c6b4e-1d7e-4d1b-9a44-3c1f0c7a0002"


def fixture(*parts):
    with open(os.path.join(FLEET, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def graph_row(document):
    """A document as Resource Graph returns it: type and resourceGroup lower case."""
    row = dict(document)
    row["type"] = document["type"].lower()
    row["resourceGroup"] = document["id"].split("/")[4].lower()
    row["subscriptionId"] = document["id"].split("/")[2]
    return row


def vm_row(name, with_instance=True):
    row = graph_row(fixture("machines", name + ".json"))
    if with_instance:
        instance = fixture("machines", name + ".instance.json")
        row.update({"instanceId": instance["id"], "instanceName": instance["name"],
                    "instanceType": instance["type"].lower(), "instanceProperties": instance["properties"],
                    "instanceExtendedLocation": instance.get("extendedLocation")})
    else:
        row.update(dict.fromkeys(("instanceId", "instanceName", "instanceType", "instanceProperties",
                                  "instanceExtendedLocation")))
    return row


def graph_error(status, message, code="AuthorizationFailed"):
    return http_error(status, arm_body(code, message))


def graph_forbidden(scope):
    return graph_error(403, "The client 'x' with object id 'd2b7e4a1-3c5f-4e8a-9b6d-7f1e0a2c4b58' does not have "
                            "authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope "
                            "'{}' or the scope is invalid.".format(scope))


class FakeAnswer:
    """Enough of an azure-core response for arm.send_json."""

    def __init__(self, body, status=200):
        self.status_code, self._body = status, body

    def json(self):
        return self._body


def graph_request(http_request):
    """The query a Resource Graph request carries, read back: query, subscriptions, options."""
    body = json.loads(http_request.content)
    options = body.get("options") or {}
    return SimpleNamespace(query=body["query"], subscriptions=body.get("subscriptions"),
                           management_groups=body.get("managementGroups"),
                           options=SimpleNamespace(top=options.get("$top"), skip_token=options.get("$skipToken"),
                                                   result_format=options.get("resultFormat")),
                           url=http_request.url, method=http_request.method)


class FakeGraph:
    """Answers query requests (raw, through `send_request`) from rows, `page` rows a page, like Resource
    Graph: a skip token while rows are left. `refuse`: subscriptions whose presence in the request is a
    403. `shape(answer)`: changes each answer (hostile answers)."""

    def __init__(self, rows, page=1000, refuse=(), truncated=False, error=None, shape=None):
        self.rows, self.page, self.refuse, self.truncated, self.error = rows, page, set(refuse), truncated, error
        self.shape = shape
        self.requests = []

    def send_request(self, http_request):
        request = graph_request(http_request)
        assert request.method == "POST" and rg.GRAPH_PATH in request.url
        assert "api-version={}".format(rg.GRAPH_API_VERSION) in request.url
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        for subscription in request.subscriptions or []:
            if subscription in self.refuse:
                raise graph_forbidden("/subscriptions/{}".format(subscription))
        assert request.options.top == rg.PAGE_ROWS and request.options.result_format == "objectArray"
        wanted = rg.MACHINES if rg.MACHINES in request.query else rg.CLUSTERS
        rows = [row for row in self.rows if (not request.subscriptions or row.get("subscriptionId")
                                             in request.subscriptions) and row.get("type", wanted) == wanted]
        token = request.options.skip_token or "0"
        offset = int(token) if token.isdigit() else 0
        chunk = rows[offset:offset + self.page]
        answer = {"totalRecords": len(rows), "count": len(chunk), "data": chunk, "facets": [],
                  "resultTruncated": "true" if self.truncated else "false"}
        if offset + self.page < len(rows):
            answer["$skipToken"] = str(offset + self.page)
        return FakeAnswer(self.shape(answer) if self.shape else answer)


# ----------------------------------------------------------------------------------- queries

def test_queries_filter_in_the_query_and_never_limit():
    cluster_id = "/subscriptions/{}/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/c".format(SUB)
    query = rg.vms_query(cluster_id)
    assert "tostring(properties.parentClusterResourceId) =~ '{}'".format(cluster_id) in query
    assert "join kind=leftouter" in query and "virtualmachineinstances" in query
    assert "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default" in query
    for text in (query, rg.vms_query(), rg.clusters_query()):
        words = text.lower().split()
        assert "limit" not in words and "take" not in words and "order" in words and "id," in words


def test_names_are_data_in_a_query():
    assert rg.kql_string("it's\\a\nb") == "'it\\'s\\\\a\\nb'"
    query = rg.vms_query("/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/a' or 1")
    assert "a\\' or 1'" in query


def test_the_emulator_reads_every_query_the_extension_sends():
    from emulator import resourcegraph as emulated
    for query in (rg.clusters_query(), rg.vms_query(), rg.vms_query("/subscriptions/s/x/it's")):
        assert emulated.parse_query(query)


# ----------------------------------------------------------------------------------- rows

def test_a_row_reads_as_the_arm_document():
    document = fixture("clusters", "hci-prod-01.json")
    from_row, from_arm = cluster_facts_from_arm(graph_row(document)), cluster_facts_from_arm(document)
    assert from_row == from_arm and from_row.resource_group == "rg-hci-prod-eastus" and not from_row.problems


def test_a_vm_row_is_a_machine_and_its_instance():
    vm = rg.vm_from_row(vm_row("ae-web-01"))
    assert vm.machine["properties"]["osSku"] and "instanceId" not in vm.machine
    assert vm.instance["id"].endswith("/virtualMachineInstances/default") and vm.instance["properties"]
    assert rg.vm_from_row(vm_row("ae-web-01", with_instance=False)).instance is None
    assert rg.vm_from_row({"name": "no id"}) is None and rg.vm_from_row("junk") is None


# ----------------------------------------------------------------------------------- paging

def test_pages_follow_the_skip_token():
    rows = [{"id": "/subscriptions/{}/r/{}".format(SUB, index), "subscriptionId": SUB} for index in range(2500)]
    client = FakeGraph(rows)
    seen = []
    result, requests = rg.query_pages(client, rg.clusters_query(), subscriptions=[SUB],
                                      on_page=lambda done, total: seen.append((done, total)))
    assert result == rows and requests == 3 == len(client.requests)
    assert [request.options.skip_token for request in client.requests] == [None, "1000", "2000"]
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_a_truncated_answer_is_an_error():
    with pytest.raises(errors.MalformedAnswerError, match="truncated"):
        rg.query_pages(FakeGraph([{"id": "a"}], truncated=True), rg.clusters_query(), subscriptions=[SUB],
                       what="the clusters")


def test_a_refusing_subscription_is_reported_and_the_rest_still_come_back():
    rows = [{"id": "/subscriptions/{}/r/1".format(SUB), "subscriptionId": SUB},
            {"id": "/subscriptions/{}/r/2".format(OTHER), "subscriptionId": OTHER}]
    client = FakeGraph(rows, refuse={OTHER})
    result = rg.query_scoped(client, rg.clusters_query(), subscriptions=[SUB, OTHER])
    assert result.rows == rows[:1] and [failure.scope for failure in result.unreadable] == ["/subscriptions/" + OTHER]
    failure = result.unreadable[0].failure
    assert "Microsoft.ResourceGraph/resources/read" in failure.reason
    assert failure.command.startswith("az role assignment create") and result.requests == 2
    refusing = FakeGraph(rows, refuse={SUB, OTHER})
    everything_refused = rg.query_scoped(refusing, rg.clusters_query(), subscriptions=[SUB, OTHER])
    assert everything_refused.rows == [] and len(everything_refused.unreadable) == 2


def test_a_refusal_that_names_no_scope_is_an_error():
    client = FakeGraph([], error=graph_error(403, "Forbidden for reasons"))
    with pytest.raises(errors.PermissionDeniedError, match="Microsoft.ResourceGraph/resources/read"):
        rg.query_scoped(client, rg.clusters_query(), subscriptions=[SUB, OTHER], what="the clusters")


# ----------------------------------------------------------------------------------- fallback

@pytest.mark.parametrize("error, falls_back", [
    (graph_error(403, "no"), True), (graph_error(400, "bad query", "BadRequest"), True),
    (graph_error(404, "no graph"), True), (ServiceRequestError("refused"), True),
    (graph_error(429, "slow down", "TooManyRequests"), False), (graph_error(503, "down", "ServiceUnavailable"), False),
    (ServiceResponseError("reset"), False), (ValueError("x"), False)])
def test_fallback_decision(error, falls_back):
    assert rg.should_fall_back(error) is falls_back


SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")


def sample_connection():
    from .fake_connection import FakeConnection
    return FakeConnection(SAMPLE, subscription_id=SUB)


def prod_scope():
    from azext_stack_hci_verify.pipeline.scope import Scope
    return Scope.of_clusters([(SUB, "rg-hci-prod-eastus", "hci-prod-01")])


def test_one_query_serves_a_cluster_view():
    from azext_stack_hci_verify.pipeline.read import read_scope
    conn = sample_connection()
    snapshot = read_scope(conn, prod_scope())
    (read,) = snapshot.clusters
    assert conn.calls.count("graph-vms") == 1 and read.vms and read.machines_failure is None
    assert "machines:" + SUB not in conn.calls


def test_instances_resource_graph_lacks_are_read_from_arm():
    from azext_stack_hci_verify.pipeline.read import read_scope
    conn = sample_connection()
    (read,) = read_scope(conn, prod_scope()).clusters
    lacking = [call for call in conn.calls if call.startswith("instance:")]
    assert lacking == ["instance:ae-web-03"] and read.vms_source == "resourceGraph+arm"
    assert "ae-web-03" not in {key.rsplit("/", 1)[-1] for key in read.from_graph}


@pytest.mark.parametrize("status", [400, 403, 404, 501])
def test_arm_serves_when_resource_graph_cannot(status):
    from azext_stack_hci_verify.pipeline.read import read_scope
    conn = sample_connection()
    conn.fail["graph-vms"] = http_error(status, arm_body("Refused", "no"))
    (read,) = read_scope(conn, prod_scope()).clusters
    assert read.vms_source == "arm" and read.vms and "machines:" + SUB in conn.calls
    assert "were read from ARM" in read.fallback_reason


def test_a_throttled_resource_graph_is_an_error_not_a_fallback():
    from azext_stack_hci_verify.pipeline.read import read_scope
    conn = sample_connection()
    conn.fail["graph-vms"] = http_error(429, arm_body("RateLimiting", "slow down"), headers={"Retry-After": "3600"})
    with pytest.raises(errors.ThrottledError) as raised:
        read_scope(conn, prod_scope())
    assert raised.value.retry_after == 3600
    assert "machines:" + SUB not in conn.calls


def test_the_fleet_gives_each_cluster_its_own_vms_in_two_queries():
    from azext_stack_hci_verify.pipeline.read import read_scope
    from azext_stack_hci_verify.pipeline.scope import Scope
    conn = sample_connection()
    snapshot = read_scope(conn, Scope.of_subscriptions([SUB, OTHER]))
    with_vms = [read for read in snapshot.clusters if read.vms]
    assert len(snapshot.clusters) >= 2 and with_vms and snapshot.graph_requests == 2
    for read in snapshot.clusters:
        for vm in read.vms:
            assert vm.machine["properties"]["parentClusterResourceId"].lower() == read.facts.id.lower()


def test_a_refused_scope_is_a_row_and_the_others_come_back():
    from azext_stack_hci_verify import pipeline
    from azext_stack_hci_verify.pipeline.projections import cluster_rows
    from azext_stack_hci_verify.pipeline.scope import Scope
    conn = sample_connection()
    refusal = http_error(403, arm_body("AuthorizationFailed", "The client has no access to scope '/subscriptions/{}'."
                                       .format(OTHER)))
    calls = {"n": 0}
    original = conn.resourcegraph

    class Refusing:
        def __init__(self):
            self.inner = original()

        def _send_request(self, request):
            calls["n"] += 1
            if request.method == "POST" and OTHER in json.loads(request.content).get("subscriptions", []):
                return refusal.response
            return self.inner._send_request(request)  # pylint: disable=protected-access

    conn.resourcegraph = Refusing
    model = pipeline.evaluate(conn, Scope.of_subscriptions([SUB, OTHER]), now=NOW)
    rows = cluster_rows(model)
    refused = [row for row in rows if row["reasonCode"] == "scope-not-readable"]
    assert len(refused) == 1 and refused[0]["subscriptionId"] == OTHER
    assert len(rows) > 1


class CountingCredential:
    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()

    def get_token_info(self, *scopes, options=None):
        del scopes, options
        with self.lock:
            self.calls += 1
        return AccessTokenInfo("token-{}".format(self.calls), 4102444800)

    def get_token(self, *scopes, **kwargs):
        return self.get_token_info(*scopes, options=kwargs)


def test_one_token_for_every_client_and_thread():
    from concurrent.futures import ThreadPoolExecutor
    inner = CountingCredential()
    credential = CommandCredential(None, SUB, credential=inner)
    scope = "https://management.core.windows.net//.default"
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(lambda _: credential.get_token_info(scope).token, range(40)))
    assert set(tokens) == {"token-1"} and inner.calls == 1 and credential.token_requests == 1
    assert credential.get_token(scope).token == "token-2"      # the other protocol keeps its own entry
    credential.get_token_info(scope, options={"claims": "challenge"})
    assert inner.calls == 3                                     # a claims challenge always asks anew


# ----------------------------------------------------------------------------------- progress and table

class FakeController:
    def __init__(self):
        self.reports, self.ended = [], False

    def add(self, **kwargs):
        self.reports.append(kwargs)

    def end(self, **kwargs):
        del kwargs
        self.ended = True


class FakeContext:
    def __init__(self, only_show_errors=False):
        self.only_show_errors, self.controller = only_show_errors, FakeController()

    def get_progress_controller(self, det=False):
        assert det
        return self.controller


@pytest.mark.parametrize("tty, quiet, shown", [(True, False, True), (False, False, False), (True, True, False)])
def test_progress_only_on_a_terminal_and_never_when_quiet(monkeypatch, tty, quiet, shown):
    monkeypatch.setattr("sys.stderr.isatty", lambda: tty)
    context = FakeContext(only_show_errors=quiet)
    progress = custom._Progress(context)        # pylint: disable=protected-access
    report = progress.reporter("clusters")
    if report:
        report(1000, 2500)
    progress.end()
    assert bool(context.controller.reports) is shown and context.controller.ended is shown
    if shown:
        assert context.controller.reports[0]["value"] == 1000 and context.controller.reports[0]["total_val"] == 2500


def test_the_fleet_vm_table_names_each_cluster():
    from azext_stack_hci_verify._format import transform_vm_list
    rows = transform_vm_list([{"name": "vm1", "cluster": "c1", "benefitStatus": "Unknown"},
                              {"name": "vm2", "cluster": "c2", "benefitStatus": "Unknown"}])
    assert list(rows[0])[:2] == ["Cluster", "Name"] and rows[0]["Cluster"] == "c1"
    assert "Cluster" not in transform_vm_list([{"name": "vm1", "cluster": "c1"}, {"name": "vm2", "cluster": "c1"}])[0]


def test_a_page_holds_each_repeated_string_once_and_reads_the_same():
    rows = json.loads(json.dumps([vm_row("ae-web-01"), vm_row("lnx-db-01")]))
    expected = json.loads(json.dumps(rows))
    shared = rg.share_strings(rows)
    assert shared is rows and rows == expected
    assert rows[0]["type"] is rows[1]["type"] and rows[0]["subscriptionId"] is rows[1]["subscriptionId"]


def test_the_read_lets_its_vm_rows_go_once_used():
    from azext_stack_hci_verify.pipeline.read import _rows_by_cluster  # pylint: disable=protected-access
    vm_rows = [vm_row("ae-web-01"), vm_row("lnx-db-01")]
    by_cluster = _rows_by_cluster(vm_rows)
    assert vm_rows == [None, None] and sum(len(vms) for vms in by_cluster.values()) == 2
