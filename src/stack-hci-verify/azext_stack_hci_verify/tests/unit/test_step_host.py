# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Step 3 of the VM verdict: within the step, a definite host-side failure beats "cannot tell"."""

from datetime import timedelta

from azext_stack_hci_verify.core import clusters, vocabulary as v
from azext_stack_hci_verify.core.inventory import judge_vms

from .core_fixtures import NOW, arm_cluster, host, host_document, host_vm
from .test_inventory import arm_vm


def test_only_server_expired_and_a_stale_file_is_inactive_with_sync_not_collect():
    """ARM synced 35 days ago; the only host file is 33 days old (stale): the server is Expired for
    certain, so the VM is Inactive benefits with Sync with Azure, whatever else is unknown."""
    document = arm_cluster(nodes=("NODE1",), last_sync=NOW - timedelta(days=35))
    stale = host(host_document("NODE1", collected=NOW - timedelta(days=33), expiration=NOW - timedelta(days=3)),
                 "old.json")
    verdict = clusters.evaluate_cluster(clusters.cluster_facts_from_arm(document), [stale], NOW)
    assert [server.status for server in verdict.servers] == [v.SERVER_EXPIRED]
    (judged,) = [item for item in judge_vms(verdict, [arm_vm("vm01")]) if item.facts.name == "vm01"]
    assert judged.verdict.benefit_status == v.BENEFITS_INACTIVE
    assert judged.verdict.action == v.ACTION_SYNC


def test_a_stale_files_guest_os_does_not_hide_an_expired_server():
    """The same, with the VM's guest OS reported only by the stale file: the definite failure of the
    host still decides (the stale guest OS is "cannot tell", not a final answer)."""
    document = arm_cluster(nodes=("NODE1",), last_sync=NOW - timedelta(days=35))
    stale = host(host_document("NODE1", collected=NOW - timedelta(days=33), expiration=NOW - timedelta(days=3),
                               vms=[host_vm("vm01")]), "old.json")
    verdict = clusters.evaluate_cluster(clusters.cluster_facts_from_arm(document), [stale], NOW)
    (judged,) = [item for item in judge_vms(verdict, []) if item.facts.name == "vm01"]
    assert judged.verdict.benefit_status == v.BENEFITS_INACTIVE and judged.verdict.action == v.ACTION_SYNC


def test_a_stale_files_guest_os_without_a_benefit_is_unknown_not_no_applicable_benefits():
    stale = host(host_document("NODE1", collected=NOW - timedelta(days=33),
                               vms=[host_vm("vm01", os_name="Ubuntu 22.04", version="22.04")]), "old.json")
    verdict = clusters.evaluate_cluster(clusters.cluster_facts_from_arm(arm_cluster(nodes=("NODE1",))), [stale], NOW)
    (judged,) = [item for item in judge_vms(verdict, []) if item.facts.name == "vm01"]
    assert judged.verdict.benefit_status == v.BENEFITS_UNKNOWN and judged.verdict.reason_code == "host-facts-stale"
