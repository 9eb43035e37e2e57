# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`check` against fake ARM and fleet adapters: which reads it makes for each scope, a cluster that
cannot be read beside ones that can, the exit status it asks for, the files it writes, and the
one-line errors of its validators."""

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror

from azext_stack_hci_verify import _exit_status, _validators, custom

from .arm_fakes import arm_body, denied, http_error
from .fake_connection import FakeConnection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
FLEET = os.path.join(SAMPLE, "rg-hci-prod-eastus")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)          # the fixtures' reference time
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
GROUP = "rg-hci-prod-eastus"
CMD = SimpleNamespace(cli_ctx=None)


def fixture(*parts):
    with open(os.path.join(FLEET, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def cluster_id(name, group=GROUP):
    return "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}".format(SUB, group, name)


@pytest.fixture(name="fake")
def fixture_fake(monkeypatch):
    """The sample fleet behind a fake connection; `fake.exits` records the exit status check asks for."""
    conn = FakeConnection(SAMPLE, subscription_id=SUB)
    conn.exits = []
    monkeypatch.setattr(custom, "_connection", lambda cmd, scope: conn)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr(custom, "_current_subscription", lambda cmd: SUB)
    monkeypatch.setattr(custom, "_Progress", lambda cli_ctx: None)
    monkeypatch.setattr(_exit_status, "exit_after_output", lambda cli_ctx, code: conn.exits.append(code))
    return conn


def codes(view):
    return {finding["reasonCode"] for finding in view["findings"]}


# ----------------------------------------------------------------------------- scopes and reads


def test_one_cluster_reads_it_its_vms_and_their_trusted_launch_once(fake):
    view = custom.check_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP)
    assert fake.calls.count("get:hci-prod-01") == 1 and fake.calls.count("graph-vms") == 1
    attestations = [call for call in fake.calls if call.startswith("attestation:")]
    assert attestations and len(attestations) == len(set(attestations))
    assert view["scope"]["kind"] == "clusters" and view["scope"]["trustedLaunch"] is True
    assert view["totals"]["clusters"]["total"] == 1 and view["totals"]["vms"]["total"] > 0
    assert view["totals"]["trustedLaunch"]["total"] > 0
    assert (view["failed"], view["exitCode"], view["failOn"]) == (False, 0, [])
    assert fake.exits == [0]


def test_fail_on_asks_for_exit_1_and_still_returns_the_whole_report(fake):
    view = custom.check_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP, fail_on=("any",))
    assert view["findings"] and view["matchedFindings"] == len(view["findings"])
    assert (view["failed"], view["exitCode"]) == (True, 1) and fake.exits == [1]


def test_a_cluster_that_cannot_be_read_is_a_finding_beside_the_others(fake):
    view = custom.check_verification(CMD, ids=[cluster_id("gone"), cluster_id("hci-prod-01")], fail_on=("error",))
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "cluster-not-readable"]
    assert (finding["name"], finding["resourceId"], finding["severity"], finding["status"]) == (
        "gone", cluster_id("gone"), "error", "Unknown")
    assert finding["command"] == "az stack-hci vm-verification list -g {}".format(GROUP)
    assert finding["action"] == "Check the cluster's name" and finding["matched"]
    assert view["totals"]["clusters"]["total"] == 2 and view["totals"]["clusters"]["unknown"] == 1
    assert fake.exits == [1]


def test_when_no_cluster_can_be_read_the_error_is_the_answer(fake):
    with pytest.raises(azclierror.ResourceNotFoundError):
        custom.check_verification(CMD, cluster_name="gone", resource_group_name=GROUP)
    assert fake.exits == []


def test_a_resource_group_checks_each_of_its_clusters_with_two_queries(fake):
    view = custom.check_verification(CMD, resource_group_name=GROUP)
    assert fake.calls.count("graph-clusters") == 1 and fake.calls.count("graph-vms") == 1
    assert not [call for call in fake.calls if call.startswith(("get:", "list-clusters:", "machines:"))]
    assert view["scope"]["kind"] == "resourceGroup" and view["totals"]["clusters"]["total"] == 2


def test_no_scope_checks_the_current_subscription_as_list_does(fake):
    view = custom.check_verification(CMD)
    listed = custom.list_cluster_verification(CMD)
    assert view["scope"]["kind"] == "subscriptions" and view["scope"]["subscriptions"] == [SUB]
    assert view["totals"]["clusters"]["total"] == len(listed) > 1


def test_unreadable_vms_are_findings_on_the_cluster(fake):
    fake.fail["graph-vms"] = http_error(403, denied("Microsoft.ResourceGraph/resources/read", "/subscriptions/" + SUB))
    fake.fail["machines:" + SUB] = http_error(403, denied("Microsoft.HybridCompute/machines/read",
                                                          "/subscriptions/" + SUB))
    view = custom.check_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP, fail_on=("warning",))
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "vms-not-readable"]
    assert finding["command"].startswith("az role assignment create") and finding["matched"]
    assert not [call for call in fake.calls if call.startswith("attestation:")]


def test_a_fallback_to_arm_is_named(fake):
    fake.fail["graph-vms"] = http_error(400, arm_body("BadRequest", "unsupported"))
    view = custom.check_verification(CMD, ids=[cluster_id("hci-prod-01")])
    (finding,) = [f for f in view["findings"] if f["reasonCode"] == "resource-graph-fallback"]
    assert finding["severity"] == "info" and view["totals"]["vms"]["total"] > 0


def test_the_fleet_reads_two_queries_and_reports_a_refused_subscription(fake):
    other = "0b7c6b4e-1d7e-4d1b-9a44-3c1f0c7a0002"
    inner = fake.resourcegraph

    class Refusing:
        def __init__(self):
            self.inner = inner()

        def _send_request(self, request):
            if request.method == "POST" and other in json.loads(request.content).get("subscriptions", []):
                return http_error(403, arm_body("AuthorizationFailed", "The client has no access to scope "
                                                                       "'/subscriptions/{}'.".format(other))).response
            return self.inner._send_request(request)  # pylint: disable=protected-access

    fake.resourcegraph = Refusing
    view = custom.check_verification(CMD, subscriptions=[SUB, other], fail_on=("error",))
    unread = [f for f in view["findings"] if f["scope"] == "subscription"]
    assert [(f["resourceId"], f["reasonCode"], f["matched"]) for f in unread] == [
        ("/subscriptions/" + other, "scope-not-readable", True)]
    assert view["scope"]["trustedLaunch"] is True and view["totals"]["clusters"]["total"] > 1
    assert fake.exits == [1]


# ----------------------------------------------------------------------------- files


def test_junit_and_summary_are_written_and_the_summary_appends(fake, tmp_path):
    junit, summary = tmp_path / "results.xml", tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    view = custom.check_verification(CMD, cluster_name="hci-prod-01", resource_group_name=GROUP, fail_on=("warning",),
                                     junit=str(junit),
                                     summary=str(summary))
    root = ET.parse(str(junit)).getroot()
    servers = len(fixture("clusters", "hci-prod-01.json")["properties"]["reportedProperties"]["nodes"])
    assert [(s.get("name"), int(s.get("tests"))) for s in root] == [
        ("clusters", 1), ("servers", servers), ("vms", view["totals"]["vms"]["total"]),
        ("trustedLaunch", view["totals"]["trustedLaunch"]["total"])]
    assert int(root.get("failures")) == sum(1 for s in root for c in s if c.find("failure") is not None) > 0
    assert view["matchedFindings"] > 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n## Azure verification for VMs: check")


# ----------------------------------------------------------------------------- validators


class DefaultValue(str):
    """A value az filled in from its configured defaults (az marks those with is_default)."""
    is_default = True


def namespace(**kwargs):
    base = dict(ids=None, cluster_name=None, resource_group_name=None, subscriptions=None, all_subscriptions=False,
                management_groups=None, fail_on=None, junit=None, summary=None)
    base.update(kwargs)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(cluster_name="c"), azclierror.RequiredArgumentMissingError, "--resource-group/-g is required"),
    (dict(ids=[cluster_id("c")], cluster_name="c"), azclierror.MutuallyExclusiveArgumentError, "--ids and"),
    (dict(ids=[cluster_id("c")], subscriptions=[SUB]), azclierror.MutuallyExclusiveArgumentError,
     "--ids and --subscriptions"),
    (dict(subscriptions=[SUB], all_subscriptions=True), azclierror.MutuallyExclusiveArgumentError,
     "--subscriptions and --all-subscriptions"),
    (dict(subscriptions=[SUB], resource_group_name="g"), azclierror.MutuallyExclusiveArgumentError,
     "--cluster-name/--resource-group and --subscriptions"),
])
def test_scope_errors_are_one_line_with_the_fix(kwargs, error, words):
    with pytest.raises(error) as raised:
        _validators.validate_scope(None, namespace(**kwargs))
    assert words in raised.value.error_msg and "\n" not in raised.value.error_msg
    assert raised.value.recommendations


@pytest.mark.parametrize("kwargs", [dict(cluster_name="c", resource_group_name="g"), dict(resource_group_name="g"),
                                    dict(ids=[cluster_id("c")]), dict(all_subscriptions=True),
                                    dict(management_groups=["mg"]), dict(subscriptions=[SUB]), dict()])
def test_valid_scopes_pass_and_are_kept_as_given(kwargs):
    ns = namespace(**kwargs)
    given = dict(vars(ns))
    assert _validators.validate_scope(None, ns) is None
    assert vars(ns) == given


def test_a_configured_default_group_does_not_narrow_a_fleet():
    ns = namespace(all_subscriptions=True, resource_group_name=DefaultValue("g"))
    assert _validators.validate_scope(None, ns) is None
    assert (ns.all_subscriptions, ns.resource_group_name) == (True, None)


def test_fail_on_levels_are_checked_and_normalized():
    ns = namespace(fail_on=["Expired", "inactive,unknown"])
    _validators.validate_check_outputs(None, ns)
    assert ns.fail_on == ("expired", "inactive", "unknown")
    with pytest.raises(azclierror.InvalidArgumentValueError) as raised:
        _validators.validate_check_outputs(None, namespace(fail_on=["critical"]))
    assert raised.value.error_msg == "--fail-on 'critical' is not a level."
    assert ("expired, inactive, unknown, benefit-inactive, benefit-unknown, error, warning, any"
            in raised.value.recommendations[0])


@pytest.mark.parametrize("where", ["missing-folder", "directory", "empty"])
def test_unwritable_output_paths_fail_before_anything_is_read(tmp_path, where):
    path = {"missing-folder": str(tmp_path / "nope" / "results.xml"), "directory": str(tmp_path), "empty": ""}[where]
    with pytest.raises(azclierror.FileOperationError) as raised:
        _validators.validate_check_outputs(None, namespace(junit=path))
    assert raised.value.error_msg.startswith("JUnit file") and raised.value.recommendations


# ----------------------------------------------------------------------------- fixes: command, runOn, learnMore

def _fix_holders(value):
    """Every object in `value` that carries a fix (an `action` key), at any depth."""
    if isinstance(value, dict):
        if "action" in value:
            yield value
        for item in value.values():
            yield from _fix_holders(item)
    elif isinstance(value, list):
        for item in value:
            yield from _fix_holders(item)


def test_every_fix_of_the_sample_fleet_is_a_runnable_command_with_its_place_or_a_page(fake):
    """Across every command's answer for the whole sample fleet: `command` is never a documentation page,
    every command says where it runs, and a page is in `learnMore`."""
    from azext_stack_hci_verify.core.fixes import RUN_ON_VALUES
    answers = [custom.check_verification(CMD, subscriptions=[SUB]),
               custom.list_vm_verification(CMD, subscriptions=[SUB]),
               custom.list_server_verification(CMD, subscriptions=[SUB]),
               custom.list_trusted_launch(CMD, subscriptions=[SUB]),
               custom.list_cluster_verification(CMD, subscriptions=[SUB])]
    holders = [holder for answer in answers for holder in _fix_holders(answer)]
    commands = [holder for holder in holders if holder.get("command")]
    pages = [holder for holder in holders if holder.get("learnMore")]
    assert len(commands) > 20 and pages
    for holder in holders:
        assert {"command", "runOn", "learnMore"} <= set(holder), holder
    for holder in commands:
        assert not holder["command"].startswith(("http://", "https://")), holder
        assert holder["runOn"] in RUN_ON_VALUES, holder
    for holder in pages:
        assert holder["learnMore"].startswith("https://learn.microsoft.com/") and holder["command"] is None
    assert {holder["runOn"] for holder in commands} >= {"server", "cloudshell"}
