# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Which host-facts files speak for a cluster (its name and one of its servers), how old they are,
and that the answer does not depend on their order."""

import itertools
import json
from datetime import timedelta

import pytest

from azext_stack_hci_verify.core import clusters, vocabulary as v
from azext_stack_hci_verify.core.hostevidence import bind_host_facts, select_host_facts

from .core_fixtures import NOW, arm_cluster, host, host_document

FACTS = clusters.cluster_facts_from_arm(arm_cluster(nodes=("NODE1", "NODE2")))
OTHER_FACTS = clusters.cluster_facts_from_arm(arm_cluster(name="OtherCluster", nodes=("OTHER1",)))


def select(*documents, facts=FACTS, now=NOW):
    return select_host_facts(facts, list(documents), now)


def test_a_file_of_this_cluster_and_one_of_its_servers_applies():
    mine = host(host_document("NODE1"))
    evidence = select(mine)
    assert evidence.documents == (mine,) and evidence.ignored == () and evidence.findings == ()
    assert evidence.fresh() == (mine,)


def test_a_server_named_with_its_domain_matches():
    mine = host(host_document("node1.contoso.local"))
    assert select(mine).documents == (mine,)


def test_a_file_of_another_cluster_is_ignored_with_a_finding():
    other = host(host_document("OTHER1", cluster="OtherCluster"), "other.json")
    evidence = select(other)
    assert evidence.documents == ()
    assert len(evidence.ignored) == 1
    finding = evidence.ignored[0]
    assert finding["name"] == "other.json" and finding["severity"] == "warning" and finding["reasonCode"]
    assert "OtherCluster" in finding["reason"]


def test_a_file_of_this_cluster_name_from_a_machine_that_is_not_its_server_is_ignored():
    stranger = host(host_document("NODE9"), "node9.json")
    evidence = select(stranger)
    assert evidence.documents == () and [item["name"] for item in evidence.ignored] == ["node9.json"]


def test_a_file_that_names_this_cluster_but_another_systems_server_with_the_same_name_is_ignored():
    # Same computer name, different cluster: the cluster name decides.
    twin = host(host_document("NODE1", cluster="OtherCluster"), "twin.json")
    assert select(twin).documents == ()


@pytest.mark.parametrize("age, stale", [
    (timedelta(hours=1), False),
    (timedelta(days=30), False),
    (timedelta(days=30, seconds=1), True),
    (timedelta(days=60), True),
])
def test_age(age, stale):
    document = host(host_document("NODE1", collected=NOW - age))
    evidence = select(document)
    assert evidence.documents == (document,)
    assert evidence.is_stale(document) is stale
    codes = [item["reasonCode"] for item in evidence.findings]
    assert codes == ([v.REASON_HOST_FACTS_STALE] if stale else [])
    if stale:
        finding = evidence.findings[0]
        assert finding["severity"] == "warning" and finding["action"] == v.ACTION_COLLECT_HOST_FACTS
        assert "NODE1" in finding["command"]


def test_an_undated_file_is_stale():
    document = host(host_document("NODE1", collected=None))
    evidence = select(document)
    assert evidence.is_stale(document) and evidence.findings and evidence.findings[0]["command"]


def test_a_file_from_the_future_is_stale_and_a_clock_problem():
    document = host(host_document("NODE1", collected=NOW + timedelta(days=2)))
    evidence = select(document)
    assert evidence.is_stale(document)
    assert [item["reasonCode"] for item in evidence.findings] == [v.REASON_CLOCK_SKEW]
    assert evidence.findings[0]["severity"] == "warning"


def test_a_file_a_minute_ahead_is_fresh():
    document = host(host_document("NODE1", collected=NOW + timedelta(minutes=1)))
    assert not select(document).is_stale(document)


def test_the_order_of_the_files_does_not_matter():
    documents = [host(host_document("NODE1", collected=NOW - timedelta(hours=3)), "a.json"),
                 host(host_document("NODE2", collected=NOW - timedelta(hours=1)), "b.json"),
                 host(host_document("NODE2", collected=NOW - timedelta(hours=1)), "c.json"),
                 host(host_document("NODE1", collected=NOW - timedelta(days=40)), "d.json"),
                 host(host_document("OTHER1", cluster="OtherCluster"), "e.json")]
    first = select(*documents)
    for order in itertools.permutations(documents):
        evidence = select(*order)
        assert [doc.source for doc in evidence.documents] == [doc.source for doc in first.documents]
        assert evidence.ignored == first.ignored and evidence.findings == first.findings
        assert {doc.source for doc in evidence.documents if evidence.is_stale(doc)} == {"d.json"}


def test_bind_places_each_file_on_its_own_cluster_and_reports_a_foreign_one_once():
    mine = host(host_document("NODE1"), "mine.json")
    theirs = host(host_document("OTHER1", cluster="OtherCluster"), "theirs.json")
    nobody = host(host_document("X1", cluster="Elsewhere"), "nobody.json")
    for order in itertools.permutations([mine, theirs, nobody]):
        bound = bind_host_facts([FACTS, OTHER_FACTS], list(order), NOW)
        assert bound.evidence[0].documents == (mine,) and bound.evidence[1].documents == (theirs,)
        assert [item["name"] for item in bound.ignored] == ["nobody.json"]
        assert [item["reasonCode"] for item in bound.ignored] == ["host-facts-other-system"]


def _twin(group):
    """A cluster built from the same template as FACTS (same names), in another resource group."""
    return clusters.cluster_facts_from_arm(json.loads(json.dumps(arm_cluster(nodes=("NODE1", "NODE2")))
                                                      .replace("local-rg", group)))


def test_a_file_with_its_resource_id_binds_to_that_cluster_only():
    twin = _twin("rg-branch-2")
    document = dict(host_document("NODE1"), cluster=dict(host_document("NODE1")["cluster"],
                                                         azureResourceUri=twin.id.upper()))
    for order in ([FACTS, twin], [twin, FACTS]):
        bound = bind_host_facts(order, [host(document, "twin.json")], NOW)
        placed = [facts for facts, evidence in zip(order, bound.evidence) if evidence.documents]
        assert placed == [twin] and not bound.ignored


def test_a_file_without_a_resource_id_that_matches_two_clusters_is_ambiguous_and_ignored():
    twin = _twin("rg-branch-2")
    bound = bind_host_facts([FACTS, twin], [host(host_document("NODE1"), "node1.json")], NOW)
    assert all(not evidence.documents for evidence in bound.evidence)
    (finding,) = bound.ignored
    assert finding["reasonCode"] == "host-facts-ambiguous" and FACTS.id in finding["reason"] and \
        twin.id in finding["reason"]


def test_a_file_whose_failover_cluster_name_matches_does_not_bind_to_another_azure_name():
    document = host_document("NODE1", cluster="SomeOtherAzureName")
    document["cluster"]["clusterName"] = FACTS.reported_cluster_name or FACTS.name
    bound = bind_host_facts([FACTS], [host(document, "failover.json")], NOW)
    assert not bound.evidence[0].documents and bound.ignored[0]["reasonCode"] == "host-facts-other-system"


def test_a_file_of_a_cluster_outside_the_scope_names_it():
    document = dict(host_document("NODE1"), cluster=dict(host_document("NODE1")["cluster"],
                                                         azureResourceUri="/subscriptions/x/resourceGroups/y/providers/"
                                                                          "Microsoft.AzureStackHCI/clusters/z"))
    bound = bind_host_facts([FACTS], [host(document, "z.json")], NOW)
    assert "clusters/z" in bound.ignored[0]["reason"] and not bound.evidence[0].documents


def test_evaluate_cluster_reports_a_foreign_file_when_only_one_cluster_is_judged():
    theirs = host(host_document("OTHER1", cluster="OtherCluster", imds="Disabled"), "theirs.json")
    verdict = clusters.evaluate_cluster(FACTS, [theirs], NOW)
    assert verdict.host.value == v.ON
    assert "theirs.json" in [item["name"] for item in verdict.findings]
