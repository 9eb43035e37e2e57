"""Tests of the emulator's hostile answers (emulator/hostile.py), its foreign listener, the Retry-After
text of a fault, and Resource Graph results kept for their continuation."""

import json
import ssl
import urllib.request

import pytest

from emulator import SAMPLE_FLEET
from emulator.arm import decode_graph_token
from emulator.client import EmulatorError, start_emulator

CLUSTERS = "/providers/Microsoft.AzureStackHCI/clusters"
GRAPH = "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
QUERY = "resources | project id, name | order by id asc"


@pytest.fixture(scope="module", name="emu")
def fixture_emu():
    handle = start_emulator(SAMPLE_FLEET, page_size=2, in_process=True)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _clean(emu):
    emu.clear_hostile()
    emu.clear_foreign_requests()
    yield
    emu.clear_hostile()
    emu.clear_faults()


def clusters_path(emu):
    return "/subscriptions/{}{}?api-version=2026-10-01".format(emu.subscriptions[0], CLUSTERS)


def graph(emu, token=None, top=3):
    options = {"$top": top}
    if token is not None:
        options["$skipToken"] = token
    return emu.request("POST", GRAPH, body={"query": QUERY, "options": options})


def test_foreign_next_link_leads_to_the_listener_which_records_what_it_gets(emu):
    emu.set_hostile(next_link={"mode": "foreign", "pattern": "/clusters$"})
    status, _, page = emu.request("GET", clusters_path(emu))
    assert status == 200 and page["nextLink"].startswith(emu.foreign_url + "/subscriptions/")
    assert "skipToken" in page["nextLink"] and emu.foreign_url != emu.base_url
    context = ssl.create_default_context(cafile=emu.ca_bundle)
    request = urllib.request.Request(page["nextLink"].replace("$", "%24"), headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        assert json.loads(answer.read()) == {"value": []}
    (seen,) = emu.foreign_requests()
    assert seen["method"] == "GET" and seen["authorization"] is True and seen["scheme"] == "https"
    _, _, subscriptions = emu.request("GET", "/subscriptions?api-version=2022-12-01")
    assert "nextLink" not in subscriptions or subscriptions["nextLink"].startswith(emu.base_url)


def test_plain_http_links(emu):
    emu.set_hostile(next_link={"mode": "http"})
    _, _, page = emu.request("GET", clusters_path(emu))
    assert page["nextLink"].startswith("http://127.0.0.1:{}/".format(emu.base_url.rsplit(":", 1)[1]))
    emu.set_hostile(next_link={"mode": "foreign-http"})
    _, _, page = emu.request("GET", clusters_path(emu))
    assert page["nextLink"].startswith(emu.foreign_http_url + "/")
    with urllib.request.urlopen(page["nextLink"].replace("$", "%24"), timeout=10) as answer:
        assert json.loads(answer.read()) == {"value": []}
    assert emu.foreign_requests()[0]["scheme"] == "http" and not emu.foreign_requests()[0]["authorization"]


def test_a_next_link_to_itself_and_an_endless_one(emu):
    emu.set_hostile(next_link={"mode": "self"})
    _, _, first = emu.request("GET", clusters_path(emu))
    _, _, again = emu.request("GET", first["nextLink"])
    assert again["nextLink"] == first["nextLink"] and again["value"] == first["value"]
    emu.set_hostile(next_link={"mode": "endless"})
    link, links = clusters_path(emu), set()
    for _ in range(10):
        _, _, page = emu.request("GET", link)
        link = page["nextLink"]
        links.add(link)
    assert len(links) == 10 and page["value"] == []


def test_a_redirect_to_the_foreign_listener(emu):
    emu.set_hostile(redirect={"pattern": "/clusters$", "to": "foreign", "status": 302})
    status, _, body = emu.request("GET", clusters_path(emu))        # urllib follows it
    assert status == 200 and body == {"value": []}
    (seen,) = emu.foreign_requests()
    assert seen["path"] == clusters_path(emu)
    (logged,) = [entry for entry in emu.requests() if entry["path"].endswith("/clusters")][-1:]
    assert logged["status"] == 302


@pytest.mark.parametrize("mode, check", [
    ("data-string", lambda page: isinstance(page["data"], str) and json.loads(page["data"])),
    ("data-missing", lambda page: "data" not in page and page["totalRecords"] > 3),
    ("data-not-objects", lambda page: all(isinstance(row, str) for row in page["data"])),
    ("count-wrong", lambda page: page["count"] == len(page["data"]) + 1),
    ("total-high", lambda page: page["totalRecords"] > 1000),
    ("token-not-string", lambda page: page["$skipToken"] == 3),
])
def test_graph_answers_of_the_wrong_shape(emu, mode, check):
    emu.set_hostile(graph={"mode": mode})
    status, _, page = graph(emu)
    assert status == 200 and check(page)


def test_graph_tokens_that_repeat_or_never_end(emu):
    emu.set_hostile(graph={"mode": "repeat-token"})
    _, _, first = graph(emu)
    _, _, second = graph(emu, first["$skipToken"])
    assert second["$skipToken"] == first["$skipToken"] and second["data"] == first["data"][:0] + second["data"]
    emu.set_hostile(graph={"mode": "endless-token"})
    token, tokens = None, set()
    for _ in range(5):
        _, _, page = graph(emu, token, top=1000)
        token = page["$skipToken"]
        tokens.add(token)
    assert page["data"] == [] and len(tokens) == 5 and page["totalRecords"] < 1000


def test_hostile_settings_are_checked(emu):
    for bad in ({"nextLink": {"mode": "nope"}}, {"graph": {"mode": "x"}}, {"other": 1},
                {"redirect": {"to": "foreign"}}, {"nextLink": {"mode": "self", "pattern": "("}}):
        with pytest.raises(EmulatorError, match="400"):
            emu._control("POST", "/hostile", body=bad)  # pylint: disable=protected-access


def test_retry_after_as_text_is_sent_as_it_is(emu):
    emu.add_fault("/clusters$", status=429, retry_after="Wed, 21 Oct 2099 07:28:00 GMT", count=1)
    emu.add_fault("/clusters$", status=429, retry_after="soon", count=1)
    assert emu.request("GET", clusters_path(emu))[1]["Retry-After"] == "Wed, 21 Oct 2099 07:28:00 GMT"
    assert emu.request("GET", clusters_path(emu))[1]["Retry-After"] == "soon"


def test_a_graph_result_is_kept_for_its_continuation(emu):
    _, _, first = graph(emu)
    result_id, offset = decode_graph_token(first["$skipToken"])
    assert result_id and offset == 3
    added = {"id": "/subscriptions/{}/resourceGroups/aaa-new/providers/Microsoft.HybridCompute/machines/"
                   "aaa".format(emu.subscriptions[0]), "name": "aaa", "type": "Microsoft.HybridCompute/machines",
             "location": "eastus"}
    emu.put_resources(added)
    try:
        _, _, second = graph(emu, first["$skipToken"])
        assert second["totalRecords"] == first["totalRecords"]       # the kept result, not the query again
        _, _, fresh = graph(emu)
        assert fresh["totalRecords"] == first["totalRecords"] + 1
        _, _, other = emu.request("POST", GRAPH, body={"query": QUERY + " | limit 1000",
                                                       "options": {"$top": 3, "$skipToken": first["$skipToken"]}})
        assert other["totalRecords"] == first["totalRecords"] + 1      # another query's token: run again
    finally:
        emu.delete_resource(added["id"])
