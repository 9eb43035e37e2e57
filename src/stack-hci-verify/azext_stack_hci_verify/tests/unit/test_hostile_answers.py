# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Hostile answers against fakes (no network, nothing sleeps): where a request may go (the host
check before the bearer token), Retry-After values of every kind, the one paging loop and its
bounds, ARM list pages and Resource Graph answers of the wrong shape, and the messages of Resource
Graph failures."""

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror
from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceResponseError, ServiceResponseTimeoutError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RedirectPolicy
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport
from azure.core.utils import CaseInsensitiveDict

from azext_stack_hci_verify import errors
from azext_stack_hci_verify.adapters import arm, arm_pipeline, paging
from azext_stack_hci_verify.adapters import resourcegraph as rg

from .arm_fakes import arm_body, http_error
from .test_resourcegraph import FakeAnswer, FakeGraph

ARM = "https://127.0.0.1:8443/"
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"


# ----------------------------------------------------------------------------------- where requests go

@pytest.mark.parametrize("url", [
    "https://127.0.0.1:8443/subscriptions?api-version=1", "HTTPS://127.0.0.1:8443/x", "https://127.0.0.1:8443"])
def test_the_configured_host_over_https_is_allowed(url):
    assert arm_pipeline.TrustedHostPolicy(ARM).allows(url)


@pytest.mark.parametrize("url, host", [
    ("https://127.0.0.1:9443/subscriptions?$skipToken=x", "127.0.0.1:9443"),
    ("https://127.0.0.2:8443/subscriptions", "127.0.0.2:8443"),
    ("http://127.0.0.1:8443/subscriptions", "127.0.0.1:8443"),
    ("https://127.0.0.1/subscriptions", "127.0.0.1"),
    ("https://127.0.0.1:8443@evil.example/x", "evil.example"),
    ("https://evil.example/?https://127.0.0.1:8443/", "evil.example"),
    ("/relative/path", "(none)"),
    ("https://[::1]:8443/x", "[::1]:8443"),
    ("https://127.0.0.1:99999/x", "(none)"),
    ("https://ev\x1bil.example/x", "ev\\x1bil.example"),
])
def test_any_other_host_port_or_scheme_is_refused_and_named(url, host):
    policy = arm_pipeline.TrustedHostPolicy(ARM)
    assert not policy.allows(url)
    with pytest.raises(arm_pipeline.UntrustedUrlError) as raised:
        policy.on_request(SimpleNamespace(http_request=SimpleNamespace(url=url)))
    assert isinstance(raised.value, errors.ServiceError)
    assert "'{}'".format(host) in raised.value.error_msg and "'127.0.0.1:8443'" in raised.value.error_msg
    assert "nothing was sent" in raised.value.error_msg and "\x1b" not in raised.value.error_msg


class Response(HttpResponse):
    def __init__(self, request, status, headers=None, body=b""):
        super().__init__(request, None)
        self.status_code, self.reason, self._body = status, "fake", body
        self.headers = CaseInsensitiveDict(headers or {})

    def body(self):
        return self._body


class Transport(HttpTransport):
    """Answers from a script of (status, headers); records what it was asked to send."""

    def __init__(self, script=()):
        self.script, self.sent, self.slept = list(script), [], []

    def send(self, request, **kwargs):
        self.sent.append((request.url, dict(request.headers)))
        status, headers = self.script.pop(0) if self.script else (200, {})
        return Response(request, status, headers)

    def sleep(self, duration):
        self.slept.append(duration)

    def open(self):
        pass

    def close(self):
        pass

    def __exit__(self, *args):
        pass


class Credential:
    def __init__(self):
        self.asked = 0

    def get_token(self, *scopes, **kwargs):
        self.asked += 1
        return AccessToken("secret-token", 2 ** 31)


def arm_pipeline_for(transport, credential):
    """The policies in the order azure-mgmt-core's generated clients put them, with the extension's."""
    return Pipeline(transport, policies=[
        RedirectPolicy(), arm_pipeline.DeadlineRetryPolicy(timeout=20.0), arm_pipeline.TrustedHostPolicy(ARM),
        arm_pipeline.DeadlinePolicy(connection_timeout=10.0, read_timeout=20.0),
        BearerTokenCredentialPolicy(credential, "https://management.core.windows.net/.default")])


def test_a_foreign_host_gets_nothing_and_no_token_is_even_asked_for():
    transport, credential = Transport(), Credential()
    with pytest.raises(arm_pipeline.UntrustedUrlError, match="127.0.0.2:8443"):
        arm_pipeline_for(transport, credential).run(HttpRequest("GET", "https://127.0.0.2:8443/subscriptions"))
    assert transport.sent == [] and credential.asked == 0


def test_a_redirect_to_another_host_is_not_followed():
    transport, credential = Transport([(302, {"Location": "https://127.0.0.1:9443/stolen"})]), Credential()
    with pytest.raises(arm_pipeline.UntrustedUrlError, match="127.0.0.1:9443"):
        arm_pipeline_for(transport, credential).run(HttpRequest("GET", ARM + "subscriptions"))
    assert [url for url, _ in transport.sent] == [ARM + "subscriptions"]
    assert transport.sent[0][1]["Authorization"] == "Bearer secret-token"


def test_the_configured_host_gets_the_token():
    transport = Transport()
    response = arm_pipeline_for(transport, Credential()).run(HttpRequest("GET", ARM + "subscriptions"))
    assert response.http_response.status_code == 200 and len(transport.sent) == 1


# ----------------------------------------------------------------------------------- Retry-After

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("headers, seconds", [
    ({"Retry-After": "120"}, 120.0), ({"retry-after": " 2.5 "}, 2.5), ({"Retry-After": "-5"}, 0.0),
    ({"Retry-After": format_datetime(NOW + timedelta(hours=1), usegmt=True)}, 3600.0),
    ({"Retry-After": "Sun, 22 Nov 2026 11:00:00 GMT"}, 0.0),
    ({"Retry-After": "soon"}, None), ({"Retry-After": "NaN"}, None), ({"Retry-After": "inf"}, None),
    ({"Retry-After": ""}, None), ({"Retry-After": "Mon, 99 Foo 2026 99:99:99 GMT"}, None),
    ({"retry-after-ms": "1500"}, 1.5), ({"x-ms-retry-after-ms": "250"}, 0.25), ({"retry-after-ms": "x"}, None),
    ({}, None), (None, None)])
def test_retry_after_is_a_number_or_an_http_date_and_nothing_else(headers, seconds):
    assert arm_pipeline.retry_after_seconds(headers, now=NOW) == seconds


@pytest.mark.parametrize("value", ["soon", "Mon, 99 Foo 2026 99:99:99 GMT", "1e999999", "\x00"])
def test_a_retry_after_that_is_no_time_falls_back_to_the_default_backoff(value):
    transport = Transport([(429, {"Retry-After": value}), (200, {})])
    pipeline = Pipeline(transport, policies=[arm_pipeline.DeadlineRetryPolicy(timeout=20.0),
                                             arm_pipeline.DeadlinePolicy(connection_timeout=10.0, read_timeout=20.0)])
    assert pipeline.run(HttpRequest("GET", ARM)).http_response.status_code == 200
    assert len(transport.sent) == 2 and all(seconds < 20.0 for seconds in transport.slept)


def test_an_http_date_an_hour_ahead_says_how_long_arm_asked():
    later = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    error = arm.translate_error(http_error(429, arm_body("SubscriptionRequestsThrottled", "slow down"),
                                           headers={"Retry-After": later}),
                                arm.ArmRead("The clusters", "/subscriptions/s", arm.PERMISSION_CLUSTERS, timeout=20.0))
    assert "asked to wait 3600 seconds (Retry-After)" in error.error_msg or \
        "asked to wait 3599 seconds (Retry-After)" in error.error_msg
    assert "Run the command again in 3" in error.recommendations[0]


# ----------------------------------------------------------------------------------- the paging loop

LISTING = paging.Listing("ARM", "the clusters of resource group 'g'", "nextLink", "items", 60.0, max_pages=50)


def drain(script, listing=LISTING, clock=None):
    """Run paging.pages over pages given as (items, continuation); return what was fetched."""
    fetched = []

    def fetch(token):
        fetched.append(token)
        return script(token)
    kwargs = {"clock": clock} if clock else {}
    list(paging.each_page(fetch, lambda page: page[1], lambda page: page[0], listing, **kwargs))
    return fetched


def test_a_continuation_to_itself_ends_at_the_second_page():
    with pytest.raises(paging.PagingError, match="handed back a nextLink it had given before") as raised:
        drain(lambda token: (10, "https://arm/self"))
    assert (raised.value.pages, raised.value.items) == (2, 20)
    assert "after 2 pages (20 items)" in raised.value.error_msg and "partial answer is not reported" in \
        raised.value.error_msg


def test_a_cycle_ends_when_a_continuation_comes_back():
    cycle = {None: "a", "a": "b", "b": "c", "c": "a"}
    with pytest.raises(paging.PagingError, match="given before"):
        drain(lambda token: (1, cycle[token]))


def test_an_endless_list_of_new_continuations_ends_at_the_page_bound():
    with pytest.raises(paging.PagingError, match="did not end within 50 pages") as raised:
        drain(lambda token: (0, str(int(token or 0) + 1)))
    assert raised.value.pages == 50


def test_a_slow_endless_list_ends_at_its_time():
    clock = SimpleNamespace(now=0.0)

    def tick():
        clock.now += 7.0
        return clock.now
    with pytest.raises(paging.PagingError, match="did not end within 60 seconds") as raised:
        drain(lambda token: (1, str(int(token or 0) + 1)), clock=tick)
    assert raised.value.pages < 50 and "STACK_HCI_VERIFY_ARM_TIMEOUT" in raised.value.recommendations[0]


def test_a_list_that_ends_is_read_to_its_last_page():
    assert drain(lambda token: (3, {None: "p2", "p2": "p3", "p3": None}[token])) == [None, "p2", "p3"]


# ----------------------------------------------------------------------------------- ARM lists

class FakeArm:
    """send_request over pages {url: page}; records the URLs asked for."""

    def __init__(self, pages):
        self.pages, self.asked = pages, []

    def send_request(self, request):
        self.asked.append(request.url)
        for url, page in self.pages.items():
            if request.url.startswith(url):
                return FakeAnswer(page)
        raise AssertionError(request.url)


READ = arm.ArmRead("The clusters of resource group 'g'", "/subscriptions/s/resourceGroups/g", arm.PERMISSION_CLUSTERS)
LIST = "/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters"


def test_an_arm_list_follows_next_links_with_the_api_version():
    client = FakeArm({LIST: {"value": [{"id": "a"}], "nextLink": ARM + "page2?api-version=2026-10-01&$skipToken=1"},
                      ARM + "page2": {"value": [{"id": "b"}], "nextLink": ARM + "page3"},
                      ARM + "page3": {"value": [], "nextLink": None}})
    assert arm.list_documents(client, LIST, "2026-10-01", READ, 60.0) == [{"id": "a"}, {"id": "b"}]
    assert client.asked[1].count("api-version") == 1 and client.asked[2].endswith("page3?api-version=2026-10-01")


def test_an_arm_list_whose_next_link_is_itself_ends():
    client = FakeArm({LIST: {"value": [{"id": "a"}], "nextLink": ARM + "self"},
                      ARM + "self": {"value": [{"id": "b"}], "nextLink": ARM + "self"}})
    with pytest.raises(paging.PagingError, match="ARM handed back a nextLink it had given before while reading "
                                                 "the clusters of resource group 'g'"):
        arm.list_documents(client, LIST, "2026-10-01", READ, 60.0)
    assert len(client.asked) == 2


@pytest.mark.parametrize("page, problem", [
    ({"value": "nope"}, "value is not a list of objects"), ({}, "value is not a list of objects"),
    ({"value": [{"id": "a"}, 3]}, "value is not a list of objects"), ([], "is not a JSON object"),
    ({"value": [], "nextLink": 7}, "nextLink is not a URL")])
def test_an_arm_page_of_the_wrong_shape_is_an_error(page, problem):
    with pytest.raises(paging.PagingError, match=problem):
        arm.list_documents(FakeArm({LIST: page}), LIST, "2026-10-01", READ, 60.0)


# ----------------------------------------------------------------------------------- Resource Graph answers

ROWS = [{"id": "/subscriptions/{}/r/{}".format(SUB, index), "subscriptionId": SUB} for index in range(2500)]


def hostile(change):
    """A FakeGraph over ROWS whose answers `change(answer)` alters."""
    def shape(answer):
        answer = dict(answer)
        change(answer)
        return answer
    return FakeGraph(ROWS, shape=shape)


@pytest.mark.parametrize("change, problem", [
    (lambda answer: answer.update(data="[]"), "its data is a string, not a list of rows"),
    (lambda answer: answer.pop("data"), "the answer has no data"),
    (lambda answer: answer.update(data=None), "its data is null"),
    (lambda answer: answer.update(data=[{"id": "x"}, "row"], count=2), "its data holds a string where a row"),
    (lambda answer: answer.update(count=answer["count"] + 1), r"its count \(1001\) is not the 1000 rows"),
    (lambda answer: answer.pop("count"), r"its count \(None\)"),
    (lambda answer: answer.update(totalRecords="2500"), "its totalRecords .* is not a number of rows"),
    (lambda answer: answer.update({"$skipToken": 1000}), r"its \$skipToken is a number, not a string"),
    (lambda answer: answer.update(totalRecords=3000), r"its pages ended at 2,500 of its totalRecords \(3,000\)"),
    (lambda answer: answer.update(totalRecords=1500), r"more rows than its totalRecords \(1,500\)"),
])
def test_a_graph_answer_of_the_wrong_shape_is_an_error_never_a_partial_list(change, problem):
    with pytest.raises(paging.PagingError, match=problem) as raised:
        rg.query_pages(hostile(change), rg.clusters_query(), subscriptions=[SUB], what="the clusters")
    assert "Resource Graph's answer reading the clusters is not what it should be" in raised.value.error_msg


def test_a_graph_answer_whose_data_is_a_string_with_records_is_an_error():
    client = FakeGraph([], shape=lambda answer: dict(answer, data="oops", totalRecords=23))
    with pytest.raises(paging.PagingError, match="data is a string"):
        rg.query_scoped(client, rg.clusters_query(), subscriptions=[SUB], what="the clusters")


def test_a_skip_token_that_repeats_ends_at_the_second_page():
    client = hostile(lambda answer: answer.update({"$skipToken": "same"}))
    with pytest.raises(paging.PagingError, match=r"handed back a \$skipToken it had given before") as raised:
        rg.query_pages(client, rg.clusters_query(), subscriptions=[SUB], what="the clusters")
    assert len(client.requests) == 2 and "after 2 pages (2,000 rows)" in raised.value.error_msg


def test_a_skip_token_after_the_last_row_is_an_error():
    client = hostile(lambda answer: answer.setdefault("$skipToken", "more"))
    with pytest.raises(paging.PagingError, match="after the last of its totalRecords"):
        rg.query_pages(client, rg.clusters_query(), subscriptions=[SUB], what="the clusters")
    assert len(client.requests) == 3


def test_an_endless_skip_token_with_empty_pages_is_an_error():
    client = FakeGraph([], shape=lambda answer: dict(answer, totalRecords=10 ** 9, **{"$skipToken": "t"}))
    with pytest.raises(paging.PagingError, match=r"an empty page with a \$skipToken"):
        rg.query_pages(client, rg.clusters_query(), subscriptions=[SUB], what="the clusters")
    assert len(client.requests) == 1


def test_a_well_formed_fleet_is_read_whole():
    rows, requests = rg.query_pages(FakeGraph(ROWS), rg.clusters_query(), subscriptions=[SUB])
    assert rows == ROWS and requests == 3


@pytest.mark.parametrize("error, words", [
    (ServiceResponseTimeoutError("HTTPSConnectionPool(host='127.0.0.1', port=1): Read timed out. (read timeout=20)"),
     "Resource Graph gave no answer reading the clusters within 20 seconds (timed out)"),
    (ServiceResponseError("Connection aborted."), "Resource Graph gave no answer reading the clusters"),
    (http_error(502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                reason="Bad Gateway", content_type="text/html"),
     "Resource Graph answered 502 Bad Gateway reading the clusters: 502 Bad Gateway nginx"),
    (http_error(503, arm_body("ServiceUnavailable", "Try later.")),
     "Resource Graph answered 503 fake reading the clusters: Try later."),
])
def test_graph_failures_say_what_happened(error, words):
    client = FakeGraph([], error=error)
    client.stack_hci_verify_arm_timeout = 20.0
    with pytest.raises(errors.VerificationError) as raised:
        rg.query_scoped(client, rg.clusters_query(), subscriptions=[SUB], what="the clusters")
    message = raised.value.error_msg
    assert message.startswith(words.replace(" fake", "")) or words in message, message
    assert "HTTPSConnectionPool" not in message and "Operation returned" not in message and "\n" not in message


def test_the_api_versions_are_the_sdks():
    from azure.mgmt.hybridcompute._configuration import HybridComputeManagementClientConfiguration
    from azure.mgmt.resourcegraph._configuration import ResourceGraphClientConfiguration
    assert HybridComputeManagementClientConfiguration(credential=object(), subscription_id="s").api_version == \
        arm.MACHINES_API_VERSION
    assert ResourceGraphClientConfiguration(credential=object()).api_version == rg.GRAPH_API_VERSION


def test_a_graph_request_is_the_sdks_query_request():
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions
    body = rg._body("q", ["s1"], ["g1"], "t")  # pylint: disable=protected-access
    sdk = QueryRequest(subscriptions=["s1"], management_groups=["g1"], query="q",
                       options=QueryRequestOptions(top=rg.PAGE_ROWS, skip_token="t", result_format="objectArray"))
    assert json.loads(json.dumps(body)) == sdk.serialize()


# ----------------------------------------------------------------------------------- input and sign-in

@pytest.mark.parametrize("ids", [[""], ["", "  "], ["\t"]])
def test_ids_with_no_resource_id_is_a_one_line_error(ids):
    from azext_stack_hci_verify._validators import validate_cluster_reference
    namespace = SimpleNamespace(ids=ids, cluster_name=None, resource_group_name=None)
    with pytest.raises(azclierror.InvalidArgumentValueError, match="--ids was given no resource ID") as raised:
        validate_cluster_reference(None, namespace)
    assert "-n and -g" in raised.value.recommendations[0]


class FailingCredential:
    def __init__(self, message):
        self.message = message

    def get_token(self, *scopes, **kwargs):
        raise azclierror.AuthenticationError(self.message, msal_error={"error": "invalid_scope",
                                                                       "error_description": self.message})


@pytest.mark.parametrize("said, words", [
    ("None, None", "the token service answered with an error and gave no reason (invalid_scope)"),
    (None, "gave no reason"), ("AADSTS700016: no such app.", "az's sign-in said: AADSTS700016: no such app")])
def test_a_failing_token_endpoint_is_said_in_words(said, words):
    from azext_stack_hci_verify.adapters.credential import CommandCredential
    credential = CommandCredential(None, "s", FailingCredential(said))
    with pytest.raises(azclierror.AuthenticationError) as raised:
        credential.get_token("https://management.core.windows.net/.default")
    assert raised.value.error_msg.startswith("No access token for ARM could be obtained: ") and words in \
        raised.value.error_msg
    assert "None, None" not in raised.value.error_msg and "az account get-access-token" in \
        raised.value.recommendations[0]
