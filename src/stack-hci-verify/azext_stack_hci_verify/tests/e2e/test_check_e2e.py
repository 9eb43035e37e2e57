# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`check` as a pipeline runs it, through the real az against the emulator: the exit status with and
without --fail-on (the whole report on stdout either way), the JUnit and Markdown files, and bad
arguments as one-line errors."""

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from .conftest import azure_local_vm, cluster_document, cluster_id, emulated_az, host_file, write_documents

pytestmark = pytest.mark.e2e
GROUP = "rg-check"
CHECK = ("stack-hci", "vm-verification", "check")
HOSTILE = "bad|name\n\x1b[31m<b>"


def machine(cluster, name, os_name, os_version):
    return azure_local_vm(GROUP, cluster, name, os_name, os_version)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, now):
    """Cluster `good` (on, two servers, an up-to-date Azure Edition VM) and cluster `off` (Azure
    verification off: its servers Inactive, its VM Inactive benefits). No server is Expired."""
    fixtures = tmp_path_factory.mktemp("check-fleet")
    documents = ([cluster_document(GROUP, "good", now), cluster_document(GROUP, "off", now, imds="Disabled")]
                 + machine("good", "ae-good", "Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2402")
                 + machine("off", "ae-off", "Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2402"))
    write_documents(fixtures, documents)
    with emulated_az(tmp_path_factory, "check", fixtures, page_size=3) as runner:
        yield runner


def run(fleet, *args):
    result = fleet.run(*CHECK, *args)
    return result.returncode, result.stdout, result.stderr


def test_without_fail_on_it_reports_and_exits_0(fleet):
    code, out, err = run(fleet, "-g", GROUP, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["failed"], report["exitCode"], report["failOn"]) == (False, 0, [])
    assert report["totals"]["clusters"] == {"total": 2, "on": 1, "off": 1, "unknown": 0}
    assert report["totals"]["servers"]["inactive"] == 2 and report["totals"]["servers"]["expired"] == 0
    assert report["totals"]["vms"]["total"] == 2 and report["totals"]["vms"]["inactiveBenefits"] == 1
    off = [f for f in report["findings"] if f["cluster"] == "off" and f["scope"] == "cluster"]
    assert off and off[0]["resourceId"] == cluster_id(GROUP, "off") and off[0]["command"] == "Sync-AzureStackHCI"


def test_a_matching_fail_on_exits_1_with_the_whole_report_on_stdout(fleet):
    code, out, err = run(fleet, "-g", GROUP, "--fail-on", "inactive", "-o", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["failed"] is True and report["exitCode"] == 1 and report["matchedFindings"] == 3
    matched = sorted((f["scope"], f["name"]) for f in report["findings"] if f["matched"])
    assert matched == [("server", "NODE1"), ("server", "NODE2"), ("vm", "ae-off")]
    assert len(report["findings"]) > report["matchedFindings"]          # the rest is still reported
    code, out, _ = run(fleet, "-g", GROUP, "--fail-on", "inactive", "--query", "failed", "-o", "tsv")
    assert (code, out.strip()) == (1, "true")
    code, out, _ = run(fleet, "-g", GROUP, "--fail-on", "inactive", "-o", "none")
    assert (code, out) == (1, "")


def test_a_fail_on_that_matches_nothing_exits_0(fleet):
    code, out, err = run(fleet, "-n", "good", "-g", GROUP, "--fail-on", "expired", "off", "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["failed"], report["failOn"], report["matchedFindings"]) == (False, ["off", "expired"], 0)


def test_junit_and_summary_files_are_written_and_well_formed(fleet, now, tmp_path):
    facts = host_file(str(tmp_path), "n1.json", now, cluster="off", imds="Disabled", vms=[
        {"name": HOSTILE, "guestOs": {"name": "Windows Server 2022 Datacenter: Azure Edition",
                                      "version": "10.0.20348.2402"}}])
    junit, summary = tmp_path / "check.xml", tmp_path / "summary.md"
    code, out, err = run(fleet, "-g", GROUP, "--host-facts", facts, "--fail-on", "error", "--junit", str(junit),
                         "--summary", str(summary), "-o", "json")
    assert code == 1, err
    report = json.loads(out)
    root = ET.parse(str(junit)).getroot()
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert [case.get("name") for case in suites["clusters"].findall("testcase")] == ["good", "off"]
    vm_names = [case.get("name") for case in suites["vms"].findall("testcase")]
    assert "bad|name\\n\\x1b[31m<b>" in vm_names and "ae-off" in vm_names
    failures = [case for suite in root for case in suite.findall("testcase") if case.find("failure") is not None]
    assert int(root.get("failures")) == len(failures) > 0
    assert all(case.find("failure").get("message") and case.find("failure").text for case in failures)
    text = summary.read_text(encoding="utf-8")
    assert "**Failed**: {} findings match `--fail-on error`.".format(report["matchedFindings"]) in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") >= 10]
    assert rows and all(len(re.split(r"(?<!\\)\|", line.strip())) == 11 for line in rows)
    assert "\x1b" not in text


def test_a_cluster_that_does_not_exist_is_exit_3_and_one_beside_others_is_a_finding(fleet):
    code, out, err = run(fleet, "-n", "nope", "-g", GROUP)
    assert (code, out) == (3, ""), err
    code, out, err = run(fleet, "--ids", cluster_id(GROUP, "nope"), cluster_id(GROUP, "good"), "--fail-on", "error",
                         "-o", "json")
    assert code == 1, err
    (finding,) = [f for f in json.loads(out)["findings"] if f["matched"]]
    assert (finding["name"], finding["reasonCode"]) == ("nope", "cluster-not-readable")


@pytest.mark.parametrize("args, words", [
    (("-g", GROUP, "--fail-on", "fatal"), "--fail-on 'fatal' is not a level."),
    (("-n", "good"), "--resource-group/-g is required with --cluster-name/-n."),
    (("-g", GROUP, "--all-subscriptions"), "Give one scope"),
    (("-g", GROUP, "--junit", os.path.join(os.sep, "no-such-folder-here", "x.xml")), "cannot be written"),
])
def test_bad_arguments_are_one_line_errors_with_the_fix(fleet, args, words):
    code, out, err = run(fleet, *args)
    assert code == 1 and out == "", (code, err)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("WARNING: ")]
    assert lines[0].startswith("ERROR: ") and words in lines[0] and len(lines) == 2, err   # then the fix
