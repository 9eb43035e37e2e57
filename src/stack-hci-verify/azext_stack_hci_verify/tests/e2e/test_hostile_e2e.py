# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The hostile tier, through the real az against the emulator's hostile answers (emulator/hostile.py):
the token never leaves ARM's host, every list ends, an answer of the wrong shape is an error and never
a partial list, names never break out of their field, and failures are told in words. Every az run has
a timeout, and every hostile list is bounded by the extension's own bounds (checked in requests and
seconds here). Also the loads that held: a fleet of 1,100 clusters and `check` over 2,000 VMs, no row
lost."""

import json
import math
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from .conftest import azure_local_vm, cluster_document, emulated_az, write_documents

pytestmark = pytest.mark.e2e
VM = ("stack-hci", "vm-verification")
GROUP = "rg-hostile"
CLUSTERS = 12
FLEET_CLUSTERS, FLEET_VM_CLUSTERS, FLEET_VMS = 1100, 20, 100
GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOSTILE = ["vm\tone", "clear\x1b[2Jscreen", "bell\x07ring", "back\rwards", "two\nlines", "c1\x9b31m",
           "rtl\u202eexe.txt", "=HYPERLINK(\"x\")", "-1", "@cmd", "tab\tand\x1b[31mred"]
NODES = ("NODE\t1", "NODE\x1b]0;owned\x07")


def hostile_documents(now):
    """12 clusters in rg-hostile (so that its ARM list has 3 pages of 5); the first has VMs with
    hostile names on servers with hostile names, Trusted launch ones among them."""
    documents = [cluster_document(GROUP, "c{:02d}".format(index), now, nodes=NODES if index == 0 else ("N1", "N2"))
                 for index in range(CLUSTERS)]
    for index, name in enumerate(HOSTILE):
        machine, instance = azure_local_vm(GROUP, "c00", "vm{:02d}".format(index),
                                           "Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2402",
                                           server=NODES[index % 2])
        machine["name"] = name
        if index % 3 == 0:
            instance["properties"]["securityProfile"] = {"securityType": "TrustedLaunch", "enableTPM": True,
                                                         "uefiSettings": {"secureBootEnabled": True}}
        documents += [machine, instance]
    return documents


@pytest.fixture(scope="module", name="hostile")
def fixture_hostile(tmp_path_factory):
    from emulator.generate_fleet import generate_fleet
    now = datetime.now(timezone.utc)
    fixtures = tmp_path_factory.mktemp("hostile-fleet")
    manifest = generate_fleet(str(fixtures / "fleet"), FLEET_CLUSTERS, 2, 1, resource_groups=2,
                              vms=FLEET_VMS, vm_clusters=FLEET_VM_CLUSTERS, reference_time="now")
    write_documents(fixtures, hostile_documents(now))
    with emulated_az(tmp_path_factory, "hostile", fixtures, login="profile", page_size=5) as runner:
        runner.manifest = manifest
        yield runner


@pytest.fixture(autouse=True, name="emu")
def fixture_emu(hostile):
    handle = hostile.emulator
    for reset in (handle.clear_hostile, handle.clear_faults, handle.clear_foreign_requests, handle.clear_requests):
        reset()
    yield handle
    handle.clear_hostile()
    handle.clear_faults()


def az(hostile, *args, timeout=90, **env):
    """Run az with extra environment; (exit code, stdout, stderr, seconds)."""
    from emulator import azenv
    started = time.monotonic()
    result = azenv.run_az(hostile.az_path, list(args), dict(hostile.env, **env), timeout=timeout)
    return result.returncode, result.stdout, result.stderr, time.monotonic() - started


def one_error(stderr):
    """The error az printed (one line, then the recommendation), never a traceback."""
    assert "Traceback" not in stderr and "unexpected error" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def arm_requests(emu, pattern):
    return [entry for entry in emu.requests() if re.search(pattern, entry["path"], re.I)]


# ----------------------------------------------------------------------------------- the token stays

def arm_lists(emu):
    """Resource Graph refuses, so `list -g` reads the group's clusters from ARM's paged list."""
    emu.add_fault(r"/providers/Microsoft.ResourceGraph/resources", status=403)


@pytest.mark.parametrize("mode", ["foreign", "foreign-http", "http"])
def test_a_next_link_elsewhere_gets_nothing_and_ends_the_command(hostile, emu, mode):
    arm_lists(emu)
    emu.set_hostile(next_link={"mode": mode, "pattern": "/clusters$"})
    code, out, err, _ = az(hostile, *VM, "list", "-g", GROUP, "-o", "json")
    error = one_error(err)
    target = (emu.foreign_url if mode == "foreign" else emu.foreign_http_url if mode == "foreign-http"
              else emu.base_url).split("://", 1)[1]
    assert code != 0 and not out.strip()
    assert "'{}'".format(target) in error and ("over http;" in error) == (mode != "foreign")
    assert emu.foreign_requests() == [] and len(arm_requests(emu, "/clusters$")) == 1


def test_a_redirect_elsewhere_gets_nothing(hostile, emu):
    emu.set_hostile(redirect={"pattern": "/clusters/c01$", "to": "foreign", "status": 307})
    code, _, err, _ = az(hostile, *VM, "show", "-n", "c01", "-g", GROUP)
    assert code != 0 and "'{}'".format(emu.foreign_url.split("://", 1)[1]) in one_error(err)
    assert emu.foreign_requests() == []


def test_a_resource_graph_redirect_elsewhere_gets_nothing(hostile, emu):
    emu.set_hostile(redirect={"pattern": "resourcegraph", "to": "foreign", "status": 308})
    code, out, err, _ = az(hostile, *VM, "list", "--all-subscriptions")
    assert code != 0 and not out.strip() and emu.foreign_url.split("://", 1)[1] in one_error(err)
    assert emu.foreign_requests() == []


# ----------------------------------------------------------------------------------- every list ends

def test_a_next_link_to_itself_ends_at_once(hostile, emu):
    arm_lists(emu)
    emu.set_hostile(next_link={"mode": "self", "pattern": "/clusters$"})
    code, out, err, _ = az(hostile, *VM, "list", "-g", GROUP)
    assert code != 0 and not out.strip() and "handed back a nextLink it had given before" in one_error(err)
    assert "after 2 pages (10 items)" in err and len(arm_requests(emu, "/clusters$")) == 2


def test_an_endless_next_link_ends_at_the_list_time(hostile, emu):
    arm_lists(emu)
    emu.set_hostile(next_link={"mode": "endless", "pattern": "/clusters$"})
    code, out, err, _ = az(hostile, *VM, "list", "-g", GROUP, STACK_HCI_VERIFY_ARM_TIMEOUT="0.5")
    assert code != 0 and not out.strip() and "did not end within 15 seconds" in one_error(err)
    assert 1 < len(arm_requests(emu, "/clusters$")) < 5000


def test_a_skip_token_that_repeats_ends_at_once(hostile, emu):
    emu.set_hostile(graph={"mode": "repeat-token"})
    code, out, err, _ = az(hostile, *VM, "list", "--all-subscriptions")
    assert code != 0 and not out.strip() and "handed back a $skipToken it had given before" in one_error(err)
    assert len(arm_requests(emu, GRAPH_PATH)) <= 4      # the clusters and VMs queries, two pages each at most


def test_a_skip_token_that_never_ends_ends_at_once(hostile, emu):
    emu.set_hostile(graph={"mode": "endless-token"})
    code, out, err, _ = az(hostile, *VM, "list", "--all-subscriptions")
    assert code != 0 and not out.strip() and "is not what it should be" in one_error(err)
    # the clusters and VMs queries run together; each stops at its first wrong page
    assert len(arm_requests(emu, GRAPH_PATH)) <= 2 * (math.ceil((FLEET_CLUSTERS + CLUSTERS) / 1000) + 1)


# ----------------------------------------------------------------------------------- answers of the wrong shape

@pytest.mark.parametrize("mode, words", [
    ("data-string", "its data is a string"), ("data-missing", "has no data"),
    ("data-not-objects", "its data holds a string where a row should be"), ("count-wrong", "its count"),
    ("total-high", "its pages ended at"), ("token-not-string", "its $skipToken is a number")])
def test_a_resource_graph_answer_of_the_wrong_shape_is_an_error(hostile, emu, mode, words):
    emu.set_hostile(graph={"mode": mode})
    code, out, err, _ = az(hostile, *VM, "list", "--all-subscriptions", "-o", "json")
    assert code != 0 and out.strip() in ("",) and words in one_error(err)
    assert "Resource Graph's answer reading the clusters is not what it should be" in err


# ----------------------------------------------------------------------------------- failures told in words

def test_a_resource_graph_read_timeout_is_told(hostile, emu):
    emu.add_fault("resourcegraph", delay_ms=4000)
    code, _, err, _ = az(hostile, *VM, "list", "--all-subscriptions", STACK_HCI_VERIFY_ARM_TIMEOUT="1.5")
    error = one_error(err)
    assert code != 0 and "Resource Graph gave no answer reading the clusters within 1.5 seconds" in error
    assert "HTTPSConnectionPool" not in err


def test_a_resource_graph_gateway_page_is_told(hostile, emu):
    emu.add_fault("resourcegraph", status=502, content_type="text/html",
                  body="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
    code, _, err, _ = az(hostile, *VM, "list", "--all-subscriptions", STACK_HCI_VERIFY_ARM_TIMEOUT="2")
    error = one_error(err)
    assert code != 0 and "Resource Graph answered 502 Bad Gateway reading the clusters: 502 Bad Gateway" in error
    assert "Operation returned an invalid status" not in err


@pytest.mark.parametrize("pattern, args", [
    ("resourcegraph", ("list", "--all-subscriptions")), ("/clusters/c02$", ("show", "-n", "c02", "-g", GROUP))])
def test_a_retry_after_an_hour_ahead_says_how_long_was_asked(hostile, emu, pattern, args):
    later = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    emu.add_fault(pattern, status=429, retry_after=later)
    code, _, err, _ = az(hostile, *VM, *args)
    assert code != 0 and re.search(r"asked to wait 3(600|599) seconds \(Retry-After\)", one_error(err))


def test_a_retry_after_that_is_no_time_is_retried_with_the_default_backoff(hostile, emu):
    emu.add_fault("/clusters/c03$", status=429, retry_after="soon", count=1)
    code, out, err, _ = az(hostile, *VM, "show", "-n", "c03", "-g", GROUP, "-o", "json")
    assert code == 0, err
    assert json.loads(out)["name"] == "c03" and len(arm_requests(emu, "/clusters/c03$")) == 2


def test_a_failing_token_endpoint_is_told(hostile, emu):
    emu.add_fault("/msi/token", status=500)
    code, _, err, _ = az(hostile, *VM, "list", "-g", GROUP)
    assert code != 0 and "No access token for ARM could be obtained" in one_error(err) and "None, None" not in err


@pytest.mark.parametrize("ids", [[""], ["", " "]])
def test_empty_ids_is_an_argument_error(hostile, ids):
    code, _, err, _ = az(hostile, *VM, "show", "--ids", *ids)
    assert code != 0 and "--ids was given no resource ID" in one_error(err)


# ----------------------------------------------------------------------------------- names stay in their field

def tsv_lines(hostile, *args):
    code, out, err, _ = az(hostile, *VM, *args, "-o", "tsv")
    assert code == 0, err
    lines = out.split("\n")
    assert lines[-1] == "" and not CONTROL.search(out.replace("\t", "").replace("\n", ""))
    return [line.split("\t") for line in lines[:-1]]


CLUSTER = ("-n", "c00", "-g", GROUP)
TSV_COMMANDS = [("vm", "list", *CLUSTER), ("server", "list", *CLUSTER), ("trusted-launch", "list", *CLUSTER),
                ("check", *CLUSTER, "--query", "findings"), ("vm", "list", *CLUSTER, "--query", "[].[name, server]"),
                ("vm", "list", "--all-subscriptions", "--query", "[?cluster=='c00']"), ("show", *CLUSTER)]


@pytest.mark.parametrize("args", TSV_COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_every_tsv_line_has_the_same_fields_and_no_control_character(hostile, args):
    rows = tsv_lines(hostile, *args)
    assert rows and len({len(row) for row in rows}) == 1


def test_the_vm_names_in_tsv_are_escaped_in_place(hostile):
    names = {row[0] for row in tsv_lines(hostile, "vm", "list", *CLUSTER, "--query", "[].[name, server]")}
    assert "vm\\tone" in names and "clear\\x1b[2Jscreen" in names and "rtl\\u202eexe.txt" in names
    assert "=HYPERLINK(\"x\")" in names and "-1" in names        # formula-like values are written as they are


@pytest.mark.parametrize("args", [("vm", "list", *CLUSTER), ("server", "list", *CLUSTER),
                                  ("trusted-launch", "list", *CLUSTER), ("check", *CLUSTER), ("show", *CLUSTER)])
def test_tables_carry_no_control_character(hostile, args):
    code, out, err, _ = az(hostile, *VM, *args, "-o", "table")
    assert code == 0, err
    assert not CONTROL.search(out.replace("\n", "")) and "\r" not in out


def test_json_keeps_the_exact_names(hostile):
    code, out, err, _ = az(hostile, *VM, "vm", "list", *CLUSTER, "-o", "json")
    assert code == 0, err
    assert {row["name"] for row in json.loads(out)} == set(HOSTILE)


NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
               min_size=1, max_size=10)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(NAME, min_size=3, max_size=3))
def test_no_generated_name_changes_the_fields_of_a_tsv_line(hostile, emu, names):
    """Three VMs of cluster c01 named by hypothesis, then every command's tsv."""
    documents = []
    for index, name in enumerate(names):
        machine, instance = azure_local_vm(GROUP, "c01", "gen{}".format(index), "Ubuntu", "22.04")
        machine["name"] = name
        documents += [machine, instance]
    emu.put_resources(*documents)
    other = ("-n", "c01", "-g", GROUP)
    try:
        for args in (("vm", "list", *other), ("check", *other, "--query", "findings"),
                     ("vm", "list", *other, "--query", "[].{n: name, s: benefitStatus}")):
            rows = tsv_lines(hostile, *args)
            assert len(rows) >= 3 and len({len(row) for row in rows}) == 1
    finally:
        for document in documents[::2]:
            emu.delete_resource(document["id"])


# ----------------------------------------------------------------------------------- the loads that held

def test_check_of_the_fleet_loses_no_row(hostile, emu):
    code, out, err, _ = az(hostile, *VM, "check", "--all-subscriptions", "--query",
                           "{vms: totals.vms.total, clusters: totals.clusters.total, requests: "
                           "scope.resourceGraphRequests}", "-o", "json", timeout=300)
    assert code == 0, err
    totals = json.loads(out)
    assert totals["vms"] == FLEET_VM_CLUSTERS * FLEET_VMS + len(HOSTILE)
    assert totals["clusters"] == FLEET_CLUSTERS + CLUSTERS
    assert totals["requests"] == math.ceil((FLEET_CLUSTERS + CLUSTERS) / 1000) + math.ceil(
        (FLEET_VM_CLUSTERS * FLEET_VMS + len(HOSTILE)) / 1000)
