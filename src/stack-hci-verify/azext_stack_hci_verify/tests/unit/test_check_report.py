# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The report of `check`, pure: totals by status, one finding per thing to fix with the resource it is
about, the --fail-on matrix (each level against clusters that each have one kind of problem), and the
JUnit and Markdown renderings, with names that carry control characters, pipes and markup."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from azext_stack_hci_verify.core import inventory, report, vocabulary as v
from azext_stack_hci_verify.core import trusted_launch as tl
from azext_stack_hci_verify.core.report_render import (MAX_SUMMARY_ROWS, cell, code_cell, render_junit,
                                                       render_markdown, visible)
from azext_stack_hci_verify.core.trusted_launch.checks import evaluate_vm as evaluate_tl_vm

from .core_fixtures import AE_2022, CLUSTER_ID, NOW, arm_cluster, evaluate, node_arc_id

HOSTILE = "evil\n| x\x1b[31m\x00<b>[a](http://x)`\u2028\ud800\ufffe"


def machine(name, os_sku=AE_2022, version="10.0.20348.2402", cluster_id=CLUSTER_ID):
    return {"id": node_arc_id(name), "name": name, "kind": "HCI", "type": "Microsoft.HybridCompute/machines",
            "properties": {"parentClusterResourceId": cluster_id, "osName": "windows", "osSku": os_sku,
                           "osVersion": version}}


def instance(name, security=None):
    return {"id": node_arc_id(name) + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
            "properties": {"hyperVVmId": None, "hostNodeName": "NODE1", "securityProfile": security}}


def checked(document=None, vms=(), trusted_launch=(), findings=()):
    """A CheckedCluster of an ARM cluster document and ARM VMs (name, osSku, version)."""
    verdict = evaluate(document or arm_cluster())
    arm_vms = [inventory.ArmVm(machine(name, sku, version, verdict.facts.id), instance(name), None)
               for name, sku, version in vms]
    judged = inventory.judge_vms(verdict, arm_vms)
    return report.CheckedCluster(verdict.facts.id, verdict.facts.name, verdict, tuple(judged),
                                 tuple(trusted_launch), tuple(findings))


def build(clusters, levels=()):
    return report.build_report(clusters, report.parse_levels(levels), NOW, scope={"kind": "clusters"})


# Clusters that each have one kind of problem (the fixtures' default cluster is healthy: synced
# two days ago, Azure verification on, legacy OS support listed, two servers).
HEALTHY = arm_cluster(name="healthy")
OFF = arm_cluster(name="off", imds="Disabled")
EXPIRED = arm_cluster(name="expired", last_sync=NOW - timedelta(days=45))
NEW_VALUE = arm_cluster(name="newvalue", imds="SomethingNew")
INFO_ONLY = arm_cluster(name="infoonly", capabilities=("ArcVmManagement",))


# ----------------------------------------------------------------------------- levels


def test_parse_levels_accepts_any_case_commas_and_repeats_in_a_fixed_order():
    assert report.parse_levels(["Warning", "expired,INACTIVE", "expired"]) == ("expired", "inactive", "warning")
    assert report.parse_levels(None) == () and report.parse_levels([" , "]) == ()
    with pytest.raises(ValueError, match="^fatal$"):
        report.parse_levels(["error", "fatal"])


@pytest.mark.parametrize("document, matching", [
    (HEALTHY, set()),
    (OFF, {"off", "inactive", "error", "warning", "any"}),
    (EXPIRED, {"expired", "error", "warning", "any"}),
    (NEW_VALUE, {"unknown", "warning", "any"}),
    (INFO_ONLY, {"any"}),
])
def test_fail_on_matrix(document, matching):
    for level in report.FAIL_ON_LEVELS:
        result = build([checked(document)], [level])
        assert result.exit_code == (1 if level in matching else 0), (document["name"], level)
        assert result.to_dict()["failed"] is (level in matching)
    assert build([checked(document)]).exit_code == 0          # no --fail-on: report only
    assert build([checked(document)], list(report.FAIL_ON_LEVELS)).exit_code == (1 if matching else 0)


def test_vm_levels():
    cluster = checked(vms=[("ae-old", AE_2022, "10.0.20348.1000"), ("linux", "Ubuntu", "22.04")])
    assert build([cluster], ["inactive"]).exit_code == 1       # build below the minimum: Inactive benefits
    assert build([cluster], ["unknown"]).exit_code == 0
    matched = [f for f in build([cluster], ["inactive"]).findings if f["matched"]]
    assert [(f["scope"], f["name"], f["status"]) for f in matched] == [("vm", "ae-old", v.BENEFITS_INACTIVE)]


# ----------------------------------------------------------------------------- findings and totals


def test_every_server_of_an_off_cluster_has_its_own_finding_with_its_resource_id():
    view = build([checked(OFF)]).to_dict()
    servers = [f for f in view["findings"] if f["scope"] == "server"]
    assert [(f["name"], f["status"], f["resourceId"]) for f in servers] == [
        ("NODE1", "Inactive", node_arc_id("NODE1")), ("NODE2", "Inactive", node_arc_id("NODE2"))]
    assert all(f["action"] == v.ACTION_SYNC and f["command"] == v.COMMAND_SYNC for f in servers)
    (cluster,) = [f for f in view["findings"] if f["scope"] == "cluster"]
    assert (cluster["resourceId"], cluster["status"], cluster["cluster"]) == (OFF["id"], "Off", "off")


def test_a_server_finding_the_cluster_already_has_is_not_repeated():
    view = build([checked(EXPIRED)]).to_dict()
    names = [f["name"] for f in view["findings"] if f["scope"] == "server"]
    assert sorted(names) == ["NODE1", "NODE2"]


def test_totals_by_status_and_severity():
    clusters = [checked(HEALTHY, vms=[("ae", AE_2022, "10.0.20348.2402"), ("ae-old", AE_2022, "10.0.20348.1000"),
                                      ("linux", "Ubuntu", "22.04")]),
                checked(OFF), checked(EXPIRED), checked(NEW_VALUE)]
    totals = build(clusters).to_dict()["totals"]
    assert totals["clusters"] == {"total": 4, "on": 2, "off": 1, "unknown": 1}
    assert totals["servers"] == {"total": 8, "active": 2, "expired": 2, "inactive": 2, "error": 0, "unknown": 2}
    assert totals["vms"]["total"] == 3 and totals["vms"]["noApplicableBenefits"] == 1
    assert totals["vms"]["activeBenefits"] + totals["vms"]["inactiveBenefits"] + totals["vms"]["unknown"] == 2
    assert totals["trustedLaunch"]["total"] == 0
    findings = build(clusters).to_dict()["findings"]
    assert totals["findings"]["total"] == len(findings)
    assert totals["findings"]["error"] == sum(1 for f in findings if f["severity"] == "error")


def test_findings_are_most_severe_first_and_do_not_depend_on_cluster_order():
    clusters = [checked(INFO_ONLY), checked(NEW_VALUE), checked(OFF), checked(EXPIRED)]
    one = build(clusters).to_dict()
    other = build(list(reversed(clusters))).to_dict()
    assert one == other
    ranks = ["error", "warning", "info"]
    assert [ranks.index(f["severity"]) for f in one["findings"]] == sorted(
        ranks.index(f["severity"]) for f in one["findings"])
    assert list(one["findings"][0]) == ["scope", "resourceId", "name", "cluster", "status", "severity", "reasonCode",
                                        "reason", "action", "command", "runOn", "learnMore", "matched"]


def test_a_cluster_that_could_not_be_read_is_unknown_with_an_error():
    unread = report.CheckedCluster("/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/gone",
                                   "gone", findings=({"scope": "cluster", "name": "gone", "severity": "error",
                                                      "reasonCode": "cluster-not-readable", "reason": "not found",
                                                      "action": None, "command": None},))
    result = build([checked(HEALTHY), unread], ["unknown"])
    assert result.exit_code == 1
    assert result.to_dict()["totals"]["clusters"] == {"total": 2, "on": 1, "off": 0, "unknown": 1}


def test_an_unreadable_subscription_is_not_counted_as_a_cluster():
    finding = {"scope": "subscription", "name": "sub2", "severity": "error", "reasonCode": "scope-not-readable",
               "reason": "denied", "action": "Grant read access", "command": "az role assignment create ..."}
    unread = report.CheckedCluster("/subscriptions/sub2", "sub2", findings=(finding,), scope="subscription")
    result = build([checked(HEALTHY), unread], ["error"])
    view = result.to_dict()
    assert result.exit_code == 1 and view["totals"]["clusters"]["total"] == 1
    assert view["findings"][0]["scope"] == "subscription" and view["findings"][0]["resourceId"] == "/subscriptions/sub2"
    root = ET.fromstring(render_junit(result).encode())
    assert [s.get("name") for s in root] == ["clusters", "servers", "vms", "trustedLaunch", "subscriptions"]


# ----------------------------------------------------------------------------- Trusted launch


def _tl_verdict(name, security):
    document = machine(name)
    return evaluate_tl_vm(tl.vm_facts_from_arm(document, instance(name, security)))


def test_trusted_launch_standard_vm_is_info_and_a_failed_check_is_an_error():
    standard = _tl_verdict("std", None)
    broken = _tl_verdict("tl", {"securityType": "TrustedLaunch", "enableTPM": False,
                                "uefiSettings": {"secureBootEnabled": True}})
    result = build([checked(HEALTHY, trusted_launch=[standard, broken])])
    by_vm = {}
    for finding in result.to_dict()["findings"]:
        if finding["scope"] == "trustedLaunch":
            by_vm.setdefault(finding["name"], set()).add(finding["severity"])
    assert by_vm["std"] == {"info"} and "error" in by_vm["tl"]
    assert build([checked(HEALTHY, trusted_launch=[standard])], ["warning"]).exit_code == 0
    assert build([checked(HEALTHY, trusted_launch=[broken])], ["error"]).exit_code == 1
    assert result.to_dict()["totals"]["trustedLaunch"]["total"] == 2


def test_a_contradicting_trusted_launch_setting_is_reported_once_by_its_trusted_launch_verdict():
    """A Trusted launch VM with its vTPM off: one error finding, from the Trusted launch verdict; the
    VM's benefit findings add none."""
    broken = {"securityType": "TrustedLaunch", "enableTPM": False, "uefiSettings": {"secureBootEnabled": True}}
    verdict = evaluate(arm_cluster(name="healthy"))
    judged = inventory.judge_vms(verdict, [inventory.ArmVm(machine("tl", cluster_id=verdict.facts.id),
                                                           instance("tl", broken), None)])
    cluster = report.CheckedCluster(verdict.facts.id, verdict.facts.name, verdict, tuple(judged),
                                    (_tl_verdict("tl", broken),), ())
    found = [f for f in build([cluster], ["error"]).to_dict()["findings"]
             if f["scope"] == "trustedLaunch" and "vtpm" in f["reason"].lower() and f["severity"] == "error"]
    assert len(found) == 1 and found[0]["matched"]


# ----------------------------------------------------------------------------- JUnit


def _hostile_report(levels=("warning",)):
    document = arm_cluster(name="c|1", imds="Disabled", nodes=(HOSTILE, "NODE2"))
    return build([checked(document, vms=[(HOSTILE, AE_2022, "10.0.20348.1000")])], levels)


def test_junit_has_one_test_case_per_cluster_server_and_vm_and_failures_carry_reason_and_command():
    result = build([checked(HEALTHY, vms=[("ae-old", AE_2022, "10.0.20348.1000"), ("linux", "Ubuntu", "22.04")]),
                    checked(OFF)], ["inactive"])
    root = ET.fromstring(render_junit(result).encode("utf-8"))
    assert root.tag == "testsuites" and root.get("tests") == "8" and root.get("failures") == "3"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert [case.get("name") for case in suites["clusters"].findall("testcase")] == ["healthy", "off"]
    assert len(suites["servers"].findall("testcase")) == 4 and len(suites["vms"].findall("testcase")) == 2
    failed = {(case.get("classname"), case.get("name")): case.find("failure")
              for suite in root for case in suite.findall("testcase") if case.find("failure") is not None}
    assert set(failed) == {("vm-verification.server.off", "NODE1"), ("vm-verification.server.off", "NODE2"),
                           ("vm-verification.vm.healthy", "ae-old")}     # the cluster is Off, not Inactive
    vm_failure = failed[("vm-verification.vm.healthy", "ae-old")]
    assert vm_failure.get("type") and vm_failure.get("message") and "Command: " in vm_failure.text
    for suite in root:
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == sum(1 for c in suite.findall("testcase") if c.find("failure") is not None)


def test_junit_without_fail_on_fails_warnings_and_errors():
    result = build([checked(INFO_ONLY), checked(NEW_VALUE)])
    root = ET.fromstring(render_junit(result).encode())
    failed = [case.get("name") for suite in root for case in suite if case.find("failure") is not None]
    assert "infoonly" not in failed and "newvalue" in failed


def test_junit_with_hostile_names_is_well_formed_and_shows_them_escaped():
    text = render_junit(_hostile_report())
    root = ET.fromstring(text.encode("utf-8"))              # expat rejects what XML 1.0 cannot carry
    names = [case.get("name") for suite in root for case in suite.findall("testcase")]
    escaped = visible(HOSTILE)
    assert escaped in names and "\\n" in escaped and "\\x1b" in escaped and "\\x00" in escaped
    assert "\\u2028" in escaped and "\\ud800" in escaped and "\\ufffe" in escaped
    assert all("\n" not in name and "\x1b" not in name for name in names)
    assert all(not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", line) for line in text.splitlines())


# ----------------------------------------------------------------------------- Markdown


def _cells(row):
    """A GFM table row split on the pipes that are not escaped."""
    return [part for part in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_summary_counts_and_table_of_what_to_fix():
    result = build([checked(HEALTHY), checked(OFF), checked(EXPIRED)], ["expired"])
    text = render_markdown(result)
    assert "**Failed**: 2 findings match `--fail-on expired`." in text
    assert "| Servers | 6 | Active 2 · Expired 2 · Inactive 2 · Error 0 · Unknown 0 |" in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "Severity" not in line
             and line.count("|") >= 10]
    assert table and all(len(_cells(line)) == 9 for line in table)
    assert _cells(table[0])[0].strip() == "yes"               # what makes the gate fail comes first
    assert build([checked(HEALTHY)], ["any"]).exit_code == 0
    assert "**Passed**" in render_markdown(build([checked(HEALTHY)], ["any"]))
    assert "**Reported**" in render_markdown(build([checked(HEALTHY)]))


def test_markdown_cells_escape_pipes_newlines_and_markup():
    text = render_markdown(_hostile_report())
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") >= 10]
    assert rows and all(len(_cells(line)) == 9 for line in rows)
    assert not re.search("[\x00-\x08\x0b-\x1f\u2028]", text)
    assert cell("a|b\nc") == "a\\|b\\\\nc" and cell("<img>") == "\\<img\\>" and cell("[x](y)") == "\\[x\\](y)"
    assert code_cell("a `b` | c") == "``a `b` \\| c``" and code_cell("`x`") == "`` `x` ``" and code_cell(None) == ""


def test_markdown_table_is_capped():
    many = [checked(arm_cluster(name="c{:04d}".format(i), imds="Disabled")) for i in range(MAX_SUMMARY_ROWS // 3 + 5)]
    text = render_markdown(build(many))
    assert "more findings are in the JSON report." in text
    assert sum(1 for line in text.splitlines() if line.startswith("| ") and line.count("|") >= 10) == \
        MAX_SUMMARY_ROWS + 1


def test_table_has_one_row_per_finding_or_one_row_of_counts():
    from azext_stack_hci_verify._format import transform_check
    rows = transform_check(build([checked(OFF)], ["off"]).to_dict())
    assert list(rows[0]) == ["Fails", "Severity", "Cluster", "Name", "ReasonCode", "Action"]
    assert rows[0]["Fails"] == "yes" and rows[0]["Action"] == "Sync with Azure"
    assert "Fails" not in transform_check(build([checked(OFF)]).to_dict())[0]
    (row,) = transform_check(build([checked(HEALTHY)]).to_dict())
    assert row == {"Findings": 0, "Clusters": 1, "Servers": 2, "Vms": 0, "TrustedLaunch": 0}
